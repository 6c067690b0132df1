import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemsOf, startTestApp, type TestApp } from './helpers/app.js';
import {
  batchWork,
  BATCH_QUERY,
  cacheResults,
  createActiveBatch,
  createTerminalBatch,
  ENTITIES_QUERY,
  metric,
  post,
  TERMINAL_BATCH,
} from './helpers/response-cache.js';

/**
 * The response cache in front of Apollo Server (src/http/plugin/response-cache/): what it
 * answers without executing, what it never stores, and what keeps callers apart. Every claim
 * is a count: Chillr calls, DataLoader batches, batch-status lookups, cache results.
 */
describe('response cache', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('should answer a repeated terminal read with the same bytes, executing nothing', async () => {
    const first = await post(app, BATCH_QUERY, { id: TERMINAL_BATCH });
    expect(first.json.data).toMatchObject({ collectBatch: { status: 'EXPIRED' } });
    const work = await batchWork(app);
    const results = await cacheResults(app);
    const byName = { operation_name: 'Batch' };
    const operations = await metric(app, 'payments_graphql_operations_total', byName);
    const timed = await metric(app, 'payments_graphql_operation_duration_seconds_count', byName);

    const second = await post(app, BATCH_QUERY, { id: TERMINAL_BATCH }, { 'x-request-id': 'r-2' });
    expect(second.status).toBe(200);
    expect(second.body).toBe(first.body);
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(second.headers.get('cache-control')).toMatch(/^max-age=(86400|86399), private$/);
    expect(second.headers.get('x-request-id')).toBe('r-2');
    expect(await batchWork(app)).toEqual(work); // no Chillr call, no loader, no store read
    expect(await cacheResults(app)).toEqual({ ...results, hit: results.hit + 1 });
    // The operation still counts, under its name, and is timed.
    expect(await metric(app, 'payments_graphql_operations_total', byName)).toBe(operations + 1);
    expect(await metric(app, 'payments_graphql_operation_duration_seconds_count', byName)).toBe(
      timed + 1,
    );
  });

  it('should write the request line of a hit at debug, with its request id and cache: hit', async () => {
    await post(app, BATCH_QUERY, { id: TERMINAL_BATCH });
    const reply = await post(app, BATCH_QUERY, { id: TERMINAL_BATCH }, { 'x-request-id': 'hit-1' });
    expect(reply.status).toBe(200);
    const lines = app.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.msg === 'request' && l.requestId === 'hit-1');
    expect(line).toMatchObject({ level: 20, cache: 'hit', status: 200, operationName: 'Batch' });
    const miss = lines.find((l) => l.msg === 'request' && l.cache === 'miss');
    expect(miss).toMatchObject({ level: 30 });
  });

  it('should execute every read of an active batch and store none', async () => {
    const active = await createActiveBatch(app, 'pending reads');
    const entries = await metric(app, 'payments_response_cache_entries');
    const work = await batchWork(app);
    const results = await cacheResults(app);
    for (let i = 0; i < 3; i++) {
      const reply = await post(app, BATCH_QUERY, { id: active });
      expect(reply.json.data).toMatchObject({ collectBatch: { status: 'ACTIVE' } });
    }
    const after = await batchWork(app);
    expect(after.upstream - work.upstream).toBe(3);
    expect(after.loaderBatches - work.loaderBatches).toBe(3);
    expect(await cacheResults(app)).toEqual({ ...results, miss: results.miss + 3 });
    expect(await metric(app, 'payments_response_cache_entries')).toBe(entries);
  });

  it('should never store an answer with an error, even beside a terminal batch', async () => {
    const active = await createActiveBatch(app, 'failing reads');
    const query = `query Partial($a: ID!, $b: ID!) { a: collectBatch(id: $a) { status } b: collectBatch(id: $b) { status } }`;
    const entries = await metric(app, 'payments_response_cache_entries');
    const work = await batchWork(app);
    for (let i = 0; i < 2; i++) {
      app.sandbox.chillr!.injectFault({
        endpoint: 'check_collect_status',
        kind: 'http500',
        times: 3,
      });
      const reply = await post(app, query, { a: TERMINAL_BATCH, b: active });
      expect(reply.json.data).toEqual({ a: { status: 'EXPIRED' }, b: null });
      expect(reply.json.errors).toHaveLength(1);
    }
    // Both executed (two loader batches); nothing was stored.
    expect((await batchWork(app)).loaderBatches - work.loaderBatches).toBe(2);
    expect(await metric(app, 'payments_response_cache_entries')).toBe(entries);
    // Nor a request GraphQL refuses.
    const invalid = '{ collectBatch(id: "5743fcb263686923fc0d0000") { nope } }';
    for (let i = 0; i < 2; i++) expect((await post(app, invalid)).status).toBe(400);
    expect(await metric(app, 'payments_response_cache_entries')).toBe(entries);
  });

  it('should keep other variables, aliases and Accept headers apart', async () => {
    const other = await createTerminalBatch(app, 'second terminal');
    const aliased = `query Batch($id: ID!) { mine: collectBatch(id: $id) { id status } }`;
    const requests: Array<[string, Record<string, unknown>, Record<string, string>]> = [
      [BATCH_QUERY, { id: TERMINAL_BATCH }, {}],
      [BATCH_QUERY, { id: other }, {}],
      [aliased, { id: TERMINAL_BATCH }, {}],
      [BATCH_QUERY, { id: TERMINAL_BATCH }, { accept: 'application/graphql-response+json' }],
    ];
    const firsts: string[] = [];
    for (const [query, variables, headers] of requests) {
      firsts.push((await post(app, query, variables, headers)).body);
    }
    expect(new Set(firsts).size).toBe(3); // the Accept variant has the same bytes…
    const results = await cacheResults(app);
    for (const [i, [query, variables, headers]] of requests.entries()) {
      const again = await post(app, query, variables, headers);
      expect(again.body).toBe(firsts[i]);
      // …but its own content type.
      expect(again.headers.get('content-type')).toBe(
        headers.accept
          ? 'application/graphql-response+json; charset=utf-8'
          : 'application/json; charset=utf-8',
      );
    }
    expect(JSON.parse(firsts[1]!).data.collectBatch.id).toBe(other);
    expect(JSON.parse(firsts[2]!).data).toHaveProperty('mine');
    expect(await cacheResults(app)).toEqual({ ...results, hit: results.hit + requests.length });
  });

  it('should keep callers with different Authorization headers apart without token verification', async () => {
    await post(app, BATCH_QUERY, { id: TERMINAL_BATCH });
    const work = await batchWork(app);
    const results = await cacheResults(app);
    for (const authorization of ['Bearer opaque-token-a', 'Bearer opaque-token-b']) {
      await post(app, BATCH_QUERY, { id: TERMINAL_BATCH }, { authorization }); // executes
      await post(app, BATCH_QUERY, { id: TERMINAL_BATCH }, { authorization }); // hit
    }
    expect((await batchWork(app)).loaderBatches - work.loaderBatches).toBe(2);
    expect(await cacheResults(app)).toEqual({
      ...results,
      hit: results.hit + 2,
      miss: results.miss + 2,
    });
  });

  it('should cache repeated _entities calls over immutable entities', async () => {
    const r = [
      { __typename: 'CollectBatch', id: TERMINAL_BATCH },
      { __typename: 'GroupPurchase', purchaseId: 'ABC_20003' },
    ];
    const first = await post(app, ENTITIES_QUERY, { r });
    expect(first.json.errors, first.body).toBeUndefined();
    const pbgQueries = app.sandbox.pbg!.calls.query;
    const work = await batchWork(app);
    const second = await post(app, ENTITIES_QUERY, { r });
    expect(second.body).toBe(first.body);
    expect(app.sandbox.pbg!.calls.query).toBe(pbgQueries);
    expect(await batchWork(app)).toEqual(work);
  });

  it('should apply CSRF prevention to a cached GET, and answer a GET that passes it', async () => {
    const search = new URLSearchParams({
      query: BATCH_QUERY,
      variables: JSON.stringify({ id: TERMINAL_BATCH }),
    });
    const url = `${app.url}/graphql?${search}`;
    const preflight = { 'apollo-require-preflight': 'true' };
    const first = await fetch(url, { headers: preflight });
    expect(first.status).toBe(200);
    const body = await first.text();
    const results = await cacheResults(app);
    const second = await fetch(url, { headers: preflight });
    expect(await second.text()).toBe(body);
    expect(await cacheResults(app)).toMatchObject({ hit: results.hit + 1 });
    // The same GET without the preflight header, or as a simple request: refused as before.
    for (const headers of [{}, { 'content-type': 'text/plain' }] as Record<string, string>[]) {
      const refused = await fetch(url, { headers });
      expect(refused.status).toBe(400);
      expect(await refused.text()).toMatch(/Cross-Site Request Forgery/);
    }
    expect(await cacheResults(app)).toMatchObject({ hit: results.hit + 1 });
  });

  it('should execute a request for a federated trace every time', async () => {
    await post(app, BATCH_QUERY, { id: TERMINAL_BATCH });
    const work = await batchWork(app);
    for (let i = 0; i < 2; i++) {
      const traced = await post(
        app,
        BATCH_QUERY,
        { id: TERMINAL_BATCH },
        { 'apollo-federation-include-trace': 'ftv1' },
      );
      expect(traced.json.extensions).toHaveProperty('ftv1');
    }
    expect((await batchWork(app)).loaderBatches - work.loaderBatches).toBe(2);
  });
});

