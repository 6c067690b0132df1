import type { IncomingHttpHeaders } from 'node:http';
import type {
  DocumentNode,
  GraphQLError,
  GraphQLSchema,
  OperationDefinitionNode,
  ValidationRule,
} from 'graphql';

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

/** What an operation is, once the document and its operation name are known. */
export interface OperationInfo {
  /** The operation's name as the document spells it; null when it has none. */
  name: string | null;
  type: 'query' | 'mutation' | 'subscription';
}

/**
 * One request's state (an HTTP request; over a WebSocket, one `subscribe` message), written by
 * the plugins' hooks and read by the adapter and the later hooks. A plugin keeps its own
 * per-request data under a symbol of its own (no WeakMap, no side table).
 */
export interface RequestState {
  /** Correlates the request's log lines; set by the request-id plugin. '' until then. */
  requestId: string;
  /** Response headers the HTTP adapter sets; a WebSocket has none to set. */
  responseHeaders: Record<string, string>;
  caller: Caller;
  /** `performance.now()` when the request started: the operation's duration counts from it. */
  startedAt: number;
  /** The operation's id on its connection: graphql-ws's `subscribe` id; undefined over HTTP. */
  operationId?: string;
  /** Set when the execute hooks run (or a cached answer names it); undefined before. */
  operation?: OperationInfo;
  /** How the response cache dealt with the request (HTTP only). @default undefined (not looked up) */
  cache?: 'hit' | 'miss';
  /** A result or an error of the operation carried errors (the end's outcome says `error`). */
  errored?: boolean;
  /** The end hooks ran: they run once. */
  ended?: boolean;
  [slot: symbol]: unknown;
}

/** A caller turned away before anything it sent is read. */
export interface Refusal {
  /** The HTTP status. Over a WebSocket the connection is closed with 4403 Forbidden. */
  status: number;
  /** One of the public error codes (src/errors.ts) or Apollo's `UNAUTHENTICATED`. */
  code: string;
  message: string;
}

/** An operation parsed and validated, about to execute (or subscribe). */
export interface ValidatedOperation {
  caller: Caller;
  /**
   * One object per connection, for what a plugin keeps per connection (a socket's verified
   * token): over HTTP each request's own, over a WebSocket its graphql-ws context.
   */
  connection: object;
  /** The request's state (its `operation` already set). */
  state: RequestState;
  schema: GraphQLSchema;
  document: DocumentNode;
  /** The operation to run; undefined when the document names none that exists. */
  operation: OperationDefinitionNode | null | undefined;
  variables: Readonly<Record<string, unknown>> | null | undefined;
}

/** One result of an operation: the response over HTTP, each event of a subscription. */
export interface OperationResult {
  readonly data?: unknown;
  readonly errors?: readonly unknown[] | undefined;
}

/**
 * How an operation ended: `ok`; `error` when any of its results or errors carried one (a
 * refusal included); `closed` when its connection went away first (a socket closed, an HTTP
 * response closed before it was answered).
 */
export interface OperationEnd {
  outcome: 'ok' | 'error' | 'closed';
  /** Milliseconds since the request started. */
  durationMs: number;
}

/** An HTTP response that finished, as the request log reports it. */
export interface SentResponse {
  method: string;
  /** The path, without the query string (which may carry an operation's variables). */
  path: string;
  status: number;
  /** Milliseconds since the request started. */
  durationMs: number;
}

/** Runs `next` inside whatever the plugin keeps for the request; returns what `next` returns. */
export type Wrap = <T>(state: RequestState, next: () => T) => T;

/**
 * A concern of the graph endpoint, written once for both transports. Hooks run in the order
 * the plugins are listed; every hook is optional, and a hook no plugin has costs nothing (the
 * adapters skip its step altogether).
 */
