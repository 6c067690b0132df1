import type {
  ApolloServerPlugin,
  BaseContext,
  GraphQLRequestContextWillSendResponse,
} from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';
import { stateOf, stateOfContext } from '../../pipeline/http.js';
import type { RequestState } from '../../pipeline/index.js';
import { ResponseLru, type CachedResponse } from './lru.js';
import { cacheKeyOf, lookupSize, tokenExpiry } from './request.js';
import { createResponseCacheMetrics } from './metrics.js';
import type { CachedOperation, ResponseCacheOptions } from './options.js';
import { VARIABLES } from '../../../config/variables.js';

export type { CachedOperation, ResponseCacheOptions } from './options.js';

/** What a miss learns from Apollo Server about its own response (see `plugin`). */
interface Verdict {
  /** Set only when the response may be stored: a query, answered without errors. */
  cacheable?: { maxAge: number; operation: CachedOperation };
}

export interface ResponseCache {
  /** express.json's `verify`: keeps the exact body bytes the key is made of. */
  captureBody(req: Request, res: Response, body: Buffer): void;
  /**
   * On /graphql after the router secret, the body parser and the observability scope, before
   * the pipeline's parse hook: answers a hit at once; on a miss, lets the request go on to Apollo
   * Server and stores the response if Apollo marked it cacheable.
   */
  middleware: RequestHandler;
  /** For Apollo Server's `plugins`: tells a miss whether its response may be stored. */
  plugin: ApolloServerPlugin;
}

/** Where a miss keeps its verdict on the request's pipeline state (no AsyncLocalStorage). */
const VERDICT = Symbol('responseCache.verdict');

/** Where captureBody leaves the body's bytes on the request (a property: cheaper than a WeakMap). */
const RAW_BODY = Symbol('responseCache.rawBody');
type WithBody = Request & { [RAW_BODY]?: Buffer };

/** Bytes an entry costs beyond its body, key and header values (the object, the Map slot). */
const ENTRY_OVERHEAD_BYTES = 256;
const CACHEABLE = /^max-age=(\d+), (public|private)$/;

/**
 * Repeated reads of what cannot change, answered before Apollo Server's request pipeline: no
 * parse, no validation, no plugins, no execution, no store read, no serialisation — the bytes
 * Apollo sent the first time, replayed. Only the router secret, the body parser, the request
 * id, the log line and the metrics run for a hit.
 *
 * Stored: only a response Apollo marked cacheable itself — status 200, a query, no errors (no
 * partial results), a single result (not incremental delivery), and a `Cache-Control` with
 * max-age > 0, which the schema's hints give only to terminal batches and final purchases.
 * Kept: at most that max-age, never past the `exp` of the token it was stored for (nor, with
 * token verification, past `maxTokenReuseMs`), and within `maxEntries` / `maxBytes` (LRU).
 * A hit says how long it may still be kept: its `Cache-Control` max-age is what is left.
 * Keyed: see `cacheKeyOf` (request.ts) — no caller is ever answered with another's response.
 */
export function createResponseCache(options: ResponseCacheOptions = {}): ResponseCache {
  const now = options.now ?? (() => Date.now());
  const varyHeaders = (options.varyHeaders ?? ['authorization', 'accept']).map((h) =>
    h.toLowerCase(),
  );
  const metrics = createResponseCacheMetrics(options.registry, () => lru);
  const lru = new ResponseLru(
    options.maxEntries ?? VARIABLES.RESPONSE_CACHE_MAX_ENTRIES.default,
    options.maxBytes ?? VARIABLES.RESPONSE_CACHE_MAX_BYTES.default,
    (reason) => metrics.evicted(reason),
  );

  const keep = (
    keyOf: () => string,
    size: number,
    req: Request,
    res: Response,
    body: string,
    verdict: Verdict,
  ) => {
    if (verdict.cacheable === undefined) return;
    const key = keyOf();
    const entry = entryOf(key, req, res, body, verdict, now(), options.maxTokenReuseMs);
    if (entry) entry.size = size;
    if (entry && lru.set(key, entry)) {
      options.logger?.debug(
        { maxAge: Math.floor((entry.expiresAt - now()) / 1000), bytes: entry.bytes },
        'response cached',
      );
    }
  };

  return {
    captureBody(req, _res, body) {
      (req as WithBody)[RAW_BODY] = body;
    },
    middleware(req, res, next) {
      const rawBody = (req as WithBody)[RAW_BODY];
      const size = lookupSize(req, rawBody);
      if (size === undefined) {
        metrics.request('bypass');
        next();
        return;
      }
      // Hashed only when an entry of this size exists: most misses are reads that are never
      // cacheable, and their key is needed only if their answer turns out to be.
      const keyOf = () => cacheKeyOf(req, rawBody, varyHeaders);
      const key = lru.mayHold(size) ? keyOf() : undefined;
      const at = now();
      const entry = key === undefined ? undefined : lru.get(key, at);
      if (entry !== undefined) {
        metrics.request('hit');
        const state = stateOf(req);
        if (state) state.cache = 'hit';
        options.onHit?.(req, entry.operation);
        replay(res, entry, at);
        return;
      }
      metrics.request('miss');
      const state = stateOf(req);
      // Without the pipeline's state Apollo cannot hand the verdict over: never stored.
      if (!state) {
        next();
        return;
      }
      state.cache = 'miss';
      const verdict: Verdict = {};
      state[VERDICT] = verdict;
      storeWhenSent(res, (body) => keep(() => key ?? keyOf(), size, req, res, body, verdict));
      next();
    },
    plugin: verdictPlugin((state) => state?.[VERDICT] as Verdict | undefined),
  };
}

