import type { RequestHandler } from 'express';
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

/**
 * The pipeline as express middleware. `requestStart` goes first on the app (every path);
 * `admit` on /graphql before the body parser, so a refused request is answered before its body
 * is read. Neither knows what the plugins do.
 */
export function httpAdapter(pipeline: OperationPipeline): {
  requestStart: RequestHandler;
  admit: RequestHandler;
} {
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
  };
}