export interface OperationPlugin {
  /** For logs and docs: the plugin's folder under src/http/plugin/. */
  name: string;
  /**
   * Schema: the schema the pipeline serves, once, when the pipeline is made (envelop's
   * `onSchemaChange`, in place: a plugin may wrap resolvers). @default not called without one
   */
  onSchema?(schema: GraphQLSchema): void;
  /**
   * Request start: an HTTP request reached the app (any path), or a WebSocket `subscribe`
   * message arrived (before it is parsed). Fills the request's state.
   */
  onRequestStart?(caller: Caller, state: RequestState): void;
  /**
   * Wrap the request: each stage of the request runs inside it — an AsyncLocalStorage scope
   * covers the request this way. Called again whenever the transport resumes the request in a
   * fresh async context, so it must only enter what `onRequestStart` prepared: over HTTP after
   * request start and again after each body parser (which loses the async context); over a
   * WebSocket around the `subscribe` message's hooks, around graphql-ws's execute / subscribe
   * (and so every event of the stream it starts), and around the end hooks. Wraps nest in list
   * order: the first plugin's is outermost.
   */
  wrapRequest?<T>(state: RequestState, next: () => T): T;
  /**
   * Wrap execution (envelop's `instrumentation.execute`): the operation's work runs inside it,
   * always inside `wrapRequest` — over HTTP everything after the body parser (the response
   * cache, the parse hook, Apollo Server's parse, validation and execution: Apollo has no seam
   * around execution alone); over a WebSocket graphql-ws's execute / subscribe call and the
   * events of the stream it starts. Entered before the operation may be known (HTTP), so a span
   * opened here is named later (`onExecute`, `onEnd`).
   */
  wrapExecute?<T>(state: RequestState, next: () => T): T;
  /**
   * Admission to the graph: over HTTP, each /graphql request before its body is read; over a
   * WebSocket, once per connection at `connection_init`. A refusal stops the pipeline: nothing
   * the caller sent is parsed, validated or executed.
   */
  onAdmit?(caller: Caller, state: RequestState | undefined): Refusal | undefined;
  /**
   * Parse: the document's text before it is parsed (over HTTP after the body parser, before
   * Apollo Server; over a WebSocket at `subscribe`). An error refuses the operation.
   */
  onParse?(source: string): GraphQLError | undefined;
  /**
   * Validate: rules run beside graphql-js's standard ones (Apollo Server's `validationRules`;
   * the WebSocket adapter's own `validate`). @default none
   */
  validationRules?: readonly ValidationRule[];
  /**
   * Execute / subscribe: the last word before anything runs, with the variables. An error
   * refuses the operation (Apollo Server's `didResolveOperation`; graphql-ws `onSubscribe`);
   * the hooks after the refusing plugin's are not called.
   */
  onExecute?(
    operation: ValidatedOperation,
  ): Promise<GraphQLError | undefined> | GraphQLError | undefined;
  /**
   * Result: each result before it leaves — over HTTP the response's (Apollo Server's
   * `willSendResponse`), over a WebSocket each `next` payload for this subscriber, each event
   * of a subscription included (a shared stream's event once per subscriber).
   */
  onResult?(state: RequestState, result: OperationResult): void;
  /**
   * Error: each error about to leave (refusals, parse, validation and execution errors),
   * rewritten in place before the transport formats it. `state` is undefined only for an
   * error of no request the pipeline started.
   */
  onError?(error: GraphQLError, state: RequestState | undefined): void;
  /**
   * End: once per operation that reached the operation stage — over HTTP when the response is
   * about to be sent (or a cached answer was written, or the response closed unanswered), over
   * a WebSocket when the operation completes, fails, is refused or its socket closes. Runs
   * inside `wrapRequest` (the adapters see to it).
   */
  onEnd?(state: RequestState, end: OperationEnd): void;
  /**
   * Response: an HTTP response finished (any path, its last byte handed to the socket), in the
   * request's async context. HTTP only — a WebSocket answers no request, its operations end in
   * `onEnd`.
   */
  onResponse?(state: RequestState, response: SentResponse): void;
}

export interface OperationPipeline {
  plugins: readonly OperationPlugin[];
  /** Whether any plugin has this hook: an adapter leaves out the step of one none has. */
  has(hook: keyof OperationPlugin): boolean;
  /** Runs every `onRequestStart` in order; returns the request's state. */
  requestStart(caller: Caller): RequestState;
  /** Every `wrapRequest`, nested; undefined when no plugin has one. */
  wrapRequest: Wrap | undefined;
  /** Every `wrapRequest`, then every `wrapExecute`, nested; undefined when none has either. */
  wrapExecute: Wrap | undefined;
  /** Runs every `onAdmit` in order; the first refusal, or undefined. */
  admit(caller: Caller, state?: RequestState): Refusal | undefined;
  /** Runs every `onParse` in order; the first refusal, or undefined. */
  parse(source: string): GraphQLError | undefined;
  /** Every plugin's validation rules, in order. */
  validationRules: ValidationRule[];
  /** Sets `state.operation`, then runs every `onExecute` in order; the first refusal. */
  execute(operation: ValidatedOperation): Promise<GraphQLError | undefined>;
  /** Whether `result` and `end` do anything (any `onResult` / `onEnd`): adapters skip them. */
  observesResults: boolean;
  /** Notes whether the result failed, then runs every `onResult` in order. */
  result(state: RequestState, result: OperationResult): void;
  /** Runs every `onError` on each error, in place; returns the same errors. */
  errors<E extends readonly GraphQLError[]>(errors: E, state?: RequestState): E;
  /** Runs every `onResponse` in order. */
  response(state: RequestState, response: SentResponse): void;
  /**
   * Runs every `onEnd`, once per state; `outcome` forces `error` or `closed`. The caller runs
   * it inside `wrapRequest` (over HTTP it already is).
   */
  end(state: RequestState, outcome?: 'error' | 'closed'): void;
}

