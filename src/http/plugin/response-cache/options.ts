import type { Request } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../../../logger.js';

/** The operation a cached response answered, for the metrics and log lines of a hit. */
export interface CachedOperation {
  /** The operation name the request gave (unbounded: the observer bounds it). */
  name: string | null;
  type: 'query';
}

/**
 * A response cache in front of Apollo Server's request pipeline (see index.ts for what is
 * stored, for how long, and under which key).
 */
export interface ResponseCacheOptions {
  /**
   * Most responses kept; past it the least recently used goes.
   * @default as RESPONSE_CACHE_MAX_ENTRIES (src/config/)
   */
  maxEntries?: number;
  /**
   * Most bytes kept: bodies, keys and headers together; past it the least recently used go.
   * A response larger than this on its own is not stored.
   * @default as RESPONSE_CACHE_MAX_BYTES
   */
  maxBytes?: number;
  /**
   * Request headers (lower case) that are part of the key besides the method, the URL and the
   * body: every header that can change what a caller may see. `authorization` keeps callers
   * apart (and bounds an entry by its token's `exp`); `accept` picks the response's
   * content type.
   * @default ['authorization', 'accept']
   */
  varyHeaders?: string[];
  /**
   * With token verification on, the longest an entry stored for one token is served without
   * verifying that token again: AUTH_JWKS_CACHE_MAX_AGE_MS, so a signing key withdrawn from
   * the key set stops opening cached answers no later than it would stop opening fresh ones.
   * @default undefined (bounded by the token's own `exp` only)
   */
  maxTokenReuseMs?: number;
  /** Where its metrics are registered (`payments_response_cache_*`). @default none */
  registry?: Registry;
  /** @default none (no log lines) */
  logger?: Logger;
  /**
   * Told of every request answered from the cache, so the operation pipeline ends the operation
   * Apollo never ran (its end hooks: metrics, log scope, span; `answered` in
   * src/http/pipeline/http.ts). @default none
   */
  onHit?: (req: Request, operation: CachedOperation) => void;
  /** The clock entries expire by. @default Date.now */
  now?: () => number;
}