/**
 * Apollo Server's own view of a miss's response, recorded for the store step: the operation is
 * a query, nothing failed, the body is one result with status 200, and the cache policy the
 * hints add up to is cacheable. The `Cache-Control` header (computed from the same policy by
 * Apollo's cache-control plugin) is checked again when the bytes are stored.
 */
function verdictPlugin(
  verdictOf: (state: RequestState | undefined) => Verdict | undefined,
): ApolloServerPlugin {
  return {
    // The verdict is recorded at once; Apollo's plugin contract is what asks for the promises.
    requestDidStart({ contextValue }) {
      const verdict = verdictOf(stateOfContext(contextValue));
      if (verdict === undefined) return Promise.resolve(); // not looked up: never stored
      return Promise.resolve({
        willSendResponse(context) {
          const cacheable = cacheableOf(context);
          if (cacheable) verdict.cacheable = cacheable;
          return Promise.resolve();
        },
      });
    },
  };
}

/** What a response lets the cache keep: an error-free 200 query answer under a cacheable policy. */
function cacheableOf({
  operation,
  operationName,
  response,
  overallCachePolicy,
  errors,
}: GraphQLRequestContextWillSendResponse<BaseContext>): Verdict['cacheable'] {
  if (operation?.operation !== 'query' || (errors?.length ?? 0) > 0) return undefined;
  if (response.body.kind !== 'single' || response.body.singleResult.errors) return undefined;
  if (response.http.status !== undefined && response.http.status !== 200) return undefined;
  const policy = overallCachePolicy.policyIfCacheable();
  if (policy === null) return undefined;
  return { maxAge: policy.maxAge, operation: { name: operationName ?? null, type: 'query' } };
}

/**
 * Calls `store` with the body Apollo's express integration sends (`res.send` of one string,
 * after every header is set). Streamed answers (incremental delivery) never call it.
 */
function storeWhenSent(res: Response, store: (body: string) => void): void {
  const send = res.send;
  res.send = function (this: Response, body?: unknown) {
    res.send = send;
    const sent = send.call(this, body);
    if (typeof body === 'string') store(body);
    return sent;
  } as Response['send'];
}

/** The entry to store for a sent response, or undefined when it must not be stored. */
function entryOf(
  key: string,
  req: Request,
  res: Response,
  body: string,
  verdict: Verdict,
  now: number,
  maxTokenReuseMs: number | undefined,
): CachedResponse | undefined {
  const cacheable = verdict.cacheable;
  if (cacheable === undefined || res.statusCode !== 200) return undefined;
  const header = res.getHeader('cache-control');
  const match = typeof header === 'string' ? CACHEABLE.exec(header) : null;
  const contentType = res.getHeader('content-type');
  if (match === null || typeof contentType !== 'string') return undefined;
  const maxAge = Math.min(Number(match[1]), cacheable.maxAge);
  let expiresAt = now + maxAge * 1000;
  const authorization = req.headers.authorization;
  if (authorization) {
    expiresAt = Math.min(expiresAt, tokenExpiry(authorization) ?? Infinity);
    if (maxTokenReuseMs !== undefined) expiresAt = Math.min(expiresAt, now + maxTokenReuseMs);
  }
  if (expiresAt - now < 1000) return undefined;
  const etag = res.getHeader('etag');
  const bytes = Buffer.from(body, 'utf8');
  return {
    body: bytes,
    contentType,
    etag: typeof etag === 'string' ? etag : undefined,
    scope: match[2] as 'public' | 'private',
    expiresAt,
    operation: cacheable.operation,
    bytes: bytes.length + key.length + contentType.length + ENTRY_OVERHEAD_BYTES,
    size: 0,
  };
}

/** Writes a stored response; its max-age is what is left of its lifetime. */
function replay(res: Response, entry: CachedResponse, now: number): void {
  res.statusCode = 200;
  res.setHeader('content-type', entry.contentType);
  res.setHeader(
    'cache-control',
    `max-age=${Math.floor((entry.expiresAt - now) / 1000)}, ${entry.scope}`,
  );
  if (entry.etag !== undefined) res.setHeader('etag', entry.etag);
  res.setHeader('content-length', entry.body.length);
  res.end(entry.body);
}
