import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { startJwksServer, type JwksServer } from './helpers/jwks.js';
import {
  batchWork,
  BATCH_QUERY,
  cacheResults,
  metric,
  post,
  TERMINAL_BATCH,
} from './helpers/response-cache.js';

/**
 * The response cache with token verification on (AUTH_JWKS_URL): an answer stored for one
 * token is never served to another, nor to its own token once that token would be refused.
 */
describe('response cache with token verification', () => {
  let jwks: JwksServer;
  let app: TestApp;
  // The app judges token expiry and cache entries by this clock; a case moves it on instead of
  // waiting. The signing server keeps real time, so tokens are stamped from the real clock.
  let skewMs = 0;
  const now = () => Date.now() + skewMs;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const read = (token?: string) =>
    post(app, BATCH_QUERY, { id: TERMINAL_BATCH }, token ? bearer(token) : {});
  const expiredEvictions = () =>
    metric(app, 'payments_response_cache_evictions_total', { reason: 'expired' });

  beforeAll(async () => {
    jwks = await startJwksServer();
    // Keys trusted for a minute without a refetch: entries for a token live no longer.
    app = await startTestApp({ ...jwks.env, AUTH_JWKS_CACHE_MAX_AGE_MS: '60000' }, { now });
  });
  beforeEach(() => {
    skewMs = 0;
  });
  afterAll(async () => {
    await app?.close();
    await jwks?.close();
  });

  it('should keep each token to its own entry, and refuse what a token may not see', async () => {
    const alice = await jwks.sign({ scope: 'payments:read', expiresIn: 300 });
    const bob = await jwks.sign({ scope: 'payments:read', expiresIn: 301 });
    expect((await read(alice)).status).toBe(200);
    const work = await batchWork(app);
    const results = await cacheResults(app);
    expect((await read(alice)).status).toBe(200); // hit
    expect(await batchWork(app)).toEqual(work);
    const bobs = await read(bob); // another token: executes, and is verified
    expect(bobs.status).toBe(200);
    expect((await batchWork(app)).loaderBatches).toBe(work.loaderBatches + 1);
    expect(await cacheResults(app)).toMatchObject({
      hit: results.hit + 1,
      miss: results.miss + 1,
    });
    // Tokens that may not read: refused, although the same query's answer is cached.
    const writer = await jwks.sign({ scope: 'payments:write' });
    const forbidden = await read(writer);
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await read();
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await read(`${alice.slice(0, -4)}AAAA`);
    expect(forged.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    for (const refused of [forbidden, anonymous, forged])
      expect(refused.body).not.toContain('EXPIRED');
  });

  it('should answer 401 once the token has expired, though its answer was cached', async () => {
    const token = await jwks.sign({ scope: 'payments:read', expiresIn: 120 });
    await read(token);
    const cached = await read(token);
    expect(cached.status).toBe(200);
    // Never kept past the token: its max-age is at most what the token has left.
    const maxAge = Number(/max-age=(\d+)/.exec(cached.headers.get('cache-control')!)![1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(120);
    const results = await cacheResults(app);
    const evicted = await expiredEvictions();

    skewMs += 3_600_000; // an hour on: the token expired long ago
    const refused = await read(token);
    expect(refused.status).toBe(401);
    expect(refused.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(refused.json.errors?.[0]?.message).toMatch(/expired/);
    expect(await cacheResults(app)).toEqual({ ...results, miss: results.miss + 1 });
    expect(await expiredEvictions()).toBe(evicted + 1);
  });

  it('should verify a valid token again once the keys that verified it are due a refetch', async () => {
    const token = await jwks.sign({ scope: 'payments:read', expiresIn: 3600 });
    await read(token);
    const work = await batchWork(app);
    expect((await read(token)).status).toBe(200); // hit
    expect(await batchWork(app)).toEqual(work);
    const evicted = await expiredEvictions();

    skewMs += 120_000; // past AUTH_JWKS_CACHE_MAX_AGE_MS, token still valid
    const again = await read(token);
    expect(again.status).toBe(200);
    expect((await batchWork(app)).loaderBatches).toBe(work.loaderBatches + 1);
    expect(await expiredEvictions()).toBe(evicted + 1);
  });
});
