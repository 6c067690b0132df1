import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import type { GraphQLError } from 'graphql';
import type { Caller, OperationPipeline, RequestState } from './index.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Correlates this request's log lines (the request-id plugin). */
    id: string;
  }
  interface Locals {
    /** The pipeline state of this request (src/http/pipeline/). */
    pipeline?: RequestState;
  }
}

export interface HttpPipeline {
  /** First on the app (every path): request start. */
  requestStart: RequestHandler;
  /** On /graphql before the body parser: admission, so a refusal never reads the body. */
  admit: RequestHandler;
  /**
   * On /graphql after the body parser, before Apollo Server: the parse hook on the raw
   * document (Apollo Server has no hook that can refuse before it parses).
   */
  parse: RequestHandler;
  /** For `new ApolloServer({ validationRules })`. */
  validationRules: OperationPipeline['validationRules'];
  /** For `new ApolloServer({ plugins })`: the execute and error hooks. */
  apollo: ApolloServerPlugin;
}

/** The pipeline as express middleware and an Apollo Server plugin; it knows no concern. */
export function httpAdapter(pipeline: OperationPipeline): HttpPipeline {
  const callerOf = (req: Parameters<RequestHandler>[0]): Caller => ({
    transport: 'http',
    headers: req.headers,
    ip: req.ip,
  });
  return {
    requestStart(req, res, next) {
      const state = pipeline.requestStart(callerOf(req));
      req.id = state.requestId;
      res.locals.pipeline = state;
      for (const [name, value] of Object.entries(state.responseHeaders)) res.setHeader(name, value);
      next();
    },
    admit(req, res, next) {
      const refusal = pipeline.admit(callerOf(req), res.locals.pipeline);
      if (!refusal) {
        next();
        return;
      }
      res.status(refusal.status).json({
        errors: [{ message: refusal.message, extensions: { code: refusal.code } }],
      });
    },
    parse(req, res, next) {
      const body = req.body as { query?: unknown } | undefined;
      const query = req.method === 'GET' ? req.query.query : body?.query;
      const refused = typeof query === 'string' ? pipeline.parse(query) : undefined;
      if (!refused) {
        next();
        return;
      }
      res.status(400).json({ errors: [asJson(refused)] });
    },
    validationRules: pipeline.validationRules,
    apollo: apolloPlugin(pipeline),
  };
}

/** The execute hook in `didResolveOperation`, the error hook in `didEncounterErrors`. */
function apolloPlugin(pipeline: OperationPipeline): ApolloServerPlugin {
  return {
    requestDidStart() {
      return Promise.resolve({
        async didResolveOperation({ schema, document, operation, request }) {
          const headers = Object.fromEntries(request.http?.headers ?? []);
          const refused = await pipeline.execute({
            caller: { transport: 'http', headers, ip: undefined },
            connection: request,
            schema,
            document,
            operation,
            variables: request.variables,
          });
          if (refused) throw refused;
        },
        didEncounterErrors({ errors }) {
          // Apollo formats these afterwards; rewriting in place is what this hook is for.
          pipeline.errors(errors);
          return Promise.resolve();
        },
      });
    },
  };
}

/** A refusal answered before Apollo Server: its status hint is the status, not a field. */
function asJson(error: GraphQLError) {
  const { extensions, message } = error.toJSON();
  const { http: _http, ...rest } = extensions ?? {};
  return { message, extensions: rest };
}
