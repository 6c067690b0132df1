import { Counter, Gauge, type Registry } from 'prom-client';
import type { EvictionReason } from './lru.js';

export type LookupResult = 'hit' | 'miss' | 'bypass';

export interface ResponseCacheMetrics {
  request(result: LookupResult): void;
  evicted(reason: EvictionReason): void;
}

/**
 * `payments_response_cache_*` on the service's registry (created here, beside the cache they
 * describe, so the cache needs no change elsewhere to grow a metric). Without a registry the
 * cache counts only for `stats()`.
 */
export function createResponseCacheMetrics(
  registry: Registry | undefined,
  cache: () => { size: number; bytes: number },
): ResponseCacheMetrics {
  if (registry === undefined) return { request: () => undefined, evicted: () => undefined };
  const requests = new Counter({
    name: 'payments_response_cache_requests_total',
    help: 'GraphQL HTTP requests by response-cache result: hit (answered from the cache), miss (executed), bypass (not looked up: neither a GET nor a JSON POST, a trace request, or a request CSRF prevention refuses).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const evictions = new Counter({
    name: 'payments_response_cache_evictions_total',
    help: 'Responses dropped from the response cache: capacity (RESPONSE_CACHE_MAX_ENTRIES / _MAX_BYTES) or expired (max-age or token expiry reached).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const result of ['hit', 'miss', 'bypass'] as const) requests.inc({ result }, 0);
  for (const reason of ['capacity', 'expired'] as const) evictions.inc({ reason }, 0);
  new Gauge({
    name: 'payments_response_cache_entries',
    help: 'Responses held by the response cache.',
    registers: [registry],
    collect() {
      this.set(cache().size);
    },
  });
  new Gauge({
    name: 'payments_response_cache_bytes',
    help: 'Bytes the response cache counts against RESPONSE_CACHE_MAX_BYTES.',
    registers: [registry],
    collect() {
      this.set(cache().bytes);
    },
  });
  return {
    request: (result) => requests.inc({ result }),
    evicted: (reason) => evictions.inc({ reason }),
  };
}
