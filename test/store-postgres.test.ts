import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { silentLogger } from '../src/logger.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/store/index.js';
import { commitOn } from '../src/store/postgres-state-log.js';
import { listenToChangeLog } from '../src/store/postgres-listen.js';
import { SCHEMA_VERSION } from '../src/store/postgres-schema.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from './helpers/postgres.js';
import { ROOT, spawnService } from './helpers/process.js';

const skip = postgresSkipReason();

/**
 * A writer process: opens the built store (dist/) on `url` and runs `loops` concurrent loops of
 * `commits` state log commits each, every commit 1–3 logged writes to keys of its own; prints
 * `done <count>` when all are committed.
 */
const WRITER = `
const { openStore } = await import(process.env.STORE_MODULE);
const store = await openStore(process.env.STORE_URL, { postgresPoolMax: 8 });
const [name, loops, commits] = [process.env.NAME, Number(process.env.LOOPS), Number(process.env.COMMITS)];
let count = 0;
await Promise.all(Array.from({ length: loops }, async (_, loop) => {
  const versions = new Map();
  for (let i = 0; i < commits; i++) {
    const writes = Array.from({ length: 1 + (i % 3) }, (_, w) => {
      const key = name + '-' + loop + '-' + w;
      const version = versions.get(key) ?? 0;
      versions.set(key, version + 1);
      return { key, expectedVersion: version, value: { i }, open: false, log: { key, i } };
    });
    const results = await store.stateLog.commit(writes);
    if (!results.every((r) => r.ok)) throw new Error('a version moved: ' + JSON.stringify(results));
    count += writes.length;
  }
}));
await store.close();
console.log('done ' + count);
`;

function runWriter(url: string, name: string, loops: number, commits: number): Promise<number> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER], {
    env: {
      PATH: process.env.PATH ?? '',
      STORE_URL: url,
      STORE_MODULE: path.join(ROOT, 'dist/src/store/index.js'),
      NAME: name,
      LOOPS: String(loops),
      COMMITS: String(commits),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const done = /done (\d+)/.exec(output);
      if (code === 0 && done) resolve(Number(done[1]));
      else reject(new Error(`writer ${name} exited ${code}:\n${output}`));
    }),
  );
}

