import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { Outbox } from '../src/idempotency/outbox.js';
import { OutboxJournal, waiting } from '../src/idempotency/outbox-journal.js';
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

describe('the outbox journal', () => {
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  async function storeOnce() {
    const faulty = new FaultyStore();
    const real = await openStore('memory://');
    stores.push(real);
    return { faulty, store: faulty.wrap(real), real };
  }

  it('should keep a refused group on disk and let the next process store it, in one step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const { faulty, store, real } = await storeOnce();
    const first = new OutboxJournal({ dir, logger: capturedLogger().logger });
    const dying = new Outbox({ store, logger: capturedLogger().logger, journal: first });
    await dying.start();
    faulty.fail({ ops: ['set'] });
    const group = [
      {
        namespace: 'idempotency',
        key: 'op:k',
        value: { state: 'done', batchId: 'b-1' },
        ttlMs: 60_000,
      },
      { namespace: 'batches', key: 'b-1', value: { id: 'b-1', name: 'Bill' }, ttlMs: 60_000 },
    ];
    expect(await dying.writeAll(group, { upstreamId: 'b-1' })).toBe(false);
    // On disk before the answer: the file holds the group.
    expect(waiting(readFileSync(first.path, 'utf8'))).toHaveLength(1);
    // The process dies: its heartbeat stops, the file stays (no close, no drain).
    await first.close(true);
    dying.stopRetrying();
    faulty.recover();

    // The next process, on the same directory, adopts the file and stores the group.
    const { lines, logger } = capturedLogger();
    const next = new OutboxJournal({ dir, logger, staleMs: 0 });
    const outbox = new Outbox({ store, logger, journal: next, initialDelayMs: 5 });
    await outbox.start();
    await outbox.drained();
    expect(await real.namespace('idempotency').get('op:k')).toEqual({
      state: 'done',
      batchId: 'b-1',
    });
    expect(await real.namespace('batches').get('b-1')).toEqual({ id: 'b-1', name: 'Bill' });
    expect(
      lines.some((l) => l.msg === 'outbox journal: adopting writes a stopped process left waiting'),
    ).toBe(true);
    expect(readdirSync(dir).filter((name) => name !== basename(next.path))).toEqual([]);
    await outbox.close();
    expect(readdirSync(dir), 'nothing waits: no file').toEqual([]);
  });

  it("should show another live process's waiting write for a key, and stop once the store took it", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const { faulty, store } = await storeOnce();
    const journalA = new OutboxJournal({ dir, logger: capturedLogger().logger });
    const outboxA = new Outbox({ store, logger: capturedLogger().logger, journal: journalA });
    const journalB = new OutboxJournal({ dir, logger: capturedLogger().logger });
    const outboxB = new Outbox({ store, logger: capturedLogger().logger, journal: journalB });
    await Promise.all([outboxA.start(), outboxB.start()]);
    faulty.fail({ ops: ['set'] });
    const done = { state: 'done', fingerprint: 'f', result: { batchId: 'b-7' } };
    expect(await outboxA.set('idempotency', 'op:k', done, 60_000)).toBe(false);

    // B never saw the write in memory; it reads it from A's journal, and only for that key.
    expect(outboxB.peek('idempotency', 'op:k')).toBeUndefined();
    expect(await outboxB.peekShared('idempotency', 'op:k')).toEqual({ kind: 'set', value: done });
    expect(await outboxB.peekShared('idempotency', 'op:other')).toBeUndefined();
    expect(await outboxB.peekShared('batches', 'op:k')).toBeUndefined();

    // Once the store takes it, A's journal marks it done and B finds nothing any more.
    faulty.recover();
    await outboxA.drained();
    expect(await outboxB.peekShared('idempotency', 'op:k')).toBeUndefined();
    await Promise.all([outboxA.close(), outboxB.close()]);
  });

  it('should not replay a group the store took, nor one a newer write superseded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const { faulty, store, real } = await storeOnce();
    const journal = new OutboxJournal({ dir, logger: capturedLogger().logger });
    const outbox = new Outbox({
      store,
      logger: capturedLogger().logger,
      journal,
      initialDelayMs: 5,
    });
    await outbox.start();
    faulty.fail({ ops: ['set'], times: 1 });
    expect(await outbox.set('idempotency', 'k', 'old', 60_000)).toBe(false);
    expect(await outbox.set('idempotency', 'k', 'new', 60_000)).toBe(true);
    await outbox.drained();
    expect(waiting(readFileSync(journal.path, 'utf8'))).toEqual([]);
    expect(await real.namespace('idempotency').get('k')).toBe('new');
    await outbox.close();
  });

  it('should skip a line torn by a crash mid-append', () => {
    const line = JSON.stringify({
      id: 1,
      writes: [{ namespace: 'n', key: 'k', value: 1 }],
      meta: {},
    });
    expect(waiting(`${line}\n{"id":2,"writes":[{"na`)).toHaveLength(1);
    expect(waiting(`${line}\n{"done":1}\n`)).toEqual([]);
  });
});
