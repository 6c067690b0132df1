import type { IncomingHttpHeaders } from 'node:http';

/**
 * The operation pipeline: every cross-cutting concern of the graph endpoint is one
 * {@link OperationPlugin}, listed once, in order, by the composition root; two adapters run
 * the same list — `http.ts` as express middleware around Apollo Server, `ws.ts` as graphql-ws
 * server options — and know no concern themselves (docs/architecture.md, "The operation
 * pipeline").
 */

/** Who is calling, as both transports can tell it. */
export interface Caller {
  transport: 'http' | 'ws';
  /** The HTTP request's headers; over a WebSocket, the upgrade request's. */
  headers: IncomingHttpHeaders;
  /** Over a WebSocket, the `connection_init` payload. @default undefined over HTTP */
  connectionParams?: Readonly<Record<string, unknown>>;
  /** The caller's address (express `req.ip` over HTTP, the socket's over a WebSocket). */
  ip: string | undefined;
}

/**
 * One request's state (an HTTP request; over a WebSocket, one `subscribe` message), written by
 * the plugins' hooks and read by the adapter and the later hooks.
 */
export interface RequestState {
  /** Correlates the request's log lines; set by the request-id plugin. '' until then. */
  requestId: string;
  /** Response headers the HTTP adapter sets; a WebSocket has none to set. */
  responseHeaders: Record<string, string>;
}

/** A caller turned away before anything it sent is read. */
export interface Refusal {
  /** The HTTP status. Over a WebSocket the connection is closed with 4403 Forbidden. */
  status: number;
  /** One of the public error codes (src/errors.ts) or Apollo's `UNAUTHENTICATED`. */
  code: string;
  message: string;
}

/**
 * A concern of the graph endpoint, written once for both transports. Hooks run in the order
 * the plugins are listed; every hook is optional.
 */
export interface OperationPlugin {
  /** For logs and docs: the plugin's folder under src/http/plugin/. */
  name: string;
  /**
   * Request start: an HTTP request reached the app (any path), or a WebSocket `subscribe`
   * message arrived (before it is parsed). Fills the request's state.
   */
  onRequestStart?(caller: Caller, state: RequestState): void;
  /**
   * Admission to the graph: over HTTP, each /graphql request before its body is read; over a
   * WebSocket, once per connection at `connection_init`. A refusal stops the pipeline: nothing
   * the caller sent is parsed, validated or executed.
   */
  onAdmit?(caller: Caller, state: RequestState | undefined): Refusal | undefined;
}

export interface OperationPipeline {
  plugins: readonly OperationPlugin[];
  /** Runs every `onRequestStart` in order; returns the request's state. */
  requestStart(caller: Caller): RequestState;
  /** Runs every `onAdmit` in order; the first refusal, or undefined. */
  admit(caller: Caller, state?: RequestState): Refusal | undefined;
}

export function createPipeline(plugins: readonly OperationPlugin[]): OperationPipeline {
  const starts = plugins.flatMap((p) => (p.onRequestStart ? [p.onRequestStart.bind(p)] : []));
  const admits = plugins.flatMap((p) => (p.onAdmit ? [p.onAdmit.bind(p)] : []));
  return {
    plugins,
    requestStart(caller) {
      const state: RequestState = { requestId: '', responseHeaders: {} };
      for (const start of starts) start(caller, state);
      return state;
    },
    admit(caller, state) {
      for (const admit of admits) {
        const refusal = admit(caller, state);
        if (refusal) return refusal;
      }
      return undefined;
    },
  };
}
