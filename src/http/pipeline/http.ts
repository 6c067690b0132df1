import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';
import type { GraphQLError } from 'graphql';
import {
  newRequestState,
  type Caller,
  type OperationInfo,
  type OperationPipeline,
  type RequestState,
} from './index.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Correlates this request's log lines (the request-id plugin). */
    id: string;
  }
}

/** Where request start leaves the request's state: a property of the request (no side table). */
const STATE = Symbol('pipeline.state');
/** The adapter's own re-entry into the request's wraps, for {@link resumeRequest}. */
const RESUME = Symbol('pipeline.resume');
type WithState = Request & { [STATE]?: RequestState; [RESUME]?: RequestHandler };

/** The request's pipeline state (set by request start); undefined on an app without one. */
export function stateOf(req: Request): RequestState | undefined {
  return (req as WithState)[STATE];
}

/**
 * The request's pipeline state inside Apollo Server (its context carries it: see `context`);
 * undefined for a context the adapter did not make.
 */
export function stateOfContext(contextValue: object): RequestState | undefined {
  return (contextValue as { [STATE]?: RequestState })[STATE];
}

/**
 * After a body parser (which loses the async context) on any route: enters the request's wraps
 * again (its log scope). Nothing to do on an app whose pipeline has no wrap.
 */
export const resumeRequest: RequestHandler = (req, res, next) => {
  const resume = (req as WithState)[RESUME];
  if (resume) resume(req, res, next);
  else next();
};

export interface HttpPipeline {
  /**
   * First on the app (every path): request start, then the rest inside the request's wraps;
   * the response hooks when it finishes.
   */
  requestStart: RequestHandler;
  /** On /graphql before the body parser: admission, so a refusal never reads the body. */
  admit: RequestHandler;
  /**
   * On /graphql right after the body parser: the operation stage — the request's wraps entered
   * again and the execute wraps opened around the rest (response cache, parse hook, Apollo
   * Server); the end hooks run if the response closes unanswered. Undefined when no plugin has
   * a wrap or an end hook: nothing to mount.
   */
  operation: RequestHandler | undefined;
  /**
   * On /graphql after the body parser, before Apollo Server: the parse hook on the raw
   * document (Apollo Server has no hook that can refuse before it parses).
   */
  parse: RequestHandler;
  /** For `new ApolloServer({ validationRules })`. */
  validationRules: OperationPipeline['validationRules'];
  /** For `new ApolloServer({ plugins })`: the execute, result, error and end hooks. */
  apollo: ApolloServerPlugin;
  /**
   * Apollo's context function for the express integration: `make`'s context, carrying the
   * request's state to the Apollo Server plugin above.
   */
  context<C extends object>(
    make: (req: Request) => C | Promise<C>,
  ): (arg: { req: Request }) => Promise<C>;
  /** A /graphql request answered without Apollo Server (a response-cache hit): its end. */
  answered(req: Request, operation: OperationInfo): void;
}

/** The pipeline as express middleware and an Apollo Server plugin; it knows no concern. */
export function httpAdapter(pipeline: OperationPipeline): HttpPipeline {
  const { wrapRequest, wrapExecute } = pipeline;
  const resume: RequestHandler | undefined =
    wrapRequest && ((req, _res, next) => wrapRequest(stateOf(req)!, next));
  const { endOnClose, responded } = responseListeners(pipeline);
  const observesResponses = pipeline.has('onResponse');
  return {
    requestStart(req, res, next) {
      const state = pipeline.requestStart(callerOf(req));
      req.id = state.requestId;
      (req as WithState)[STATE] = state;
      for (const [name, value] of Object.entries(state.responseHeaders)) res.setHeader(name, value);
      if (observesResponses) res.on('finish', responded);
      if (!wrapRequest) {
        next();
        return;
      }
      (req as WithState)[RESUME] = resume;
      wrapRequest(state, next);
    },
    admit(req, res, next) {
      const refusal = pipeline.admit(callerOf(req), stateOf(req));
      if (!refusal) {
        next();
        return;
      }
      res.status(refusal.status).json({
        errors: [{ message: refusal.message, extensions: { code: refusal.code } }],
      });
    },
    operation:
      wrapExecute || pipeline.observesResults
        ? (req, res, next) => {
            const state = stateOf(req)!;
            if (pipeline.observesResults) res.on('close', endOnClose);
            if (wrapExecute) wrapExecute(state, next);
            else next();
          }
        : undefined,
    parse(req, res, next) {
      const body = req.body as { query?: unknown } | undefined;
      const query = req.method === 'GET' ? req.query.query : body?.query;
      const refused = typeof query === 'string' ? pipeline.parse(query) : undefined;
      if (!refused) {
        next();
        return;
      }
      const state = stateOf(req);
      if (state) pipeline.end(state, 'error');
      res.status(400).json({ errors: [asJson(refused)] });
    },
    validationRules: pipeline.validationRules,
    apollo: apolloPlugin(pipeline),
    context:
      (make) =>
      async ({ req }) => {
        const context = await make(req);
        (context as { [STATE]?: RequestState })[STATE] = stateOf(req);
        return context;
      },
    answered(req, operation) {
      const state = stateOf(req);
      if (!state) return;
      state.operation = operation;
      state.cache = 'hit';
      pipeline.end(state);
    },
  };
}

