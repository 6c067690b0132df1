import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const INBOUND_ID = /^[\w.:-]{1,128}$/;

declare module 'express-serve-static-core' {
  interface Request {
    /** Correlates this request's log lines; echoed in the `x-request-id` response header. */
    id: string;
  }
}

/** Takes a router's `x-request-id` when it is sane, otherwise mints one. */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const inbound = req.get('x-request-id');
  req.id = inbound && INBOUND_ID.test(inbound) ? inbound : randomUUID();
  res.setHeader('x-request-id', req.id);
  next();
}
