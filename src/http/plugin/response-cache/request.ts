import { hash } from 'node:crypto';
import type { Request } from 'express';

/** A router asking for a federated trace (ftv1): the answer must come from a real execution. */
const TRACE_HEADER = 'apollo-federation-include-trace';
/** Apollo Server's CSRF prevention: one of these, non-empty, lets a "simple" request through. */
const PREFLIGHT_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight'] as const;
/** Content types a browser may send cross-site without a preflight. */
const SIMPLE_CONTENT_TYPES = new Set([
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'text/plain',
]);

/**
 * Whether a request may be answered from the cache at all: undefined when it must go to Apollo
 * Server whatever is cached (not a GET or a JSON POST, a router asking for a trace, or a
 * request Apollo's CSRF prevention would refuse, so a cached answer is never a way around it);
 * otherwise its {@link sizeOf}.
 */
export function lookupSize(req: Request, rawBody: Buffer | undefined): number | undefined {
  if (req.method === 'POST') {
    // Only express.json's bodies are captured: a JSON content type, which CSRF prevention
    // lets through. Anything else goes to Apollo, which refuses or answers it.
    if (rawBody === undefined) return undefined;
  } else if (req.method !== 'GET' || !passesCsrfPrevention(req)) {
    return undefined;
  }
  if (req.headers[TRACE_HEADER] !== undefined) return undefined;
  return sizeOf(req, rawBody);
}

/**
 * A number two requests with the same {@link cacheKeyOf} always share: a POST's body length,
 * or (negative) a GET's URL length — the part of the key that carries the operation. The
 * cache counts its entries by it, so a request of a size nothing stored has is a miss
 * without its key being hashed (the common miss: a read that is never cacheable).
 */
function sizeOf(req: Request, rawBody: Buffer | undefined): number {
  return rawBody === undefined ? -1 - req.originalUrl.length : rawBody.length;
}

/**
 * The cache key of a request {@link lookupSize} let through. A SHA-256 over everything that
 * can change the answer or who may see it: the method, the URL (a GET's query string is its
 * operation), each of `varyHeaders` (the Authorization header above all) and the exact body
 * bytes. Two requests that differ in any of them — another token, another variable, another
 * alias, even another key order — have different keys. Fields are separated by NUL, which
 * neither a header value nor a URL can contain, and the body comes last, so no two requests
 * share one preimage. Hashing keeps tokens out of the cache's memory and every key at 44
 * characters.
 */
export function cacheKeyOf(
  req: Request,
  rawBody: Buffer | undefined,
  varyHeaders: readonly string[],
): string {
  let material = `${req.method}\0${req.originalUrl}`;
  for (const name of varyHeaders) {
    const value = req.headers[name];
    material += value === undefined ? '\0' : `\0${Array.isArray(value) ? value.join(', ') : value}`;
  }
  // latin1 maps each byte to one character and back: the exact bytes, in a string that
  // crypto.hash takes in one call (half the time of a createHash chain, measured: 1.1 µs).
  material += `\0${rawBody === undefined ? '' : rawBody.toString('latin1')}`;
  return hash('sha256', material, 'base64');
}

/**
 * Apollo Server's rule (its `preventCsrf`), never more lenient: a content type that is not one
 * a browser sends without a preflight passes; otherwise a non-empty preflight header must be
 * there. An unparsable or empty content type, which Apollo lets through, sends the request to
 * Apollo instead — a miss is always safe.
 */
function passesCsrfPrevention(req: Request): boolean {
  const type = req.headers['content-type'];
  if (type !== undefined) {
    const essence = type.split(';', 1)[0]!.trim().toLowerCase();
    if (/^[\w.+-]+\/[\w.+-]+$/.test(essence) && !SIMPLE_CONTENT_TYPES.has(essence)) return true;
  }
  return PREFLIGHT_HEADERS.some((name) => {
    const value = req.headers[name];
    return typeof value === 'string' && value.length > 0;
  });
}

/**
 * When the bearer token of `authorization` expires (ms since the epoch), read from its `exp`
 * claim without verifying it: the entry it bounds was stored from a response the token was
 * verified for (with AUTH_JWKS_URL; without it the router vouched for the caller). Undefined
 * for no token, an opaque one, or one without `exp`.
 */
export function tokenExpiry(authorization: string | string[] | undefined): number | undefined {
  if (typeof authorization !== 'string') return undefined;
  const match = /^Bearer\s+[\w-]+\.([\w-]+)\.[\w-]+\s*$/i.exec(authorization);
  if (!match) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8')) as unknown;
    const exp = (claims as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
