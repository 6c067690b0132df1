import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBackwards, isFinal } from '../src/purchase/lifecycle.js';
import { GroupPurchaseStatus as S } from '../src/pbg/types.js';
import { compareCursors, openStore, type Store } from '../src/store/index.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from './helpers/postgres.js';
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.js';

/** The state log's contract, on each engine's own structures. */
const engines: Array<{ name: string; skip?: string; open: () => Promise<[Store, () => void]> }> = [
  { name: 'memory', open: async () => [await openStore('memory://'), () => undefined] },
  {
    name: 'SQLite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'state-log-'));
      const store = await openStore(`sqlite:${join(dir, 'state-log.db')}`);
      return [store, () => rmSync(dir, { recursive: true, force: true })];
    },
  },
  { name: 'Redis', skip: redisSkipReason(), open: openRedisStore },
  { name: 'PostgreSQL', skip: postgresSkipReason(), open: openPostgresStore },
];

let postgres: PostgresServer | undefined;
async function openPostgresStore(): Promise<[Store, () => void]> {
  postgres ??= await startPostgres();
  return [await openStore(await postgres.createDatabase()), () => undefined];
}
afterAll(async () => postgres?.close());

let redis: RedisServer | undefined;
async function openRedisStore(): Promise<[Store, () => void]> {
  redis ??= await startRedisServer();
  await redis.flush();
  return [await openStore(redis.url), () => undefined];
}
afterAll(async () => redis?.close());

for (const engine of engines) {
  describe.skipIf(engine.skip !== undefined)(`the state log on ${engine.name}`, () => {
    let store: Store;
    let cleanup: () => void;
    beforeAll(async () => {
      [store, cleanup] = await engine.open();
    });
    afterAll(async () => {
      await store?.close();
      cleanup?.();
    });

    it('should apply one of two writes decided on the same version, and log only that one', async () => {
      const stateLog = store.stateLog;
      const [first] = await stateLog.commit([
        { key: 'k', expectedVersion: 0, value: { n: 1 }, open: true, log: { n: 1 } },
      ]);
      expect(first).toMatchObject({ ok: true, version: 1 });
      const results = await Promise.all(
        [2, 3].map((n) =>
          stateLog.commit([{ key: 'k', expectedVersion: 1, value: { n }, open: true, log: { n } }]),
        ),
      );
      expect(results.flat().filter((r) => r.ok)).toHaveLength(1);
      const state = (await stateLog.getMany<{ n: number }>(['k', 'absent'])).get('k')!;
      expect(state.version).toBe(2);
      const { entries } = await stateLog.readLog<{ n: number }>(undefined, 100);
      expect(entries.map((e) => e.value.n)).toEqual([1, state.value.n]);
      expect(state.cursor).toBe(entries[1]!.cursor);
      expect(compareCursors(entries[0]!.cursor, entries[1]!.cursor)).toBe(-1);
      expect(await stateLog.head()).toBe(entries[1]!.cursor);
    });

    it('should page the log after a cursor and tell a trimmed cursor from a quiet log', async () => {
      const stateLog = store.stateLog;
      const writes = Array.from({ length: 5 }, (_, i) => ({
        key: `p${i}`,
        expectedVersion: 0,
        value: i,
        open: false,
        log: i,
      }));
      const committed = await stateLog.commit(writes);
      const cursors = committed.map((r) => (r.ok ? r.cursor! : ''));
      const page = await stateLog.readLog<number>(cursors[1], 2);
      expect(page).toEqual({
        expired: false,
        entries: [
          { cursor: cursors[2], value: 2 },
          { cursor: cursors[3], value: 3 },
        ],
      });
      expect((await stateLog.readLog(cursors[4], 10)).entries).toEqual([]);
      // Everything passes its retention: the log is empty, and old cursors are expired...
      expect(await stateLog.trim(-1000)).toBeGreaterThanOrEqual(5);
      expect(await stateLog.readLog(cursors[1], 10)).toEqual({ expired: true, entries: [] });
      // ... but the newest trimmed one is not: nothing after it was lost.
      expect(await stateLog.readLog(cursors[4], 10)).toEqual({ expired: false, entries: [] });
      expect(await stateLog.head()).toBe(cursors[4]);
      // New cursors still come after every old one.
      const [next] = await stateLog.commit([
        { key: 'p0', expectedVersion: 1, value: 9, open: false, log: 9 },
      ]);
      expect(next!.ok && compareCursors(next!.cursor!, cursors[4]!)).toBe(1);
      expect(stateLog.isCursor(cursors[0]!)).toBe(true);
      expect(stateLog.isCursor('not-a-cursor')).toBe(false);
    });

    it('should read only the entries whose time lies in a window, in cursor order after a cursor', async () => {
      const stateLog = store.stateLog;
      const base = 1_900_000_000_000;
      // Times out of cursor order on purpose: a window selects on `at`, the page is in log order.
      const ats = [base + 50, base + 10, base + 30, base + 100, base + 30];
      const committed = await stateLog.commit(
        ats.map((at, i) => ({
          key: `w${i}`,
          expectedVersion: 0,
          value: i,
          open: false,
          log: i,
          at,
        })),
      );
      const cursors = committed.map((r) => (r.ok ? r.cursor! : ''));
      const window = { from: base + 10, to: base + 100 };
      const all = await stateLog.readLog<number>(undefined, 100, window);
      expect(all.entries.map((e) => e.value)).toEqual([0, 1, 2, 4]);
      const page = await stateLog.readLog<number>(cursors[1], 2, window);
      expect(page.entries).toEqual([
        { cursor: cursors[2], value: 2 },
        { cursor: cursors[4], value: 4 },
      ]);
      const open = await stateLog.readLog<number>(undefined, 100, { from: base + 30 });
      expect(open.entries.map((e) => e.value)).toEqual([0, 2, 3, 4]);
      const before = await stateLog.readLog<number>(undefined, 100, { from: base, to: base + 30 });
      expect(before.entries.map((e) => e.value)).toEqual([1]);
    });

    it('should store keyv writes and state log writes together, a moved version skipped alone', async () => {
      await store.stateLog.commit([{ key: 't1', expectedVersion: 0, value: 'old', open: false }]);
      const results = await store.writeTogether({
        keys: [
          { namespace: 'together', key: 'a', value: { n: 1 }, ttlMs: 60_000 },
          { namespace: 'together', key: 'b', value: null },
        ],
        stateLog: [
          { key: 't1', expectedVersion: 0, value: 'lost', open: false, log: 'lost' },
          { key: 't2', expectedVersion: 0, value: 'new', open: false, log: 'new' },
        ],
      });
      expect(results[0]).toEqual({ ok: false });
      expect(results[1]).toMatchObject({ ok: true, version: 1 });
      const keyv = store.namespace('together');
      expect(await keyv.get('a')).toEqual({ n: 1 });
      expect(await keyv.getRaw('b')).toMatchObject({ value: null });
      const states = await store.stateLog.getMany<string>(['t1', 't2']);
      expect(states.get('t1')?.value).toBe('old');
      expect(states.get('t2')?.value).toBe('new');
      // A claim taken through setIfAbsent and a later record written together stay one key.
      expect(await store.setIfAbsent('together', 'a', 'other', 60_000)).toBe(false);
    });

    it('should rotate through open keys, least recently checked first, and drop closed ones', async () => {
      const stateLog = store.stateLog;
      await stateLog.commit(
        ['o1', 'o2', 'o3'].map((key) => ({ key, expectedVersion: 0, value: key, open: true })),
      );
      const open = async () => new Set(await stateLog.takeOpen(100));
      const all = await open();
      for (const key of ['o1', 'o2', 'o3']) expect(all.has(key)).toBe(true);
      const [closed] = await stateLog.commit([
        { key: 'o2', expectedVersion: 1, value: 'done', open: false },
      ]);
      expect(closed).toEqual({ ok: true, version: 2 });
      expect((await open()).has('o2')).toBe(false);
      const firstTwo = await stateLog.takeOpen(1);
      const next = await stateLog.takeOpen(1);
      expect(firstTwo).toHaveLength(1);
      expect(next).toHaveLength(1);
    });
  });
}

