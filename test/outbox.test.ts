import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { Outbox } from '../src/outbox.js';
import { openStore, type Store } from '../src/store/index.js';
import { CreateCollectBatchDocument } from './generated/graphql.js';
import { isoDateInDays, startTestApp } from './helpers/app.js';
import { FaultyStore } from './helpers/faults/store.js';

/**
 * The outbox on its own (drain order, supersession) and at shutdown: an outcome the store
 * never took is logged at error level with the key and the upstream id — the operator's last
 * record of money that moved.
 */

function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

describe('Outbox', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  async function faultyMemoryStore() {
    const faulty = new FaultyStore();
    const real = await openStore('memory://');
    stores.push(real);
    return { faulty, store: faulty.wrap(real), real };
  }

  it('should store at once when the store takes the write', async () => {
    const { store, real } = await faultyMemoryStore();
    const outbox = new Outbox({ store, logger: capturedLogger().logger });
    expect(await outbox.set('batches', 'b1', { n: 1 }, 60_000)).toBe(true);
    expect(outbox.depth).toBe(0);
    expect(await real.namespace('batches').get('b1')).toEqual({ n: 1 });
  });

  it('should keep a refused write, show it, and store it once the store recovers', async () => {
    const { faulty, store, real } = await faultyMemoryStore();
    const outbox = new Outbox({ store, logger: capturedLogger().logger, initialDelayMs: 5 });
    faulty.fail({ ops: ['set'] });
    expect(await outbox.set('idempotency', 'k', { state: 'done' }, 60_000)).toBe(false);
    expect(outbox.peek('idempotency', 'k')).toEqual({
      kind: 'set',
      value: { state: 'done' },
      ttlMs: 60_000,
    });
    expect(outbox.depth).toBe(1);
    faulty.recover();
    await outbox.drained();
    expect(outbox.depth).toBe(0);
    expect(outbox.peek('idempotency', 'k')).toBeUndefined();
    expect(await real.namespace('idempotency').get('k')).toEqual({ state: 'done' });
  });

  it('should let a newer write to a key supersede one still waiting', async () => {
    const { faulty, store, real } = await faultyMemoryStore();
    const outbox = new Outbox({ store, logger: capturedLogger().logger, initialDelayMs: 5 });
    faulty.fail({ ops: ['set'], times: 1 });
    expect(await outbox.set('idempotency', 'k', 'old', 60_000)).toBe(false);
    // The store is back: the newer outcome lands at once, and the old one must not follow it.
    expect(await outbox.set('idempotency', 'k', 'new', 60_000)).toBe(true);
    await outbox.drained();
    expect(await real.namespace('idempotency').get('k')).toBe('new');
  });

  it('should log each write the store never took when it closes', async () => {
    const { faulty, store } = await faultyMemoryStore();
    const { lines, logger } = capturedLogger();
    const outbox = new Outbox({ store, logger, initialDelayMs: 5, maxDelayMs: 20 });
    faulty.fail({ ops: ['set'] });
    await outbox.set('idempotency', 'createCollectBatch:k1', {}, 60_000, {
      key: 'k1',
      upstreamId: 'batch-1',
    });
    await outbox.close(100);
    const unwritten = lines.filter(
      (l) => l.msg === 'outbox: shutting down with a write the store never took',
    );
    expect(unwritten).toEqual([
      expect.objectContaining({ level: 50, key: 'k1', upstreamId: 'batch-1' }),
    ]);
  });
});

describe('shutdown with an outcome the store never took', () => {
  it('should log the batch id at error level under its key', async () => {
    const faulty = new FaultyStore();
    const app = await startTestApp({}, { wrapStore: faulty.wrap });
    // Chillr accepts the batch; then the store refuses every write, now and at shutdown.
    faulty.fail({ ops: ['set'] });
    const created = await app.gql(CreateCollectBatchDocument, {
      input: {
        name: 'Shutdown bill',
        expiryDate: isoDateInDays(30),
        customers: [{ msisdn: '9447741462', amount: '10' }],
        idempotencyKey: 'shutdown-key',
      },
    });
    const batchId = created.data!.createCollectBatch.batchId;
    expect(batchId).toBeTruthy();
    expect(app.sandbox.chillr!.calls.collect).toBe(1);
    await app.close();
    const lost = app.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l.level === 50 && l.key === 'shutdown-key');
    expect(lost).toEqual([expect.objectContaining({ upstreamId: batchId })]);
  });
});
