import type http from 'node:http';
import {
  GraphQLError,
  execute,
  subscribe,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { secretMatches } from '../constant-time.js';
import type { Logger } from '../logger.js';
import type { OperationGuard } from './plugin/index.js';
import type { WsObservability, WsOperationScope } from './plugin/observability/index.js';

export interface GraphqlWsOptions<C> {
  httpServer: http.Server;
  schema: GraphQLSchema;
  /**
   * Builds the context of one operation, given the request id its log lines carry (unset
   * without `observability`).
   */
  context: (requestId?: string) => C;
  logger: Logger;
  /** graphql-ws server ping interval. @default 12_000 */
  keepAliveMs?: number;
  /** How long a client may take to send connection_init. @default 5_000 */
  initTimeoutMs?: number;
  /** Largest WebSocket message; a bigger one closes the socket (1009). @default 1_048_576 */
  maxPayloadBytes?: number;
  /**
   * Apollo Server's formatError, so errors over a WebSocket carry the same codes and the same
   * redaction as over HTTP. @default errors as graphql-js formats them
   */
  formatError?: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Operations one connection may run at once; one more is refused with an error. @default 50 */
  maxOperationsPerConnection?: number;
  /**
   * The router's shared secret: a connection must carry it in the upgrade request's `header`
   * or as the `connection_init` payload field of the same name, else it is closed with 4403.
   * @default undefined (no check)
   */
  routerSecret?: { secret: string; header: string };
  /** Operation limits and token rules, the same as over HTTP (src/http/plugin/). @default none */
  guard?: OperationGuard['ws'];
  /**
   * Subscription gauge and start/stop lines, and the log scope and trace context (from the
   * upgrade request's headers or the `connection_init` payload) each operation runs in.
   * @default none
   */
  observability?: WsObservability;
}

/**
 * graphql-ws on the same server and `/graphql` path as queries. The transport's own limits
 * live here: who may connect (the router secret), how big a message may be, and how many
 * operations one socket may hold — the last two so one client cannot hold thousands of
 * subscriptions or send 20 MB frames that HTTP would refuse.
 *
 * Returns a function that closes every socket and the WebSocket server.
 */
export function attachGraphqlWs<C>(options: GraphqlWsOptions<C>): () => Promise<void> {
  const wsServer = new WebSocketServer({
    server: options.httpServer,
    path: '/graphql',
    maxPayload: options.maxPayloadBytes ?? 1_048_576,
  });
  const maxOperations = options.maxOperationsPerConnection ?? 50;
  const obs = options.observability;
  // The connection each guarded document came from, so execution runs in its scope and trace.
  const origins = new WeakMap<DocumentNode, WsOperationScope>();
  const inOrigin = <T>(args: ExecutionArgs, run: () => T): T => {
    const scope = origins.get(args.document);
    return scope ? scope.run(run) : run();
  };
  const format = (error: GraphQLError): GraphQLFormattedError =>
    options.formatError ? options.formatError(error.toJSON(), error) : error.toJSON();
  const cleanup = useServer(
    {
      schema: options.schema,
      execute: (args) => inOrigin(args, () => execute(args)),
      subscribe: (args) => inOrigin(args, () => subscribe(args)),
      context: (_ctx, _id, _payload, args) =>
        options.context(origins.get(args.document)?.requestId) as never,
      connectionInitWaitTimeout: options.initTimeoutMs ?? 5_000,
      // false closes the socket with 4403 Forbidden before anything runs.
      onConnect: (ctx) => routerMayConnect(ctx, options.routerSecret, options.logger),
      onSubscribe: async (ctx, id, payload) => {
        // graphql-ws registers the new id before this runs and drops an id the moment its
        // `complete` arrives, so this counts exactly what the socket holds, this one included.
        const running = Object.keys(ctx.subscriptions).length;
        // Within the cap: the same limits and token rules as HTTP, before anything executes.
        if (running <= maxOperations) {
          const checked = await options.guard?.onSubscribe(ctx, id, payload);
          if (checked && !Array.isArray(checked)) {
            const args = checked as ExecutionArgs;
            if (obs) {
              const scope = obs.begin(ctx.connectionParams, requestOf(ctx));
              origins.set(args.document, scope);
              scope.run(() => obs.started(ctx, id, args.document, payload.operationName));
            }
          }
          return checked;
        }
        return [
          new GraphQLError(
            `This connection already runs ${running - 1} operations, the most one WebSocket may hold (WS_MAX_SUBSCRIPTIONS_PER_CONNECTION=${maxOperations}); complete one or open another connection.`,
            {
              extensions: { code: 'BAD_USER_INPUT', limit: 'WS_MAX_SUBSCRIPTIONS_PER_CONNECTION' },
            },
          ),
        ];
      },
      onComplete: (ctx, id) => obs?.stopped(ctx, id),
      onClose: (ctx) => obs?.closed(ctx),
      // Errors leave as they do over HTTP: one code enum, no secrets, no internals.
      onNext: (_ctx, _id, _payload, _args, result) => {
        const scrubbed = options.guard?.scrubResult(result) ?? result;
        if (!scrubbed.errors) return scrubbed;
        return { ...scrubbed, errors: scrubbed.errors.map(format) };
      },
      onError: (_ctx, _id, _payload, errors) => {
        options.logger.warn({ errors: errors.map((e) => e.message) }, 'subscription error');
        return (options.guard?.scrub(errors) ?? errors).map(format);
      },
    },
    wsServer,
    options.keepAliveMs ?? 12_000,
  );
  return async () => {
    await cleanup.dispose();
    await new Promise<void>((resolve) => wsServer.close(() => resolve()));
  };
}

function requestOf(ctx: Context): http.IncomingMessage | undefined {
  return (ctx.extra as { request?: http.IncomingMessage }).request;
}

function routerMayConnect(
  ctx: Context,
  router: GraphqlWsOptions<unknown>['routerSecret'],
  logger: Logger,
): boolean {
  if (!router) return true;
  const request = (ctx.extra as { request?: http.IncomingMessage }).request;
  const fromHeader = request?.headers[router.header];
  const fromInit = ctx.connectionParams?.[router.header];
  if (secretMatches(fromHeader, router.secret) || secretMatches(fromInit, router.secret)) {
    return true;
  }
  logger.warn(
    { header: router.header, ip: request?.socket.remoteAddress },
    'WebSocket without the router secret refused',
  );
  return false;
}
