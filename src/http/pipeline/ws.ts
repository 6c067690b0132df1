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
} from 'graphql';
import type { Caller, OperationPipeline, RequestState } from './index.js';

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

export interface WsPipeline {
  /** graphql-ws `onConnect`: admission; `false` closes the socket with 4403 Forbidden. */
  onConnect(ctx: WsConnectionLike): boolean;
  /** The state of one `subscribe` message, before it is parsed. */
  requestStart(ctx: WsConnectionLike): RequestState;
  /**
   * For graphql-ws `onSubscribe`: parse, validate and execute hooks, then the errors, or the
   * execution args (parsed and validated once).
   */
  onSubscribe(
    ctx: WsConnectionLike,
    payload: WsSubscribePayload,
  ): Promise<readonly GraphQLError[] | ExecutionArgs>;
  /** For graphql-ws `onNext` / `onError`: the error hook on each error, in place. */
  errors<E extends readonly GraphQLError[]>(errors: E): E;
}

/**
 * The pipeline as graphql-ws server options: admission at `connection_init`, request start,
 * parse, validate and execute at each `subscribe`, the error hook on what leaves. Knows no
 * concern.
 */
export function wsAdapter(pipeline: OperationPipeline, schema: GraphQLSchema): WsPipeline {
  const callerOf = (ctx: WsConnectionLike): Caller => ({
    transport: 'ws',
    headers: ctx.extra.request.headers,
    connectionParams: ctx.connectionParams,
    ip: ctx.extra.request.socket.remoteAddress,
  });
  const rules = [...specifiedRules, ...pipeline.validationRules];
  const refuse = (errors: readonly GraphQLError[]) => pipeline.errors(errors).map(withoutHttp);
  return {
    onConnect: (ctx) => pipeline.admit(callerOf(ctx)) === undefined,
    requestStart: (ctx) => pipeline.requestStart(callerOf(ctx)),
    async onSubscribe(ctx, payload) {
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
        caller: callerOf(ctx),
        connection: ctx,
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
    },
    errors: (errors) => pipeline.errors(errors),
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
