import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from '../../logger.js';
import { normalizeIp } from './merchant-auth.js';
import type { CallbackResponse, PbgCallbacks } from './pbg-handlers.js';
import { authenticatedBody } from './pbg-body.js';
import { isObject } from '../../is-object.js';
import { VARIABLES } from '../../config/variables.js';

export interface PbgRoutesOptions {
  callbacks: PbgCallbacks;
  /** When set, calls from other addresses get 403 before their body is read. */
  allowedIps: string[] | undefined;
  logger: Logger;
  /**
   * Checked against each body's `merchant_auth` before the body is parsed, and before more
   * than its first bytes are read (src/http/callbacks/pbg-body.ts).
   */
  merchantAuth: string;
  /**
   * Re-enters the request's wraps (its log scope) after the body parser (`resumeRequest`,
   * src/http/pipeline/http.ts).
   * @default none
   */
  reenterScope?: express.RequestHandler;
  /**
   * Largest body accepted (PBG_CALLBACK_MAX_BYTES); change pushes carry every field of every
   * changed purchase, so a 5,000-event push must fit.
   * @default as PBG_CALLBACK_MAX_BYTES (src/config/)
   */
  bodyLimitBytes?: number;
  /** The change-push receiver (`POST /pbg/change_push`, and `events` bodies on `POST /pbg`). */
  changePush?: (body: unknown) => Promise<CallbackResponse>;
}

/**
 * PayByGroup → merchant endpoints under /pbg. The document gives change push and inventory the
 * same URL, so `POST /pbg` dispatches by body shape: `events` → change push, `purchase_id`
 * alone → inventory. Order of checks: address, body, then `merchant_auth`.
 */
export function pbgRoutes(options: PbgRoutesOptions): Router {
  const router = express.Router();
  const allowed = options.allowedIps ? new Set(options.allowedIps.map(normalizeIp)) : undefined;

  router.use(addressCheck(allowed, options.logger));
  const limit = options.bodyLimitBytes ?? VARIABLES.PBG_CALLBACK_MAX_BYTES.default;
  router.use(
    authenticatedBody({
      merchantAuth: options.merchantAuth,
      limitBytes: limit,
      logger: options.logger,
    }),
  );
  if (options.reenterScope) router.use(options.reenterScope);

  const handle = handler(options.logger);
  const changePush =
    options.changePush ??
    (() =>
      Promise.resolve({
        status: 501,
        body: { result: false, error: 'Change pushes are not handled by this instance.' },
      }));

  router.post(
    '/purchase_create.json',
    handle((body) => options.callbacks.purchaseCreate(body)),
  );
  router.post(
    '/inventory_status.json',
    handle((body) => options.callbacks.inventoryStatus(body)),
  );
  router.post('/change_push', handle(changePush));
  router.post(
    '/',
    handle(async (body) => {
      if (isObject(body) && 'events' in body) return changePush(body);
      if (isObject(body) && 'purchase_id' in body) return options.callbacks.inventoryStatus(body);
      return {
        status: 400,
        body: {
          result: false,
          error:
            'POST /pbg takes a change push ({"events": [...]}) or an inventory call ({"purchase_id": ...}).',
        },
      };
    }),
  );
  router.all(/.*/, (req, res) => {
    res.status(req.method === 'POST' ? 404 : 405).json({
      result: false,
      error: `No PayByGroup endpoint for ${req.method} ${req.baseUrl}${req.path}.`,
    });
  });
  // Malformed JSON, oversize bodies: a 4xx naming the problem, never a crash.
  router.use(bodyErrors(limit, options.logger));
  return router;
}

/** Refuses (403) an address outside PBG_ALLOWED_IPS, when the list is set. */
function addressCheck(allowed: Set<string> | undefined, logger: Logger): express.RequestHandler {
  return (req, res, next) => {
    if (allowed && !allowed.has(normalizeIp(req.ip))) {
      logger.warn(
        { requestId: req.id, ip: req.ip, path: req.path },
        'PBG callback from an address not in PBG_ALLOWED_IPS',
      );
      res
        .status(403)
        .json({ result: false, error: 'This address may not call the PayByGroup endpoints.' });
      return;
    }
    next();
  };
}

/** Runs a callback's domain work and answers its status; a failure is a 503 to retry. */
function handler(logger: Logger) {
  return (work: (body: unknown) => Promise<CallbackResponse>) =>
    async (req: Request, res: Response) => {
      try {
        const { status, body } = await work(req.body);
        res.status(status).json(body);
      } catch (error) {
        logger.error({ requestId: req.id, err: error, path: req.path }, 'PBG callback failed');
        res
          .status(503)
          .json({ result: false, error: 'Temporarily unable to answer; please retry.' });
      }
    };
}

/** Body errors as 4xx naming the problem (the limit by its variable), never a crash. */
function bodyErrors(limit: number, logger: Logger) {
  return (
    error: Error & { status?: number; type?: string },
    req: Request,
    res: Response,
    _next: express.NextFunction,
  ) => {
    if (res.headersSent) return;
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 400;
    const message =
      error.type === 'entity.too.large'
        ? `The body is larger than this endpoint accepts (PBG_CALLBACK_MAX_BYTES=${limit} bytes).`
        : error.type === 'entity.parse.failed'
          ? 'The body is not valid JSON.'
          : 'The body could not be read.';
    logger.warn(
      { requestId: req.id, path: req.path, status, type: error.type },
      'PBG callback body refused',
    );
    res.status(status).json({ result: false, error: message });
  };
}