describe.skipIf(skip !== undefined)(`PostgreSQL store${skip ? ` (${skip})` : ''}`, () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('should never let a reader pass an entry whose transaction commits later', async () => {
    const url = await server.createDatabase();
    const store = await openStore(url);
    const slow = new pg.Client({ connectionString: url });
    await slow.connect();
    try {
      // A slow appender: its entry is written (seq 1) but its transaction is still open.
      await slow.query('BEGIN');
      const [slowResult] = await commitOn(
        slow as unknown as pg.PoolClient,
        [{ key: 'slow', expectedVersion: 0, value: '{}', open: false, log: '{"n":"slow"}' }],
        Date.now(),
      );
      expect(slowResult).toEqual({ ok: true, version: 1, cursor: '1' });
      // A fast appender starts after it: it cannot take a cursor until the slow one commits.
      const fast = store.stateLog.commit([
        { key: 'fast', expectedVersion: 0, value: {}, open: false, log: { n: 'fast' } },
      ]);
      let fastSettled = false;
      void fast.finally(() => (fastSettled = true));
      const before = await store.stateLog.readLog(undefined, 100);
      expect(before.entries).toEqual([]);
      expect(await store.stateLog.head()).toBeUndefined();
      expect(fastSettled).toBe(false);

      await slow.query('COMMIT');
      expect(await fast).toEqual([{ ok: true, version: 1, cursor: '2' }]);
      const after = await store.stateLog.readLog<{ n: string }>(undefined, 100);
      expect(after.entries.map((e) => [e.cursor, e.value.n])).toEqual([
        ['1', 'slow'],
        ['2', 'fast'],
      ]);
    } finally {
      await slow.end();
      await store.close();
    }
  });

  it('should let a reader paging while two processes append see every entry, in order, once', async () => {
    const url = await server.createDatabase();
    const reader = await openStore(url);
    const seen: string[] = [];
    let stop = false;
    let pages = 0;
    const paging = (async () => {
      // Pages of 7 from the last cursor seen, as a resuming subscriber or a client paging
      // groupPurchaseChanges does; it keeps going until the writers are done and it is caught up.
      for (;;) {
        const done = stop;
        const { entries } = await reader.stateLog.readLog(seen.at(-1), 7);
        pages += 1;
        seen.push(...entries.map((e) => e.cursor));
        if (done && entries.length === 0) return;
      }
    })();
    let written: number[];
    try {
      written = await Promise.all([runWriter(url, 'a', 6, 60), runWriter(url, 'b', 6, 60)]);
    } finally {
      stop = true;
      await paging;
    }
    const all = await reader.stateLog.readLog(undefined, 100_000);
    await reader.close();
    const total = written.reduce((sum, n) => sum + n, 0);
    expect(total).toBe(2 * 6 * (20 * (1 + 2 + 3)));
    expect(all.entries).toHaveLength(total);
    // The cursors are 1..total with no hole, and the reader saw exactly that sequence.
    expect(all.entries.map((e) => e.cursor)).toEqual(
      Array.from({ length: total }, (_, i) => String(i + 1)),
    );
    expect(seen).toEqual(all.entries.map((e) => e.cursor));
    expect(pages).toBeGreaterThan(10);
  }, 120_000);

  it('should keep nothing of a writeTogether whose transaction fails after its state log write', async () => {
    const store = await openStore(await server.createDatabase());
    try {
      // The state log write runs first in the transaction; the keyv row after it is refused by
      // PostgreSQL (text cannot hold NUL), which rolls the whole transaction back.
      const attempt = store.writeTogether({
        stateLog: [{ key: 'p', expectedVersion: 0, value: { n: 1 }, open: true, log: { n: 1 } }],
        keys: [{ namespace: 'batches', key: 'bad\u0000key', value: { id: 'b1' } }],
      });
      await expect(attempt).rejects.toThrow();
      expect((await store.stateLog.getMany(['p'])).size).toBe(0);
      expect((await store.stateLog.readLog(undefined, 10)).entries).toEqual([]);
      expect(await store.stateLog.head()).toBeUndefined();
      // And the same writes without the bad key commit together.
      const [result] = await store.writeTogether({
        stateLog: [{ key: 'p', expectedVersion: 0, value: { n: 1 }, open: true, log: { n: 1 } }],
        keys: [{ namespace: 'batches', key: 'good', value: { id: 'b1' } }],
      });
      expect(result).toEqual({ ok: true, version: 1, cursor: '1' });
      expect(await store.namespace('batches').get('good')).toEqual({ id: 'b1' });
    } finally {
      await store.close();
    }
  });

  it('should store nothing of a commit whose pipelined statement fails, and go on committing', async () => {
    const url = await server.createDatabase();
    const store = await openStore(url);
    const inspect = new pg.Client({ connectionString: url });
    await inspect.connect();
    try {
      expect(
        await store.stateLog.commit([
          { key: 'a', expectedVersion: 0, value: 1, open: false, log: 1 },
        ]),
      ).toEqual([{ ok: true, version: 1, cursor: '1' }]);
      // A row already at the cursor the next commit's second entry takes: its log INSERT fails
      // on the server after the versions were read, with the state upserts and the new head
      // already sent behind it.
      await inspect.query("INSERT INTO change_log (seq, at, value) VALUES (3, 0, '{}')");
      const writes = Array.from({ length: 2_500 }, (_, i) => ({
        key: `k${i}`,
        expectedVersion: 0,
        value: { i },
        open: true,
        log: { i },
      }));
      await expect(store.stateLog.commit(writes)).rejects.toMatchObject({ code: '23505' });
      expect((await store.stateLog.getMany(['k0', 'k2499'])).size).toBe(0);
      expect(await store.stateLog.head()).toBe('1');

      await inspect.query('DELETE FROM change_log WHERE seq = 3');
      const results = await store.stateLog.commit(writes);
      expect(results.map((r) => (r.ok ? r.cursor : 'lost'))).toEqual(
        Array.from({ length: 2_500 }, (_, i) => String(i + 2)),
      );
      // Every connection of the pool still works (more commits than PG_POOL_MAX's default 10).
      const more = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          store.stateLog.commit([
            { key: `m${i}`, expectedVersion: 0, value: i, open: false, log: i },
          ]),
        ),
      );
      expect(more.every(([r]) => r?.ok)).toBe(true);
      const { rows } = await inspect.query<{ n: string; texts: string }>(
        'SELECT count(*) AS n, max(value) FILTER (WHERE seq = 2) AS texts FROM change_log',
      );
      expect(rows[0]).toEqual({ n: String(1 + 2_500 + 12), texts: '{"i":0}' });
    } finally {
      await inspect.end();
      await store.close();
    }
  });

  it('should migrate once when several instances open a fresh database at the same moment', async () => {
    const url = await server.createDatabase();
    const stores = await Promise.all(Array.from({ length: 5 }, () => openStore(url)));
    const inspect = new pg.Client({ connectionString: url });
    await inspect.connect();
    try {
      const { rows } = await inspect.query<{ version: number }>(
        'SELECT version FROM payments_schema_migrations ORDER BY version',
      );
      expect(rows.map((r) => r.version)).toEqual(
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
      );
      // Every one of them works on the one schema.
      const claims = await Promise.all(stores.map((s, i) => s.setIfAbsent('locks', 'k', i)));
      expect(claims.filter(Boolean)).toHaveLength(1);
    } finally {
      await inspect.end();
      await Promise.all(stores.map((s: Store) => s.close()));
    }
  });

  it('should refuse a database a newer release migrated, naming both versions, and exit 78', async () => {
    const url = await server.createDatabase();
    await (await openStore(url)).close();
    const inspect = new pg.Client({ connectionString: url });
    await inspect.connect();
    const newer = SCHEMA_VERSION + 1;
    await inspect.query(
      "INSERT INTO payments_schema_migrations (version, name) VALUES ($1, 'from the future')",
      [newer],
    );
    await inspect.end();

    const refused = await openStore(url).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    const message = (refused as Error).message;
    expect(message).toContain(`version ${newer}`);
    expect(message).toContain(`up to ${SCHEMA_VERSION}`);
    expect(message).not.toContain('test-secret');

    const service = spawnService({
      STORE_URL: url,
      NODE_ENV: 'test',
      PORT: '0',
      CHILLR_SANDBOX_PORT: '0',
      PBG_SANDBOX_PORT: '0',
    }).catch((error: Error) => error.message);
    const failure = await service;
    expect(failure).toMatch(/exited \(78\)/);
    expect(failure).toContain(`version ${newer}`);
    expect(failure).toContain(`up to ${SCHEMA_VERSION}`);
    expect(failure).not.toContain('test-secret');
  });

  it('should hear appends from another connection, and after a crash re-LISTEN and catch up', async () => {
    const url = await server.createDatabase();
    const writer = await openStore(url);
    const heard: string[] = [];
    const waiters: Array<{ cursor: string; resolve: () => void }> = [];
    const listener = listenToChangeLog({
      url,
      logger: silentLogger,
      maxBackoffMs: 200,
      onAdvance: (cursor) => {
        heard.push(cursor);
        for (const w of waiters.filter((w) => w.cursor === cursor)) w.resolve();
      },
    });
    const hears = (cursor: string) =>
      heard.includes(cursor)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ cursor, resolve }));
    const append = async (n: number) =>
      (
        await writer.stateLog.commit([
          { key: `k${n}`, expectedVersion: 0, value: n, open: false, log: n },
        ])
      )[0];
    try {
      expect(await listener.ready).toBe(true);
      expect(await append(1)).toMatchObject({ cursor: '1' });
      await hears('1');
      await server.crash();
      await server.start();
      // Appended while the listener may still be reconnecting: it hears it either through the
      // notification (listening again) or through the head it reads after re-LISTENing.
      const appended = await appendWhenBack(() => append(2));
      expect(appended).toMatchObject({ cursor: '2' });
      await hears('2');
      // Listening again: a later append is notified.
      expect(await append(3)).toMatchObject({ cursor: '3' });
      await hears('3');
    } finally {
      await listener.close();
      await writer.close();
    }
  }, 60_000);
});

/** `work`, retried while the pool still hands out connections the crash broke. */
async function appendWhenBack<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= 20) throw error;
    }
  }
}