/**
 * The response's `close` and `finish` listeners: `this` is the response, so one function serves
 * every request (no closure each).
 */
function responseListeners(pipeline: OperationPipeline) {
  return {
    // A response sent without Apollo Server's last hook (its own refusals: CSRF, a malformed
    // request) ends here too; one that never finished was cut off.
    endOnClose(this: Response) {
      const state = stateOf(this.req);
      if (!state) return;
      if (!this.writableFinished) pipeline.end(state, 'closed');
      else pipeline.end(state, this.statusCode >= 400 ? 'error' : undefined);
    },
    responded(this: Response) {
      const state = stateOf(this.req);
      if (!state) return;
      pipeline.response(state, {
        method: this.req.method,
        path: this.req.originalUrl.split('?')[0]!,
        status: this.statusCode,
        durationMs: performance.now() - state.startedAt,
      });
    },
  };
}

function callerOf(req: Request): Caller {
  return { transport: 'http', headers: req.headers, ip: req.ip };
}

/**
 * The execute hook in `didResolveOperation`, the error hook in `didEncounterErrors`, the result
 * and end hooks in `willSendResponse` (only when a plugin has them). One listener for every
 * request: its hooks read the request's state from the context, so nothing is made per request.
 */
function apolloPlugin(pipeline: OperationPipeline): ApolloServerPlugin {
  const stateIn = (contextValue: object, headers: Iterable<[string, string]> | undefined) =>
    stateOfContext(contextValue) ??
    newRequestState({
      transport: 'http',
      headers: Object.fromEntries(headers ?? []),
      ip: undefined,
    });
  const { observesResults } = pipeline;
  const listener: GraphQLRequestListener<object> = {};
  // The execute step also names the operation for the end hooks; the error step notes a failure.
  if (observesResults || pipeline.has('onExecute')) {
    listener.didResolveOperation = async ({
      schema,
      document,
      operation,
      request,
      contextValue,
    }) => {
      const state = stateIn(contextValue, request.http?.headers);
      const refused = await pipeline.execute({
        caller: state.caller,
        connection: request,
        state,
        schema,
        document,
        operation,
        variables: request.variables,
      });
      if (refused) throw refused;
    };
  }
  if (observesResults || pipeline.has('onError')) {
    listener.didEncounterErrors = ({ errors, contextValue }) => {
      // Apollo formats these afterwards; rewriting in place is what this hook is for.
      pipeline.errors(errors, stateOfContext(contextValue));
      return Promise.resolve();
    };
  }
  if (observesResults) {
    listener.willSendResponse = ({ response, contextValue }) => {
      const state = stateOfContext(contextValue);
      if (!state) return Promise.resolve();
      if (response.body.kind === 'single') pipeline.result(state, response.body.singleResult);
      pipeline.end(state);
      return Promise.resolve();
    };
  }
  const empty = Object.keys(listener).length === 0;
  return {
    // Apollo's plugin contract asks for a promise; there is nothing to wait for.
    requestDidStart: () => Promise.resolve(empty ? undefined : listener),
  };
}

/** A refusal answered before Apollo Server: its status hint is the status, not a field. */
function asJson(error: GraphQLError) {
  const { extensions, message } = error.toJSON();
  const { http: _http, ...rest } = extensions ?? {};
  return { message, extensions: rest };
}
