import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, ServiceError } from '../src/errors.js';
import { guardStore } from '../src/store/guard.js';
import { openStore, type Store } from '../src/store/index.js';
import { BUSY_CODE, SqliteReader } from '../src/store/sqlite-reader.js';
import { tempDir } from './helpers/process.js';
import { holdSqliteLock, type HeldLock } from './helpers/sqlite-lock.js';

/**
 * The SQLite store while another process holds the file's lock (a real child process with its
 * own connection): calls wait for it asynchronously — timers and other work go on — and a call
 * still waiting after the busy timeout rejects, which the service reports as STORE_UNAVAILABLE,
 * having written nothing. Also: `writeTogether` is one transaction. docs/sqlite.md.
 */

const BUSY_TIMEOUT_MS = 1000;
let dir: string;
let remove: () => Promise<void>;
let files = 0;
const locks: HeldLock[] = [];
const stores: Store[] = [];

beforeAll(async () => {
  ({ dir, remove } = await tempDir('sqlite-lock-'));
});
afterEach(async () => {
  for (const lock of locks.splice(0)) lock.kill();
  await Promise.all(stores.splice(0).map((store) => store.close()));
});
afterAll(() => remove?.());

async function freshStore(): Promise<{ store: Store; file: string }> {
  const file = join(dir, `store-${++files}.db`);
  const store = await openStore(`sqlite:${file}`, { sqliteBusyTimeoutMs: BUSY_TIMEOUT_MS });
  stores.push(store);
  return { store, file };
}

async function hold(file: string, begin?: string): Promise<HeldLock> {
  const lock = await holdSqliteLock(file, begin === undefined ? {} : { begin });
  locks.push(lock);
  return lock;
}

/**
 * How `pending` settles, and what the event loop did meanwhile: how often a 10 ms interval
 * fired, and whether a 100 ms timer fired before `pending` settled. A synchronous wait for the
 * lock would starve both until the call gave up.
 */
async function whileWaiting<T>(pending: Promise<T>) {
  const startedAt = Date.now();
  let ticks = 0;
  let timerFiredFirst: boolean | undefined;
  const interval = setInterval(() => ticks++, 10);
  const timer = setTimeout(() => (timerFiredFirst ??= true), 100);
  try {
    const outcome = await pending.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    timerFiredFirst ??= false;
    return { outcome, ticks, timerFiredFirst, waitedMs: Date.now() - startedAt };
  } finally {
    clearInterval(interval);
    clearTimeout(timer);
  }
}

function rawRows(file: string, sql: string): unknown[] {
  const raw = new DatabaseSync(file);
  try {
    return raw.prepare(sql).all();
  } finally {
    raw.close();
  }
}

describe('the SQLite store behind another process holding the write lock', () => {
  it('should reject a claim with STORE_UNAVAILABLE after the busy timeout, with timers firing meanwhile and nothing written', async () => {
    const { store, file } = await freshStore();
    const lock = await hold(file);
    const seen = await whileWaiting(
      guardStore(() => store.setIfAbsent('idempotency', 'k1', { claim: 1 }, 60_000)),
    );
    expect(seen.outcome.ok).toBe(false);
    const error = (seen.outcome as { error: unknown }).error as ServiceError;
    expect(error).toBeInstanceOf(ServiceError);
    expect(error.code).toBe(ErrorCode.STORE_UNAVAILABLE);
    expect((error.cause as { code?: string }).code).toBe(BUSY_CODE);
    expect((error.cause as Error).message).toContain(`busy timeout (${BUSY_TIMEOUT_MS} ms)`);
    // It waited for the lock (a lower bound only: it cannot have given up sooner) …
    expect(seen.waitedMs).toBeGreaterThanOrEqual(BUSY_TIMEOUT_MS - 50);
    // … and the event loop went on: the 100 ms timer before the answer, and the 10 ms interval
    // most of the second (a synchronous wait gives 0 and false).
    expect(seen.timerFiredFirst).toBe(true);
    expect(seen.ticks).toBeGreaterThan(20);
    // Reads are not held up by the writer's lock under WAL.
    expect(await store.namespace('idempotency').get('k1')).toBeUndefined();
    await lock.release();
    expect(rawRows(file, "SELECT key FROM keyv WHERE key LIKE 'idempotency:%'")).toEqual([]);
    expect(await store.setIfAbsent('idempotency', 'k1', { claim: 2 }, 60_000)).toBe(true);
  });

  it('should refuse every write queued behind the lock once its own busy timeout passed, and run the next one after release', async () => {
    const { store, file } = await freshStore();
    const lock = await hold(file);
    const keyv = store.namespace('queued');
    const writes = [
      keyv.set('a', 1),
      keyv.delete('b'),
      store.setIfAbsent('queued', 'c', 3),
      store.stateLog.commit([{ key: 'p1', expectedVersion: 0, value: 'v', open: true, log: 'l' }]),
      store.stateLog.takeOpen(10),
      store.writeTogether({
        keys: [{ namespace: 'queued', key: 'd', value: 4 }],
        stateLog: [{ key: 'p2', expectedVersion: 0, value: 'v', open: false, log: 'l' }],
      }),
    ];
    const seen = await whileWaiting(Promise.allSettled(writes));
    const results = (seen.outcome as { value: PromiseSettledResult<unknown>[] }).value;
    expect(results.map((r) => r.status)).toEqual(writes.map(() => 'rejected'));
    for (const r of results) {
      expect(((r as PromiseRejectedResult).reason as { code?: string }).code).toBe(BUSY_CODE);
    }
    expect(seen.timerFiredFirst).toBe(true);
    await lock.release();
    expect(rawRows(file, 'SELECT key FROM keyv')).toEqual([]);
    expect(rawRows(file, 'SELECT key FROM ledger_state')).toEqual([]);
    expect(rawRows(file, 'SELECT seq FROM change_log')).toEqual([]);
    await keyv.set('a', 1);
    expect(await keyv.get('a')).toBe(1);
  });

  it('should complete a write whose lock is released before its busy timeout', async () => {
    const file = join(dir, `store-${++files}.db`);
    const store = await openStore(`sqlite:${file}`, { sqliteBusyTimeoutMs: 30_000 });
    stores.push(store);
    const lock = await hold(file);
    const claim = store.setIfAbsent('idempotency', 'late', 1, 60_000);
    await lock.release();
    expect(await claim).toBe(true);
    expect(await store.namespace('idempotency').get('late')).toBe(1);
  });
});

