import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../logger.js';
import { merchantAuthMatches } from './merchant-auth.js';

/**
 * Bytes of a PayByGroup callback body within which `merchant_auth` must appear. PayByGroup's
 * document puts it first (`{"merchant_auth": "…", "events": [ … ]}`); 4 KiB leaves room for
 * whitespace and a few short members before it. An unauthenticated body costs at most this
 * buffer (plus one socket read) before it is refused.
 */
export const MERCHANT_AUTH_PREFIX_BYTES = 4096;

export interface PbgBodyOptions {
  merchantAuth: string;
  /** PBG_CALLBACK_MAX_BYTES. */
  limitBytes: number;
  logger: Logger;
}

const MERCHANT_AUTH_MEMBER = /"merchant_auth"\s*:\s*("(?:[^"\\]|\\.)*")/;

/**
 * Reads a PBG callback body as a stream and refuses it as early as possible: a declared
 * length over the limit before any byte is read (413); a body whose first
 * {@link MERCHANT_AUTH_PREFIX_BYTES} bytes carry no `merchant_auth`, or the wrong one, as soon
 * as those bytes are in (401, the rest never read, the connection closed); only then is the
 * rest read (up to the limit) and parsed. The handlers check `merchant_auth` again on the
 * parsed body, where a duplicate key has the last word.
 */
export function authenticatedBody(options: PbgBodyOptions): RequestHandler {
  const { limitBytes, logger } = options;
  return (req: Request, res: Response, next: NextFunction) => {
    if (Number(req.headers['content-length']) > limitBytes) {
      refuse(req, res, 413, tooLarge(limitBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let authenticated = false;
    let settled = false;
    const finish = (act: () => void) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      act();
    };
    const authOf = (complete: boolean): boolean | undefined => {
      const head = Buffer.concat(chunks).subarray(0, MERCHANT_AUTH_PREFIX_BYTES).toString('utf8');
      const literal = MERCHANT_AUTH_MEMBER.exec(head)?.[1];
      if (literal !== undefined)
        return merchantAuthMatches(parseString(literal), options.merchantAuth);
      return complete || size >= MERCHANT_AUTH_PREFIX_BYTES ? false : undefined;
    };
    const unauthenticated = () =>
      finish(() => {
        logger.warn(
          { requestId: req.id, path: req.path, bytes: size },
          'PBG callback with a wrong merchant_auth, refused before parsing its body',
        );
        refuse(req, res, 401, { result: false });
      });
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) return finish(() => refuse(req, res, 413, tooLarge(limitBytes)));
      chunks.push(chunk);
      if (authenticated) return;
      const verdict = authOf(false);
      if (verdict === false) unauthenticated();
      else if (verdict === true) authenticated = true;
    };
    const onEnd = () => {
      if (!authenticated && authOf(true) !== true) return unauthenticated();
      finish(() => {
        try {
          req.body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        } catch {
          res.status(400).json({ result: false, error: 'The body is not valid JSON.' });
          return;
        }
        next();
      });
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.once('error', (error) => finish(() => next(error)));
  };
}

function tooLarge(limitBytes: number) {
  return {
    result: false,
    error: `The body is larger than this endpoint accepts (PBG_CALLBACK_MAX_BYTES=${limitBytes} bytes).`,
  };
}

/**
 * Answers and closes the connection (`connection: close`: Node ends the socket once the answer
 * is written) instead of reading the rest of the body; what arrives meanwhile is discarded
 * unbuffered.
 */
function refuse(req: Request, res: Response, status: number, body: unknown): void {
  req.resume();
  res.setHeader('connection', 'close');
  res.status(status).json(body);
}

function parseString(literal: string): string | undefined {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return undefined;
  }
}
