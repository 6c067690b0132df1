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

/** An operation parsed and validated, about to execute (or subscribe). */
export interface ValidatedOperation {
  caller: Caller;
  /**
   * One object per connection, for what a plugin keeps per connection (a socket's verified
   * token): over HTTP each request's own, over a WebSocket its graphql-ws context.
   */
  connection: object;
  schema: GraphQLSchema;
  document: DocumentNode;
  /** The operation to run; undefined when the document names none that exists. */
  operation: OperationDefinitionNode | null | undefined;
  variables: Readonly<Record<string, unknown>> | null | undefined;
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
   * refuses the operation (Apollo Server's `didResolveOperation`; graphql-ws `onSubscribe`).
   */
  onExecute?(
    operation: ValidatedOperation,
  ): Promise<GraphQLError | undefined> | GraphQLError | undefined;
  /**
   * Error: each error about to leave (refusals, parse, validation and execution errors),
   * rewritten in place before the transport formats it.
   */
  onError?(error: GraphQLError): void;
}

export interface OperationPipeline {
  plugins: readonly OperationPlugin[];
  /** Runs every `onRequestStart` in order; returns the request's state. */
  requestStart(caller: Caller): RequestState;
  /** Runs every `onAdmit` in order; the first refusal, or undefined. */
  admit(caller: Caller, state?: RequestState): Refusal | undefined;
  /** Runs every `onParse` in order; the first refusal, or undefined. */
  parse(source: string): GraphQLError | undefined;
  /** Every plugin's validation rules, in order. */
  validationRules: ValidationRule[];
  /** Runs every `onExecute` in order; the first refusal, or undefined. */
  execute(operation: ValidatedOperation): Promise<GraphQLError | undefined>;
  /** Runs every `onError` on each error, in place; returns the same errors. */
  errors<E extends readonly GraphQLError[]>(errors: E): E;
}

export function createPipeline(plugins: readonly OperationPlugin[]): OperationPipeline {
  const starts = plugins.flatMap((p) => (p.onRequestStart ? [p.onRequestStart.bind(p)] : []));
  const admits = plugins.flatMap((p) => (p.onAdmit ? [p.onAdmit.bind(p)] : []));
  const parses = plugins.flatMap((p) => (p.onParse ? [p.onParse.bind(p)] : []));
  const executes = plugins.flatMap((p) => (p.onExecute ? [p.onExecute.bind(p)] : []));
  const onErrors = plugins.flatMap((p) => (p.onError ? [p.onError.bind(p)] : []));
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
    parse(source) {
      for (const parse of parses) {
        const refused = parse(source);
        if (refused) return refused;
      }
      return undefined;
    },
    validationRules: plugins.flatMap((p) => p.validationRules ?? []),
    async execute(operation) {
      for (const execute of executes) {
        const refused = await execute(operation);
        if (refused) return refused;
      }
      return undefined;
    },
    errors(errors) {
      for (const error of errors) for (const onError of onErrors) onError(error);
      return errors;
    },
  };
}
