import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChillrSimulator } from '../src/sandbox/chillr/index.js';
import { loadConfig } from '../src/config.js';
import { startChillrReads, type ChillrReads } from './helpers/chillr-reads.js';
import { isoDateInDays, problemsOf, startTestApp, type TestApp } from './helpers/app.js';

/**
 * CHILLR_STATUS_CACHE_MS: a non-terminal batch status may be served again for that long after
 * the read that brought it was sent. What it may hide (a payment made inside the window), what
 * it never keeps (an unknown batch, a failure), and where its window ends, by the clock the
 * service is given — counted in calls the simulator saw, never timed.
 */

const BATCH = 'query ($id: ID!) { collectBatch(id: $id) { id status summary { pending paid } } }';
const PENDING = { status: 'ACTIVE', summary: { pending: 1, paid: 0 } };

const input = (name: string) => ({
  name,
  expiryDate: isoDateInDays(30),
  customers: [{ msisdn: '9447741462', amount: '200' }],
});

describe('CHILLR_STATUS_CACHE_MS configuration', () => {
  it('should default to 1000 and accept 0 (every read asks Chillr)', () => {
    expect(loadConfig({}).chillr.statusCacheMs).toBe(1000);
    expect(loadConfig({ CHILLR_STATUS_CACHE_MS: '0' }).chillr.statusCacheMs).toBe(0);
  });

  it('should refuse a window past a minute or not a number, naming the variable and the value', () => {
    for (const value of ['60001', '-1', '1s']) {
      expect(problemsOf({ CHILLR_STATUS_CACHE_MS: value })).toEqual([
        `CHILLR_STATUS_CACHE_MS must be a whole number from 0 to 60000; got "${value}". Unset it for the default 1000.`,
      ]);
    }
  });
});

describe('CHILLR_STATUS_CACHE_MS over GraphQL', () => {
  let app: TestApp;
  const chillr = () => app.sandbox.chillr!;

  beforeAll(async () => {
    app = await startTestApp({ CHILLR_STATUS_CACHE_MS: '60000' });
  });
  afterAll(async () => {
    await app?.close();
  });
  beforeEach(() => chillr().resetCalls());

  /** Creates a batch; `read` also asks for its status in the same mutation (one status call). */
  async function newBatch(name: string, read = false): Promise<string> {
    const selection = read ? 'batchId batch { status }' : 'batchId';
    const created = await app.raw(
      `mutation ($input: CreateCollectBatchInput!) { createCollectBatch(input: $input) { ${selection} } }`,
      { input: input(name) },
    );
    return (created.json.data as { createCollectBatch: { batchId: string } }).createCollectBatch
      .batchId;
  }

  async function cacheCount(result: 'hit' | 'miss'): Promise<number> {
    const text = await (await fetch(app.metricsUrl)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('payments_cache_requests_total{') &&
          l.includes('cache="batch_status_recent"') &&
          l.includes(`result="${result}"`),
      );
    return Number(line?.split(' ').at(-1) ?? 0);
  }

  it('should serve a pending status again inside the window, a payment made meanwhile included', async () => {
    const id = await newBatch('cached', true);
    expect(chillr().calls.checkCollectStatus).toBe(1);
    const hits = await cacheCount('hit');
    for (let i = 0; i < 5; i++) {
      expect((await app.raw(BATCH, { id })).json.data).toEqual({
        collectBatch: { id, ...PENDING },
      });
    }
    // The staleness README documents: the customer paid, the window has not ended, so readers
    // still see the status Chillr gave when it was last asked.
    chillr().setPaymentStatus(id, '9447741462', 'paid');
    expect((await app.raw(BATCH, { id })).json.data).toEqual({ collectBatch: { id, ...PENDING } });
    expect(chillr().calls.checkCollectStatus).toBe(1);
    expect(await cacheCount('hit')).toBe(hits + 6);
  });

  it('should not keep an unknown batch: it may exist at the next read', async () => {
    for (let i = 0; i < 3; i++) {
      const read = await app.raw(BATCH, { id: 'cccccccccccccccccccccccc' });
      expect(read.json.data).toEqual({ collectBatch: null });
    }
    expect(chillr().calls.checkCollectStatus).toBe(3);
  });

  it('should not keep a failure: the next read asks Chillr, and its answer is kept', async () => {
    const id = await newBatch('fails first');
    chillr().injectFault({ endpoint: 'check_collect_status', kind: 'garbage', times: 1 });
    const failed = await app.raw(BATCH, { id });
    expect(failed.json.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect((await app.raw(BATCH, { id })).json.data).toEqual({ collectBatch: { id, ...PENDING } });
    expect((await app.raw(BATCH, { id })).json.data).toEqual({ collectBatch: { id, ...PENDING } });
    expect(chillr().calls.checkCollectStatus).toBe(2);
  });

  it('should hide an expiry inside the window like any other change', async () => {
    const id = await newBatch('expires', true);
    chillr().expireBatch(id);
    chillr().resetCalls();
    expect((await app.raw(BATCH, { id })).json.data).toEqual({ collectBatch: { id, ...PENDING } });
    expect(chillr().calls.checkCollectStatus).toBe(0);
  });
});

describe('CollectService status cache window', () => {
  let reads: ChillrReads;
  let sim: ChillrSimulator;
  let now = Date.parse('2026-05-01T10:00:00Z');

  const service = (statusCacheMs: number) =>
    reads.service({ statusCacheMs, now: () => new Date(now) });

  beforeAll(async () => {
    reads = await startChillrReads();
    sim = reads.sim;
  });
  afterAll(() => reads?.close());
  const newBatch = () => reads.newBatch('9447741462');

  it('should serve a status for CHILLR_STATUS_CACHE_MS after its read was sent, then ask again', async () => {
    const batchId = await newBatch();
    const collect = service(1000);
    await collect.getBatch(batchId);
    now += 999;
    await collect.getBatch(batchId);
    expect(sim.calls.checkCollectStatus).toBe(1);
    now += 1;
    expect((await collect.getBatch(batchId))?.status).toBe('ACTIVE');
    expect(sim.calls.checkCollectStatus).toBe(2);
    // The new read starts a new window.
    now += 500;
    await collect.getBatch(batchId);
    expect(sim.calls.checkCollectStatus).toBe(2);
  });

  it('should keep a terminal status in the store once the window has passed', async () => {
    const batchId = await newBatch();
    const collect = service(1000);
    expect((await collect.getBatch(batchId))?.status).toBe('ACTIVE');
    sim.expireBatch(batchId);
    now += 1000;
    expect((await collect.getBatch(batchId))?.status).toBe('EXPIRED');
    now += 86_400_000;
    expect((await collect.getBatch(batchId))?.status).toBe('EXPIRED');
    expect(sim.calls.checkCollectStatus).toBe(2);
  });

  it('should ask Chillr on every read at 0', async () => {
    const batchId = await newBatch();
    const collect = service(0);
    for (let i = 0; i < 3; i++) await collect.getBatch(batchId);
    expect(sim.calls.checkCollectStatus).toBe(3);
  });
});
