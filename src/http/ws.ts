import type http from 'node:http';
import {
  GraphQLError,
  execute,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  print,
  subscribe,
  Kind,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { makeServer, type Context, type ServerOptions } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { OperationPipeline, RequestState } from './pipeline/index.js';
import { wsAdapter, type WsPipeline } from './pipeline/ws.js';
import { serveGraphqlWs, type WsExtra } from './ws-adapter.js';
import { DocumentTable } from './ws-documents.js';
import { SubscriptionFanout, type JoinRule } from './ws-fanout.js';
import { canonicalJson } from '../canonical-json.js';
import { VARIABLES } from '../config/variables.js';

export type { JoinRule } from './ws-fanout.js';

/** A graphql-ws connection on this transport. */
export type WsContext = Context<Record<string, unknown> | undefined, WsExtra>;

export interface GraphqlWsOptions<C> {
  httpServer: http.Server;
  schema: GraphQLSchema;
  /**
   * Builds the context of one operation, given the request id its log lines carry (unset
   * for a document graphql-ws parsed itself). It sees nothing of the caller: a subscription's context may be
   * shared by every subscriber of the same stream (see `visibilityKey`).
   */
  context: (requestId?: string) => C;
  /**
   * What the caller may see, as part of the key under which identical subscriptions share one
   * execution per event: subscribers with different keys never share a result. Every caller
   * sees the same today — token and scope rules pass or refuse a whole operation before it
   * executes, and the context carries no principal — so a constant is right; a principal in the
   * context (per-caller data, field-level rules) must be reflected here. No default on purpose.
   */
  visibilityKey: (connection: WsContext, args: ExecutionArgs) => string;
  /**
   * When a subscriber may join a running stream of the same key, by root field and its
   * argument values. @default 'before-first' for every field (only before the first event)
   */
  joinRule?: (field: string, fieldArgs: Record<string, unknown>) => JoinRule;
  logger: Logger;
  /** graphql-ws server ping interval. @default as WS_KEEPALIVE_MS (src/config/) */
  keepAliveMs?: number;
  /** How long a client may take to send connection_init. @default as WS_INIT_TIMEOUT_MS */
  initTimeoutMs?: number;
  /** Largest WebSocket message; bigger closes the socket (1009). @default as MAX_REQUEST_BYTES */
  maxPayloadBytes?: number;
  /**
   * Unsent bytes one socket may hold when its next message is due; over it the socket is
   * closed with 1013 and a reason naming WS_MAX_BUFFERED_BYTES. @default as that variable
   */
  maxBufferedBytes?: number;
  /**
   * Apollo Server's formatError, so errors over a WebSocket carry the same codes and the same
   * redaction as over HTTP. @default errors as graphql-js formats them
   */
  formatError?: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /**
   * Operations one connection may run at once; one more is refused with an error.
   * @default as WS_MAX_SUBSCRIPTIONS_PER_CONNECTION
   */
  maxOperationsPerConnection?: number;
  /**
   * The operation pipeline (src/http/pipeline/): admission at `connection_init` (a refusal
   * closes the socket with 4403); request start, parse, validate and execute hooks for each
   * `subscribe`; the error hook on what leaves.
   */
  pipeline: OperationPipeline;
  /**
   * The transport's own counters: shared-stream executions, deliveries and streams, sockets
   * closed as slow consumers. (What every operation reports — log scope, spans, operation
   * counts, live subscriptions — is the pipeline's observability plugin.) @default none
   */
  metrics?: Metrics;
}

/** Where an operation the pipeline passed came from: its socket, operation id and state. */
interface Origin {
  connection: WsContext;
  id: string;
  state: RequestState;
  /** The document as graphql-js prints it (whitespace and comments gone). */
  printed: string;
}

/**
 * graphql-ws on the same server and `/graphql` path as queries, running the operation
 * pipeline (who may connect, request id, limits, token rules: src/http/pipeline/ws.ts). The
 * transport's own limits live here: how big a message may be, how many operations one socket
 * may hold, and how many unread bytes it may pile up — so one client
 * cannot hold thousands of subscriptions, send 20 MB frames that HTTP would refuse, or make the
 * server buffer what it never reads.
 *
 * Subscriptions fan out (ws-fanout.ts): identical ones share one execution per event and one
 * serialized payload; each socket gets the same bytes under its own operation id.
 *
 * Returns a function that closes every socket and the WebSocket server.
 */
export function attachGraphqlWs<C>(options: GraphqlWsOptions<C>): () => Promise<void> {
  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: '/graphql',
    maxPayload: options.maxPayloadBytes ?? VARIABLES.MAX_REQUEST_BYTES.default,
  });
  // The connection each passed operation came from (keyed by the execution args graphql-ws
  // hands back unchanged: operations that print the same share one document, see
  // ws-documents.ts), so execution runs in its request's wraps (log scope, span, trace
  // context), and a shared stream knows where to write.
  const origins = new WeakMap<ExecutionArgs, Origin>();
  const pipeline = wsAdapter(options.pipeline, options.schema);
  const inOrigin = <T>(args: ExecutionArgs, run: () => T): T => {
    const origin = origins.get(args);
    return origin ? pipeline.run(origin.state, run) : run();
  };
  const formatNext = nextFormatter(options, pipeline);
  const formatError = format(options);
  const share = sharedSubscribe(options, pipeline, origins, formatNext);
  const server = makeServer<Record<string, unknown> | undefined, WsExtra>({
    schema: options.schema,
    execute: (args) => inOrigin(args, () => execute(args)),
    subscribe: (args) => inOrigin(args, () => share(args)),
    context: (_ctx, _id, _payload, args) =>
      options.context(origins.get(args)?.state.requestId) as never,
    connectionInitWaitTimeout: options.initTimeoutMs ?? VARIABLES.WS_INIT_TIMEOUT_MS.default,
    // false closes the socket with 4403 Forbidden before anything runs.
    onConnect: pipeline.onConnect,
    onSubscribe: subscribeHook(options, pipeline, origins),
    onComplete: (ctx, id) => pipeline.complete(ctx, id),
    onClose: (ctx) => pipeline.closed(ctx),
    // Errors leave as they do over HTTP: one code enum, no secrets, no internals.
    onNext: (_ctx, _id, _payload, args, result) => {
      const state = origins.get(args)?.state;
      if (state) pipeline.result?.(state, result);
      return formatNext(result, state);
    },
    onError: (ctx, id, _payload, errors) => {
      options.logger.warn({ errors: errors.map((e) => e.message) }, 'subscription error');
      return pipeline.errors(errors, pipeline.stateOf(ctx, id)).map(formatError);
    },
  });
  const transport = serveGraphqlWs(server, wsServer, {
    keepAliveMs: options.keepAliveMs ?? VARIABLES.WS_KEEPALIVE_MS.default,
    maxBufferedBytes: options.maxBufferedBytes ?? VARIABLES.WS_MAX_BUFFERED_BYTES.default,
    logger: options.logger,
    onSlowConsumer: () => options.metrics?.slowConsumerDropped(),
  });
  return () => transport.dispose();
}