describe('response cache behind the router secret', () => {
  const SECRET = 'router-secret-for-cache-0123456789';
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ROUTER_SECRET: SECRET });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('should refuse a request without the secret even when its answer is cached', async () => {
    const withSecret = { 'router-authorization': SECRET };
    await post(app, BATCH_QUERY, { id: TERMINAL_BATCH }, withSecret);
    const cached = await post(app, BATCH_QUERY, { id: TERMINAL_BATCH }, withSecret);
    expect(cached.status).toBe(200);
    const results = await cacheResults(app);
    for (const headers of [{}, { 'router-authorization': 'wrong' }] as Record<string, string>[]) {
      const refused = await post(app, BATCH_QUERY, { id: TERMINAL_BATCH }, headers);
      expect(refused.status).toBe(401);
      expect(refused.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(refused.body).not.toContain('EXPIRED');
    }
    expect(await cacheResults(app)).toEqual(results);
  });
});

describe('response cache bounds', () => {
  let app: TestApp;
  afterAll(async () => {
    await app?.close();
  });

  it('should hold at most RESPONSE_CACHE_MAX_ENTRIES, evicting the least recently used', async () => {
    app = await startTestApp({ RESPONSE_CACHE_MAX_ENTRIES: '2' });
    const query = (alias: string) =>
      `query { ${alias}: collectBatch(id: "${TERMINAL_BATCH}") { id } }`;
    for (const alias of ['a', 'b', 'c']) await post(app, query(alias));
    expect(await metric(app, 'payments_response_cache_entries')).toBe(2);
    expect(
      await metric(app, 'payments_response_cache_evictions_total', { reason: 'capacity' }),
    ).toBe(1);
    const results = await cacheResults(app);
    await post(app, query('c')); // kept
    await post(app, query('b')); // kept
    await post(app, query('a')); // evicted first: executes again, and evicts c
    expect(await cacheResults(app)).toEqual({
      ...results,
      hit: results.hit + 2,
      miss: results.miss + 1,
    });
    expect(
      await metric(app, 'payments_response_cache_evictions_total', { reason: 'capacity' }),
    ).toBe(2);
  });

  it('should hold at most RESPONSE_CACHE_MAX_BYTES', async () => {
    await app.close();
    app = await startTestApp({ RESPONSE_CACHE_MAX_BYTES: '65536' });
    // Thirty aliases of the same batch: one answer of ~12 KB; seven of them pass 64 KiB.
    const query = (prefix: string) =>
      `query { ${Array.from({ length: 30 }, (_, i) => `${prefix}${i}: collectBatch(id: "${TERMINAL_BATCH}") { id status rawStatus nonChillrCustomers payments { msisdn status transactionId message } summary { total paid pending expired notGenerated } }`).join(' ')} }`;
    const prefixes = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    for (const prefix of prefixes) {
      const reply = await post(app, query(prefix));
      expect(reply.json.errors, reply.body.slice(0, 300)).toBeUndefined();
      expect(reply.body.length).toBeGreaterThan(10_000);
    }
    const bytes = await metric(app, 'payments_response_cache_bytes');
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(65_536);
    const entries = await metric(app, 'payments_response_cache_entries');
    expect(entries).toBeLessThan(prefixes.length);
    expect(
      await metric(app, 'payments_response_cache_evictions_total', { reason: 'capacity' }),
    ).toBe(prefixes.length - entries);
  });

  it('should execute every read with RESPONSE_CACHE_ENABLED=false, hints unchanged', async () => {
    await app.close();
    app = await startTestApp({ RESPONSE_CACHE_ENABLED: 'false' });
    await post(app, BATCH_QUERY, { id: TERMINAL_BATCH });
    const work = await batchWork(app);
    const again = await post(app, BATCH_QUERY, { id: TERMINAL_BATCH });
    expect(again.headers.get('cache-control')).toBe('max-age=86400, private');
    expect((await batchWork(app)).loaderBatches - work.loaderBatches).toBe(1);
    expect(await metric(app, 'payments_response_cache_requests_total')).toBe(0);
  });
});

describe('response cache configuration', () => {
  it('should name the variable and the value it refuses', () => {
    expect(problemsOf({ RESPONSE_CACHE_ENABLED: 'yes' })).toEqual([
      expect.stringMatching(/^RESPONSE_CACHE_ENABLED must be true or false; got "yes"/),
    ]);
    expect(problemsOf({ RESPONSE_CACHE_MAX_ENTRIES: '0' })).toEqual([
      expect.stringMatching(
        /^RESPONSE_CACHE_MAX_ENTRIES must be a whole number from 1 .*; got "0"/,
      ),
    ]);
    // Checked even when the cache is off, so turning it back on cannot surprise.
    expect(
      problemsOf({ RESPONSE_CACHE_ENABLED: 'false', RESPONSE_CACHE_MAX_BYTES: '1kb' }),
    ).toEqual([
      expect.stringMatching(/^RESPONSE_CACHE_MAX_BYTES must be a whole number .*; got "1kb"/),
    ]);
  });
});