describe('a read that meets a lock (SqliteReader)', () => {
  // Under WAL readers meet no lock from writers; a rollback-journal file held with BEGIN
  // EXCLUSIVE by another process blocks them, as a WAL index being recovered would.
  function journalFile(): string {
    const file = join(dir, `journal-${++files}.db`);
    const raw = new DatabaseSync(file);
    raw.exec("PRAGMA journal_mode = DELETE; CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x')");
    raw.close();
    return file;
  }

  it('should try again on timers and reject with the busy code after the busy timeout', async () => {
    const file = journalFile();
    const reader = new SqliteReader(file, BUSY_TIMEOUT_MS);
    try {
      await hold(file, 'BEGIN EXCLUSIVE');
      const seen = await whileWaiting(reader.read((q) => q('SELECT v FROM t').all()));
      expect(seen.outcome.ok).toBe(false);
      expect(((seen.outcome as { error: unknown }).error as { code?: string }).code).toBe(
        BUSY_CODE,
      );
      expect(seen.waitedMs).toBeGreaterThanOrEqual(BUSY_TIMEOUT_MS - 50);
      expect(seen.timerFiredFirst).toBe(true);
      expect(seen.ticks).toBeGreaterThan(20);
    } finally {
      reader.close();
    }
  });

  it('should answer once the lock is released within the busy timeout', async () => {
    const file = journalFile();
    const reader = new SqliteReader(file, 30_000);
    try {
      const lock = await hold(file, 'BEGIN EXCLUSIVE');
      const read = reader.read((q) => q('SELECT v FROM t').all());
      await lock.release();
      expect(await read).toEqual([{ v: 'x' }]);
    } finally {
      reader.close();
    }
  });
});

describe('SQLite writeTogether', () => {
  it('should keep nothing when it fails midway: keyv rows and earlier state log writes roll back', async () => {
    const { store, file } = await freshStore();
    // A real failure inside the transaction, after the keyv rows and the first state log write:
    // a trigger refuses the second log entry.
    const raw = new DatabaseSync(file);
    raw.exec(`CREATE TRIGGER refuse_boom BEFORE INSERT ON change_log WHEN NEW.value LIKE '%boom%'
              BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    raw.close();
    await store.namespace('together').set('before', 'kept');
    const attempt = store.writeTogether({
      keys: [
        { namespace: 'together', key: 'a', value: { n: 1 } },
        { namespace: 'together', key: 'before', value: 'overwritten' },
      ],
      stateLog: [
        { key: 't1', expectedVersion: 0, value: 'first', open: true, log: 'fine' },
        { key: 't2', expectedVersion: 0, value: 'second', open: false, log: 'boom' },
      ],
    });
    await expect(attempt).rejects.toThrow(/injected failure/);
    const keyv = store.namespace('together');
    expect(await keyv.get('a')).toBeUndefined();
    expect(await keyv.get('before')).toBe('kept');
    expect((await store.stateLog.getMany(['t1', 't2'])).size).toBe(0);
    expect(await store.stateLog.head()).toBeUndefined();
    expect(await store.stateLog.takeOpen(10)).toEqual([]);
    // The same writes without the refused entry all land.
    const results = await store.writeTogether({
      keys: [{ namespace: 'together', key: 'a', value: { n: 1 } }],
      stateLog: [{ key: 't1', expectedVersion: 0, value: 'first', open: true, log: 'fine' }],
    });
    expect(results).toEqual([{ ok: true, version: 1, cursor: expect.any(String) }]);
    expect(await keyv.get('a')).toEqual({ n: 1 });
  });
});
