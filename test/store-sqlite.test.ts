import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite';
import { Keyv } from 'keyv';
import * as test from 'vitest';
import { KeyvSqlite } from '../src/store/sqlite-adapter.js';
import { SqliteDatabase } from '../src/store/sqlite-database.js';

const { afterAll, describe, expect, it } = test;

const dir = mkdtempSync(join(tmpdir(), 'store-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('KeyvSqlite under @keyv/test-suite', () => {
  // The suite builds many keyv instances, some over one adapter and some over separate ones;
  // a fresh adapter per call over one shared database is how the Store uses it too.
  const database = new SqliteDatabase(join(dir, 'suite.db'));
  afterAll(() => database.close());
  const store = () => new KeyvSqlite({ database });
  // @keyv/test-suite types its first argument against its own nested vitest 4; at run time it
  // only calls it/beforeEach/afterEach/expect on what it is given, so vitest 5's module fits.
  const vitest = test as unknown as Parameters<typeof keyvTestSuite>[0];

  keyvTestSuite(vitest, Keyv, store);
  keyvIteratorTests(vitest, Keyv, store);
});

describe('KeyvSqlite', () => {
  it('should create parent directories and use WAL', async () => {
    const path = join(dir, 'nested', 'deeper', 'wal.db');
    const adapter = new KeyvSqlite({ path });
    await adapter.set('k', '"v"');
    expect(existsSync(path)).toBe(true);
    await adapter.disconnect();

    const raw = new DatabaseSync(path);
    expect(raw.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    raw.close();
  });

  it('should keep the expires column equal to the expiry keyv serialized', async () => {
    const path = join(dir, 'expires.db');
    const adapter = new KeyvSqlite({ path });
    const keyv = new Keyv({ store: adapter, namespace: 'ns' });
    await keyv.set('k', { a: 1 }, 60_000);
    const raw = new DatabaseSync(path);
    const row = raw.prepare('SELECT value, expires FROM keyv WHERE key = ?').get('ns:k') as {
      value: string;
      expires: number;
    };
    raw.close();
    expect(JSON.parse(row.value)).toEqual({ value: { a: 1 }, expires: row.expires });
    await adapter.disconnect();
  });

  it('should clear only its namespace even when the name holds LIKE wildcards', async () => {
    const database = new SqliteDatabase(join(dir, 'wildcards.db'));
    const a = new Keyv({ store: new KeyvSqlite({ database }), namespace: 'a_b' });
    const b = new Keyv({ store: new KeyvSqlite({ database }), namespace: 'axb' });
    const c = new Keyv({ store: new KeyvSqlite({ database }), namespace: 'a_b-c' });
    await a.set('k', 1);
    await b.set('k', 2);
    await c.set('k', 3);
    await a.clear();
    expect([await a.get('k'), await b.get('k'), await c.get('k')]).toEqual([undefined, 2, 3]);
    await database.close();
  });

  it('should iterate across pages in key order', async () => {
    const database = new SqliteDatabase(join(dir, 'pages.db'));
    const keyv = new Keyv({
      store: new KeyvSqlite({ database, iteratorPageSize: 3 }),
      namespace: 'p',
    });
    const keys = Array.from({ length: 10 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    for (const key of keys) await keyv.set(key, key.toUpperCase());
    const seen: Array<[string, string]> = [];
    for await (const [key, value] of keyv.iterator!({})) seen.push([key, value]);
    expect(seen).toEqual(keys.map((key) => [key, key.toUpperCase()]));
    await database.close();
  });

  it('should reject once the database is closed', async () => {
    const database = new SqliteDatabase(join(dir, 'closed.db'));
    const keyv = new Keyv({ store: new KeyvSqlite({ database }), throwOnErrors: true });
    await keyv.set('k', 1);
    await database.close();
    await expect(keyv.get('k')).rejects.toThrow(/is closed/);
    await expect(keyv.set('k', 2)).rejects.toThrow(/is closed/);
    await expect(keyv.has('k')).rejects.toThrow(/is closed/);
  });

  it('should refuse to be built without a path or a database', () => {
    expect(() => new KeyvSqlite({})).toThrow(/path/);
  });
});