/**
 * graphql-ws's `subscribe`: joins (or starts) the shared stream of the subscription's key and
 * writes its events to this operation's socket. A document the pipeline did not hand over (no
 * origin) runs on its own, as graphql-ws would run it.
 */
function sharedSubscribe(
  options: GraphqlWsOptions<unknown>,
  pipeline: WsPipeline,
  origins: WeakMap<ExecutionArgs, Origin>,
  formatNext: (result: ExecutionResult) => unknown,
) {
  const { metrics } = options;
  const fanout = new SubscriptionFanout<ExecutionArgs>({
    subscribe: async (args) => subscribe(args),
    serialize: (result) => JSON.stringify(formatNext(result)),
    onResult:
      metrics && ((subscription, count) => metrics.subscriptionResult({ subscription }, count)),
    onStream:
      metrics && ((subscription, delta) => metrics.subscriptionStream({ subscription }, delta)),
  });
  const onResult = pipeline.result;
  let unshared = 0;
  return (args: ExecutionArgs) => {
    const origin = origins.get(args);
    if (!origin) return subscribe(args);
    const root = rootFieldOf(args);
    const rule = root ? (options.joinRule?.(root.name, root.args) ?? 'before-first') : undefined;
    // Unknown shape: a stream of its own, under a key no document can print to.
    const key = rule
      ? streamKey(args, origin.printed, options.visibilityKey(origin.connection, args))
      : `\u0001${++unshared}`;
    const prefix = `{"id":${JSON.stringify(origin.id)},"type":"next","payload":`;
    const { connection, id, state } = origin;
    return fanout.subscribe(key, root?.name ?? 'unknown', rule ?? 'before-first', args, {
      // Only while graphql-ws still holds the operation (a `complete` from the client ends it).
      deliver: (json, result) => {
        if (!(id in connection.subscriptions)) return;
        connection.extra.send(prefix + json + '}');
        // This subscriber's result hooks (each shared event, once per subscriber).
        onResult?.(state, result);
      },
    });
  };
}

