import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChillrSimulator } from '../src/sandbox/chillr/index.js';
import { startTestChillr, startTestApp, type TestApp } from './helpers/app.js';

/**
 * The bulkhead and circuit breaker in front of each upstream (src/upstream/guard.ts), over
 * real HTTP: a proxy in front of the Chillr simulator counts the calls that reach it and how
 * many are in flight at once.
 */

interface CountingProxy {
  url: string;
  /** Requests that reached the upstream. */
  calls: number;
  /** Most requests in flight at the same moment. */
  maxInFlight: number;
  /** When set, every request is answered 500 without reaching the upstream (a dead upstream). */
  dead: boolean;
  close(): Promise<void>;
}

async function countingProxy(target: string): Promise<CountingProxy> {
  let inFlight = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (proxy.dead) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}');
        return;
      }
      proxy.calls += 1;
      inFlight += 1;
      proxy.maxInFlight = Math.max(proxy.maxInFlight, inFlight);
      fetch(`${target}${req.url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.concat(chunks),
      })
        .then(async (upstream) => {
          const text = await upstream.text();
          res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text);
        })
        .catch(() => res.destroy())
        .finally(() => (inFlight -= 1));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: CountingProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: 0,
    maxInFlight: 0,
    dead: false,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return proxy;
}

const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on CollectBatch { id status } }
}`;
const BATCH = `query ($id: ID!) { collectBatch(id: $id) { id status } }`;
const KNOWN_BATCH = '5743fcb263686923fc0d0000'; // seeded: the document's status sample

describe('upstream guard', () => {
  let sim: ChillrSimulator;
  let proxy: CountingProxy;
  let app: TestApp;

  beforeAll(async () => {
    sim = await startTestChillr();
    proxy = await countingProxy(sim.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await sim?.close();
  });
  afterEach(async () => {
    proxy.dead = false;
    proxy.calls = 0;
    proxy.maxInFlight = 0;
    await app?.close();
  });

  it('should keep 2,000 distinct _entities lookups within UPSTREAM_MAX_CONCURRENCY in flight', async () => {
    // Over the default GRAPHQL_MAX_ENTITIES on purpose: the bulkhead must hold past any limit.
    app = await startTestApp({
      CHILLR_BASE_URL: proxy.url,
      UPSTREAM_MAX_CONCURRENCY: '8',
      GRAPHQL_MAX_ENTITIES: '2000',
    });
    const representations = Array.from({ length: 2000 }, (_, i) => ({
      __typename: 'CollectBatch',
      id: `ffffffffffffffff${i.toString(16).padStart(8, '0')}`,
    }));
    const result = await app.raw(ENTITIES, { representations });
    expect(result.json.errors).toBeUndefined();
    expect((result.json.data as { _entities: unknown[] })._entities).toHaveLength(2000);
    expect(proxy.calls).toBe(2000);
    expect(proxy.maxInFlight).toBeLessThanOrEqual(8);
    // The proxy does see concurrency when there is some: the bound is the guard's, not luck.
    expect(proxy.maxInFlight).toBeGreaterThan(1);
  });

  it('should open the breaker on a dead upstream, fail fast without reaching it, and close once it answers', async () => {
    app = await startTestApp({
      CHILLR_BASE_URL: proxy.url,
      UPSTREAM_BREAKER_THRESHOLD: '3',
      UPSTREAM_BREAKER_HALF_OPEN_MS: '200',
    });
    proxy.dead = true;
    // One read is three attempts (two retries): three consecutive failures open the circuit.
    const failing = await app.raw(BATCH, { id: KNOWN_BATCH });
    expect(failing.json.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');

    // While open: refused at once, nothing reaches the upstream, no retries.
    for (let i = 0; i < 5; i++) {
      const refused = await app.raw(BATCH, { id: KNOWN_BATCH });
      expect(refused.json.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        refusedBy: 'breaker',
      });
      expect(refused.json.errors?.[0]?.message).toMatch(/circuit breaker open/);
    }
    expect(app.logs.some((l) => l.includes('circuit breaker for Chillr is open'))).toBe(true);

    // The upstream comes back: after the half-open delay one probe goes through and closes it.
    proxy.dead = false;
    const callsBefore = proxy.calls;
    let served: Awaited<ReturnType<TestApp['raw']>> | undefined;
    for (let i = 0; i < 200 && !served; i++) {
      const attempt = await app.raw(BATCH, { id: KNOWN_BATCH });
      if (attempt.json.errors === undefined) served = attempt;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(served?.json.data).toEqual({ collectBatch: { id: KNOWN_BATCH, status: 'EXPIRED' } });
    expect(proxy.calls).toBe(callsBefore + 1);
    expect(app.logs.some((l) => l.includes('circuit breaker for Chillr is closed'))).toBe(true);
  });

  it('should refuse a money move at once while the breaker is open, sending nothing', async () => {
    app = await startTestApp({
      CHILLR_BASE_URL: proxy.url,
      UPSTREAM_BREAKER_THRESHOLD: '1',
      UPSTREAM_BREAKER_HALF_OPEN_MS: '60000',
    });
    proxy.dead = true;
    await app.raw(BATCH, { id: KNOWN_BATCH }); // opens the circuit
    const create = `mutation ($key: String!) {
      createCollectBatch(input: {
        name: "Breaker bill", expiryDate: "2099-01-01",
        customers: [{ msisdn: "9447741462", amount: "10" }], idempotencyKey: $key
      }) { batchId }
    }`;
    const refused = await app.raw(create, { key: 'breaker-key' });
    expect(refused.json.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      refusedBy: 'breaker',
    });
    expect(proxy.calls).toBe(0);
    expect(sim.calls.collect).toBe(0);
  });
});