/** A request's state before any hook ran (adapters that must answer without one use it too). */
export function newRequestState(caller: Caller): RequestState {
  return { requestId: '', responseHeaders: {}, caller, startedAt: performance.now() };
}

/** The operation's name and type, as the execute hooks and a cached answer report it. */
export function operationInfo(
  operation: OperationDefinitionNode | null | undefined,
): OperationInfo | undefined {
  return operation ? { name: operation.name?.value ?? null, type: operation.operation } : undefined;
}

/** The hooks of one kind, bound, in list order. */
function hooks<K extends keyof OperationPlugin>(
  plugins: readonly OperationPlugin[],
  key: K,
): Array<NonNullable<OperationPlugin[K]>> {
  return plugins.flatMap((p) => {
    const hook = p[key];
    return typeof hook === 'function' ? [hook.bind(p) as NonNullable<OperationPlugin[K]>] : [];
  });
}

/** Wraps nested in list order, the first outermost; one wrap is itself (no closure per call). */
function nest(wraps: readonly Wrap[]): Wrap | undefined {
  if (wraps.length === 0) return undefined;
  if (wraps.length === 1) return wraps[0];
  return <T>(state: RequestState, next: () => T): T =>
    wraps.reduceRight<() => T>((inner, wrap) => () => wrap(state, inner), next)();
}

export function createPipeline(
  plugins: readonly OperationPlugin[],
  options: { schema?: GraphQLSchema } = {},
): OperationPipeline {
  const starts = hooks(plugins, 'onRequestStart');
  const admits = hooks(plugins, 'onAdmit');
  const parses = hooks(plugins, 'onParse');
  const executes = hooks(plugins, 'onExecute');
  const onResults = hooks(plugins, 'onResult');
  const onErrors = hooks(plugins, 'onError');
  const onEnds = hooks(plugins, 'onEnd');
  const onResponses = hooks(plugins, 'onResponse');
  const requestWraps = hooks(plugins, 'wrapRequest') as Wrap[];
  if (options.schema) for (const onSchema of hooks(plugins, 'onSchema')) onSchema(options.schema);
  return {
    plugins,
    has: (hook) => plugins.some((plugin) => plugin[hook] !== undefined),
    requestStart(caller) {
      const state = newRequestState(caller);
      for (const start of starts) start(caller, state);
      return state;
    },
    wrapRequest: nest(requestWraps),
    wrapExecute: nest([...requestWraps, ...(hooks(plugins, 'wrapExecute') as Wrap[])]),
    admit(caller, state) {
      for (const admit of admits) {
        const refusal = admit(caller, state);
        if (refusal) return refusal;
      }
      return undefined;
    },
    parse(source) {
      for (const parse of parses) {
        const refused = parse(source);
        if (refused) return refused;
      }
      return undefined;
    },
    validationRules: plugins.flatMap((p) => p.validationRules ?? []),
    async execute(operation) {
      operation.state.operation = operationInfo(operation.operation);
      for (const execute of executes) {
        const refused = await execute(operation);
        if (refused) return refused;
      }
      return undefined;
    },
    observesResults: onResults.length > 0 || onEnds.length > 0,
    result(state, result) {
      if (result.errors !== undefined && result.errors.length > 0) state.errored = true;
      for (const onResult of onResults) onResult(state, result);
    },
    errors(errors, state) {
      if (state && errors.length > 0) state.errored = true;
      for (const error of errors) for (const onError of onErrors) onError(error, state);
      return errors;
    },
    response(state, response) {
      for (const onResponse of onResponses) onResponse(state, response);
    },
    end(state, outcome) {
      if (state.ended) return;
      state.ended = true;
      if (onEnds.length === 0) return;
      const end: OperationEnd = {
        outcome: outcome ?? (state.errored ? 'error' : 'ok'),
        durationMs: performance.now() - state.startedAt,
      };
      for (const onEnd of onEnds) onEnd(state, end);
    },
  };
}