/** The operation cap, then the pipeline's hooks as over HTTP, before anything executes. */
function subscribeHook(
  options: GraphqlWsOptions<unknown>,
  pipeline: WsPipeline,
  origins: WeakMap<ExecutionArgs, Origin>,
): NonNullable<ServerOptions<Record<string, unknown> | undefined, WsExtra>['onSubscribe']> {
  const maxOperations =
    options.maxOperationsPerConnection ?? VARIABLES.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION.default;
  const documents = new DocumentTable();
  return async (ctx, id, payload) => {
    // graphql-ws registers the new id before this runs and drops an id the moment its
    // `complete` arrives, so this counts exactly what the socket holds, this one included.
    const running = Object.keys(ctx.subscriptions).length;
    if (running > maxOperations) {
      return [
        new GraphQLError(
          `This connection already runs ${running - 1} operations, the most one WebSocket may hold (WS_MAX_SUBSCRIPTIONS_PER_CONNECTION=${maxOperations}); complete one or open another connection.`,
          {
            extensions: { code: 'BAD_USER_INPUT', limit: 'WS_MAX_SUBSCRIPTIONS_PER_CONNECTION' },
          },
        ),
      ];
    }
    const state = pipeline.requestStart(ctx, id);
    const checked = await pipeline.onSubscribe(ctx, state, payload);
    if (!Array.isArray(checked)) {
      const args = checked as ExecutionArgs;
      // Before graphql-ws sees the args: what it derives from the document (the operation it
      // keeps while the subscription lives) must come from the shared one.
      const { document, printed } = documents.intern(print(args.document), args.document);
      args.document = document;
      origins.set(args, { connection: ctx, id, state, printed });
    }
    return checked;
  };
}

/** The `next` payload of a result: scrubbed, errors formatted as over HTTP. */
function nextFormatter(options: GraphqlWsOptions<unknown>, pipeline: WsPipeline) {
  const formatOne = format(options);
  return (
    result: ExecutionResult,
    state?: RequestState,
  ): ExecutionResult | Record<string, unknown> => {
    if (!result.errors) return result;
    return { ...result, errors: pipeline.errors(result.errors, state).map(formatOne) };
  };
}

/**
 * One error as formatError sees it over HTTP. An error thrown by a running stream (a batch
 * Chillr does not know, an expired cursor) reaches graphql-ws wrapped in a GraphQLError with
 * no path, which formatError would not unwrap: it is given the thrown error itself, so a
 * ServiceError keeps its code and anything else is the generic internal error.
 */
function format(options: GraphqlWsOptions<unknown>) {
  return (error: GraphQLError): GraphQLFormattedError => {
    if (!options.formatError) return error.toJSON();
    const thrown = !error.path && error.originalError ? error.originalError : error;
    return options.formatError(error.toJSON(), thrown);
  };
}

/**
 * The sharing key: what the caller may see, then the operation as graphql-js will run it —
 * the printed document (whitespace and comments do not split streams), the operation name,
 * and the variables with their keys sorted.
 */
function streamKey(args: ExecutionArgs, printed: string, visibility: string): string {
  return [
    visibility,
    args.operationName ?? '',
    printed,
    canonicalJson(args.variableValues ?? {}),
  ].join('\u0000');
}

/** The subscription's single root field and its argument values, when plainly written. */
function rootFieldOf(
  args: ExecutionArgs,
): { name: string; args: Record<string, unknown> } | undefined {
  const operation = getOperationAST(args.document, args.operationName);
  const selections = operation?.selectionSet.selections ?? [];
  const node = selections[0];
  if (operation?.operation !== 'subscription' || selections.length !== 1) return undefined;
  if (node?.kind !== Kind.FIELD) return undefined;
  const field = args.schema.getSubscriptionType()?.getFields()[node.name.value];
  if (!field) return undefined;
  const variables = getVariableValues(
    args.schema,
    operation.variableDefinitions ?? [],
    args.variableValues ?? {},
  );
  if (!variables.coerced) return undefined;
  try {
    return { name: field.name, args: getArgumentValues(field, node, variables.coerced) };
  } catch {
    return undefined; // graphql-js reports the bad argument when it runs the operation
  }
}
