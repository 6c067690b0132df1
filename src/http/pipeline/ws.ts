import type { IncomingMessage } from 'node:http';
import type { Caller, OperationPipeline, RequestState } from './index.js';

/**
 * The pipeline as graphql-ws server options: admission at `connection_init` (`onConnect`,
 * where `false` closes the socket with 4403 Forbidden) and request start for each `subscribe`
 * message. Knows no concern.
 */
export function wsAdapter(pipeline: OperationPipeline) {
  const callerOf = (ctx: WsConnectionLike): Caller => ({
    transport: 'ws',
    headers: ctx.extra.request.headers,
    connectionParams: ctx.connectionParams,
    ip: ctx.extra.request.socket.remoteAddress,
  });
  return {
    /** graphql-ws `onConnect`. */
    onConnect: (ctx: WsConnectionLike): boolean => pipeline.admit(callerOf(ctx)) === undefined,
    /** The state of one `subscribe` message, before it is parsed. */
    requestStart: (ctx: WsConnectionLike): RequestState => pipeline.requestStart(callerOf(ctx)),
  };
}

/** What the adapter reads of a graphql-ws context. */
export interface WsConnectionLike {
  connectionParams?: Readonly<Record<string, unknown>>;
  extra: { request: IncomingMessage };
}