describe('the purchase life cycle', () => {
  const statuses = Object.values(S);

  it('should never leave a final status except for an unknown word', () => {
    for (const from of [S.REFUNDED, S.CANCELLED, S.EXPIRED]) {
      expect(isFinal(from)).toBe(true);
      for (const to of statuses) {
        expect(isBackwards(from, to)).toBe(to !== from && to !== S.UNKNOWN);
      }
    }
  });

  it('should order PENDING → PAYMENT_COMPLETED → COLLECTED | UNAVAILABLE → final', () => {
    const forward: Array<[S, S]> = [
      [S.PENDING, S.PAYMENT_COMPLETED],
      [S.PENDING, S.UNAVAILABLE],
      [S.PENDING, S.CANCELLED],
      [S.PENDING, S.EXPIRED],
      [S.PAYMENT_COMPLETED, S.COLLECTED],
      [S.PAYMENT_COMPLETED, S.REFUNDED],
      [S.COLLECTED, S.REFUNDED],
      [S.UNAVAILABLE, S.CANCELLED],
      [S.UNKNOWN, S.PENDING],
      [S.PENDING, S.PENDING],
    ];
    for (const [from, to] of forward) expect(isBackwards(from, to), `${from} → ${to}`).toBe(false);
    const backward: Array<[S, S]> = [
      [S.COLLECTED, S.PAYMENT_COMPLETED],
      [S.COLLECTED, S.PENDING],
      [S.PAYMENT_COMPLETED, S.PENDING],
      [S.COLLECTED, S.UNAVAILABLE],
      [S.UNAVAILABLE, S.COLLECTED],
      [S.UNAVAILABLE, S.PENDING],
    ];
    for (const [from, to] of backward) expect(isBackwards(from, to), `${from} → ${to}`).toBe(true);
  });
});
