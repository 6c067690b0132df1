import type { IncomingMessage } from 'node:http';
import {
  GraphQLError,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import type { Caller, OperationPipeline, OperationResult, RequestState } from './index.js';

/** What the adapter reads of a graphql-ws context. */
export interface WsConnectionLike {
  connectionParams?: Readonly<Record<string, unknown>>;
  extra: { request: Pick<IncomingMessage, 'headers' | 'socket'> };
}

/** A subscribe message as graphql-ws hands it over. */
export interface WsSubscribePayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/** The operations a connection runs, by graphql-ws id: a property of its context. */
const OPERATIONS = Symbol('pipeline.operations');
type WithOperations = WsConnectionLike & { [OPERATIONS]?: Map<string, RequestState> };

export interface WsPipeline {
  /** graphql-ws `onConnect`: admission; `false` closes the socket with 4403 Forbidden. */
  onConnect(ctx: WsConnectionLike): boolean;
  /** The state of one `subscribe` message (operation `id`), before it is parsed. */
  requestStart(ctx: WsConnectionLike, id: string): RequestState;
  /**
   * For graphql-ws `onSubscribe`, inside the request's wraps: parse, validate and execute
   * hooks, then the errors (the operation ends, refused), or the execution args (parsed and
   * validated once).
   */
  onSubscribe(
    ctx: WsConnectionLike,
    state: RequestState,
    payload: WsSubscribePayload,
  ): Promise<readonly GraphQLError[] | ExecutionArgs>;
  /** graphql-ws's execute / subscribe call, inside the request's and execution's wraps. */
  run<T>(state: RequestState, call: () => T): T;
  /** The result hooks on one `next` payload; undefined when no plugin observes results. */
  result: ((state: RequestState, result: OperationResult) => void) | undefined;
  /** The state of operation `id` while it runs (when a plugin observes results). */
  stateOf(ctx: WsConnectionLike, id: string): RequestState | undefined;
  /** For graphql-ws `onNext` / `onError`: the error hook on each error, in place. */
  errors<E extends readonly GraphQLError[]>(errors: E, state?: RequestState): E;
  /** graphql-ws `onComplete`: operation `id` ended (completed, failed, or stopped by the client). */
  complete(ctx: WsConnectionLike, id: string): void;
  /** graphql-ws `onClose`: whatever the socket still ran ends `closed`. */
  closed(ctx: WsConnectionLike): void;
}

/**
 * The pipeline as graphql-ws server options: admission at `connection_init`, request start,
 * parse, validate and execute at each `subscribe`, the execute wraps around execute /
 * subscribe, the result and error hooks on what leaves, the end hooks on complete or close.
 * Knows no concern.
 */
export function wsAdapter(pipeline: OperationPipeline, schema: GraphQLSchema): WsPipeline {
  const rules = [...specifiedRules, ...pipeline.validationRules];
  const { wrapRequest, wrapExecute, observesResults } = pipeline;
  const end = (state: RequestState, outcome?: 'closed') => {
    if (!observesResults) return;
    if (wrapRequest) wrapRequest(state, () => pipeline.end(state, outcome));
    else pipeline.end(state, outcome);
  };
  const checks = hookRunner(pipeline, schema, rules);
  return {
    onConnect: (ctx) => pipeline.admit(callerOf(ctx)) === undefined,
    requestStart(ctx, id) {
      const state = pipeline.requestStart(callerOf(ctx));
      state.operationId = id;
      if (observesResults) {
        const operations = ((ctx as WithOperations)[OPERATIONS] ??= new Map());
        operations.set(id, state);
      }
      return state;
    },
    async onSubscribe(ctx, state, payload) {
      const checked = wrapRequest
        ? await wrapRequest(state, () => checks(ctx, state, payload))
        : await checks(ctx, state, payload);
      if (Array.isArray(checked)) {
        // Refused: graphql-ws sends the errors and never completes it.
        (ctx as WithOperations)[OPERATIONS]?.delete(state.operationId!);
        end(state);
      }
      return checked;
    },
    run: (state, call) => (wrapExecute ? wrapExecute(state, call) : call()),
    result: observesResults ? (state, result) => pipeline.result(state, result) : undefined,
    stateOf: (ctx, id) => (ctx as WithOperations)[OPERATIONS]?.get(id),
    errors: (errors, state) => pipeline.errors(errors, state),
    complete(ctx, id) {
      const operations = (ctx as WithOperations)[OPERATIONS];
      const state = operations?.get(id);
      if (!state) return;
      operations!.delete(id);
      end(state);
    },
    closed(ctx) {
      const operations = (ctx as WithOperations)[OPERATIONS];
      if (!operations) return;
      for (const state of operations.values()) end(state, 'closed');
      operations.clear();
    },
  };
}

function callerOf(ctx: WsConnectionLike): Caller {
  return {
    transport: 'ws',
    headers: ctx.extra.request.headers,
    connectionParams: ctx.connectionParams,
    ip: ctx.extra.request.socket.remoteAddress,
  };
}

/** Parse, validate and execute hooks of one `subscribe`: the errors, or the execution args. */
function hookRunner(
  pipeline: OperationPipeline,
  schema: GraphQLSchema,
  rules: readonly ValidationRule[],
) {
  return async (
    ctx: WsConnectionLike,
    state: RequestState,
    payload: WsSubscribePayload,
  ): Promise<readonly GraphQLError[] | ExecutionArgs> => {
    const refuse = (errors: readonly GraphQLError[]) =>
      pipeline.errors(errors, state).map(withoutHttp);
    const refusedSource = pipeline.parse(payload.query);
    if (refusedSource) return refuse([refusedSource]);
    let document: DocumentNode;
    try {
      document = parse(payload.query);
    } catch (error) {
      return refuse([error as GraphQLError]);
    }
    const invalid = validate(schema, document, rules);
    if (invalid.length > 0) return refuse(invalid);
    const refused = await pipeline.execute({
      caller: state.caller,
      connection: ctx,
      state,
      schema,
      document,
      operation: getOperationAST(document, payload.operationName),
      variables: payload.variables,
    });
    if (refused) return refuse([refused]);
    return {
      schema,
      document,
      operationName: payload.operationName,
      variableValues: payload.variables,
    };
  };
}

/** `extensions.http` is Apollo Server's status hint; over a WebSocket it means nothing. */
function withoutHttp(error: GraphQLError): GraphQLError {
  if (error.extensions.http === undefined) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    extensions,
  });
}
