import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore, redactUrl, type Store } from '../src/store/index.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from './helpers/postgres.js';
import {
  closedPort,
  redisSkipReason,
  startRedisServer,
  type RedisServer,
} from './helpers/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
const freshSqliteUrl = (): string => `sqlite:${join(dir, `store-${++fileCounter}.db`)}`;

/**
 * Behaviour every backend must share; `open` gives a Store over empty state. The expiry cases
 * wait out a TTL of a few hundred ms on the real clock: expiry is judged by keyv (Date.now, in
 * the library), by the SQLite writer thread and by the Redis or PostgreSQL server, none of which
 * takes an injected clock.
 */
function behavesAsAStore(open: () => Promise<Store>): void {
  const opened: Store[] = [];
  const openTracked = async (): Promise<Store> => {
    const store = await open();
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  it('should isolate keys between namespaces', async () => {
    const store = await openTracked();
    const batches = store.namespace<string>('batches');
    const idempotency = store.namespace<string>('idempotency');
    await batches.set('k', 'batch');
    await idempotency.set('k', 'claim');
    expect(await batches.get('k')).toBe('batch');
    expect(await idempotency.get('k')).toBe('claim');

    await batches.delete('k');
    expect(await batches.get('k')).toBeUndefined();
    expect(await idempotency.get('k')).toBe('claim');

    await batches.set('other', 'x');
    await idempotency.clear();
    expect(await idempotency.get('k')).toBeUndefined();
    expect(await batches.get('other')).toBe('x');
  });

  it('should return the same keyv instance for the same namespace', async () => {
    const store = await openTracked();
    expect(store.namespace('events')).toBe(store.namespace('events'));
  });

  it('should expire values after their TTL', async () => {
    const store = await openTracked();
    const offers = store.namespace<{ n: number }>('offers');
    await offers.set('short', { n: 1 }, 200);
    await offers.set('forever', { n: 2 });
    expect(await offers.get('short')).toEqual({ n: 1 });
    await sleep(300);
    expect(await offers.get('short')).toBeUndefined();
    expect(await offers.has('short')).toBe(false);
    expect(await offers.get('forever')).toEqual({ n: 2 });
  });

  it('should let exactly one of 50 concurrent setIfAbsent calls store its value', async () => {
    const store = await openTracked();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.setIfAbsent('idempotency', 'key-1', { i }, 60_000),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(await store.namespace('idempotency').get('key-1')).toEqual({ i: winner });
  });

  it('should not replace a live value with setIfAbsent, even one stored by set', async () => {
    const store = await openTracked();
    const purchases = store.namespace<unknown>('purchases');
    await purchases.set('p1', null);
    expect(await store.setIfAbsent('purchases', 'p1', 'late')).toBe(false);
    expect(await purchases.get('p1')).toBeNull();

    expect(await store.setIfAbsent('purchases', 'p2', 'first')).toBe(true);
    expect(await store.setIfAbsent('purchases', 'p2', 'second')).toBe(false);
    expect(await purchases.get('p2')).toBe('first');
  });

  it('should let setIfAbsent store again once the value expired', async () => {
    const store = await openTracked();
    expect(await store.setIfAbsent('idempotency', 'k', 'first', 150)).toBe(true);
    expect(await store.setIfAbsent('idempotency', 'k', 'second', 150)).toBe(false);
    await sleep(250);
    expect(await store.setIfAbsent('idempotency', 'k', 'third', 60_000)).toBe(true);
    expect(await store.namespace('idempotency').get('k')).toBe('third');
  });

  it('should make a setIfAbsent value readable through namespace().get with its TTL', async () => {
    const store = await openTracked();
    // Strings starting with ':' and Buffers are escaped by keyv's serializer: setIfAbsent must
    // write exactly what keyv.set would, or get would return them altered.
    const value = {
      state: 'pending',
      note: ':colon-first',
      bytes: Buffer.from('abc'),
      nested: { list: [1, 'two', null] },
    };
    expect(await store.setIfAbsent('idempotency', 'order:42', value, 60_000)).toBe(true);
    const records = store.namespace<typeof value>('idempotency');
    expect(await records.get('order:42')).toEqual(value);
    expect(await records.has('order:42')).toBe(true);
    const raw = await records.getRaw('order:42');
    expect(raw?.expires).toBeGreaterThan(Date.now() + 50_000);
    expect(raw?.expires).toBeLessThanOrEqual(Date.now() + 60_000);
    const seen: string[] = [];
    for await (const [key] of records.iterator!({})) seen.push(key as string);
    expect(seen).toEqual(['order:42']);
  });

  it('should refuse values and TTLs setIfAbsent cannot store faithfully', async () => {
    const store = await openTracked();
    await expect(store.setIfAbsent('batches', 'k', undefined)).rejects.toThrow(TypeError);
    await expect(store.setIfAbsent('batches', 'k', 1, 0)).rejects.toThrow(RangeError);
    await expect(store.setIfAbsent('batches', 'k', 1, -5)).rejects.toThrow(RangeError);
    await expect(store.setIfAbsent('batches', 'k', 1, Number.NaN)).rejects.toThrow(RangeError);
    expect(await store.setIfAbsent('batches', 'k', 1)).toBe(true);
  });

  it('should refuse namespace names keyv cannot prefix safely', async () => {
    const store = await openTracked();
    expect(() => store.namespace('a:b')).toThrow(/invalid/);
    expect(() => store.namespace('')).toThrow(/invalid/);
    expect(() => store.namespace('batch-status')).not.toThrow();
  });

  it('should answer ping while open and refuse work once closed', async () => {
    const store = await openTracked();
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
    await store.close(); // idempotent
    await expect(store.ping()).rejects.toThrow(/closed/);
    expect(() => store.namespace('batches')).toThrow(/closed/);
    await expect(store.setIfAbsent('batches', 'k', 1)).rejects.toThrow(/closed/);
  });
}

describe('memory store', () => {
  behavesAsAStore(() => openStore('memory://'));

  it('should describe itself as memory and keep Stores apart', async () => {
    const a = await openStore('memory://');
    const b = await openStore('memory://');
    expect(a.description).toBe('memory');
    await a.namespace('batches').set('k', 1);
    expect(await b.namespace('batches').get('k')).toBeUndefined();
    expect(await a.namespace('batches').get('k')).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('sqlite store', () => {
  behavesAsAStore(() => openStore(freshSqliteUrl()));

  it('should agree on setIfAbsent across two Stores on one file', async () => {
    // Two connections to one file are what two processes see; node:sqlite is synchronous, so
    // in-process calls interleave only between statements, as separate processes would.
    const url = freshSqliteUrl();
    const [a, b] = await Promise.all([openStore(url), openStore(url)]);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? a : b).setIfAbsent('idempotency', 'shared', { i }, 60_000),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = { i: results.indexOf(true) };
    expect(await a.namespace('idempotency').get('shared')).toEqual(winner);
    expect(await b.namespace('idempotency').get('shared')).toEqual(winner);

    await a.namespace('idempotency').delete('shared');
    expect(await b.setIfAbsent('idempotency', 'shared', 'again')).toBe(true);
    expect(await a.namespace('idempotency').get('shared')).toBe('again');
    await Promise.all([a.close(), b.close()]);
  });

  it('should reject reads and writes once closed, not return undefined', async () => {
    const store = await openStore(freshSqliteUrl());
    const batches = store.namespace<number>('batches');
    await batches.set('k', 1);
    await store.close();
    await expect(batches.get('k')).rejects.toThrow(/closed/);
    await expect(batches.set('k', 2)).rejects.toThrow(/closed/);
    await expect(batches.delete('k')).rejects.toThrow(/closed/);
    await expect(batches.has('k')).rejects.toThrow(/closed/);
    await expect(batches.getMany(['k'])).rejects.toThrow(/closed/);
  });

  it('should resolve a relative path against the working directory and create its parents', async () => {
    const absolute = join(dir, 'relative', 'sub', 'payments.db');
    const path = relative(process.cwd(), absolute);
    for (const url of [`sqlite:${path}`, `sqlite://${path}`]) {
      const store = await openStore(url);
      expect(store.description).toBe(`sqlite:${path}`);
      await store.namespace('batches').set('k', 1);
      await store.close();
      expect(existsSync(absolute)).toBe(true);
    }
  });

  it('should delete rows that expired unread when a store opens', async () => {
    const url = freshSqliteUrl();
    const first = await openStore(url);
    await first.namespace('events').set('gone', 1, 50);
    await first.namespace('events').set('kept', 2);
    await first.close();
    await sleep(100);
    const second = await openStore(url);
    const raw = new DatabaseSync(url.slice('sqlite:'.length));
    expect(raw.prepare('SELECT key FROM keyv ORDER BY key').all()).toEqual([
      { key: 'events:kept' },
    ]);
    raw.close();
    await second.close();
  });
});

describe('store URLs', () => {
  it('should reject an unknown URL naming STORE_URL, the accepted forms, and no password', async () => {
    const attempt = openStore('mysql://app:hunter2@db.internal/payments');
    await expect(attempt).rejects.toThrow(/STORE_URL "mysql:\/\/app@db.internal\/payments"/);
    const message = await attempt.catch((error: Error) => error.message);
    expect(message).not.toContain('hunter2');
    const forms = ['memory://', 'sqlite:<path>', 'sqlite://<path>', 'redis://', 'rediss://'];
    for (const form of [...forms, 'postgres://', 'postgresql://']) {
      expect(message).toContain(form);
    }
  });

  it('should reject URLs that are close to valid but incomplete', async () => {
    const incomplete = ['', 'memory', 'sqlite:', 'sqlite://', 'redis://', 'data/payments.db'];
    for (const url of [
      ...incomplete,
      'postgres://',
      'postgres://db.internal',
      'postgresql://u@h/',
    ]) {
      await expect(openStore(url), url).rejects.toThrow(/STORE_URL/);
    }
  });

  it('should strip passwords but keep user names when describing URLs', () => {
    expect(redactUrl('redis://:s3cret@cache:6379/0')).toBe('redis://cache:6379/0');
    expect(redactUrl('rediss://svc:s3cret@cache:6380')).toBe('rediss://svc@cache:6380');
    expect(redactUrl('redis://cache:6379')).toBe('redis://cache:6379');
    expect(redactUrl('not a url //u:p@x')).toBe('not a url //u@x');
    expect(redactUrl('postgres://app:s3cret@db:5432/payments')).toBe(
      'postgres://app@db:5432/payments',
    );
    expect(redactUrl('postgresql://app@db/payments?password=s3cret&sslmode=require')).toBe(
      'postgresql://app@db/payments?sslmode=require',
    );
  });
});

describe('redis store without a server', () => {
  it('should open, describe itself without the password, and reject while Redis is down', async () => {
    const port = await closedPort();
    const store = await openStore(`redis://:s3cret@127.0.0.1:${port}`, {
      redisReadyTimeoutMs: 100,
    });
    try {
      expect(store.description).toBe(`redis://127.0.0.1:${port}`);
      await expect(store.ping()).rejects.toThrow();
      await expect(store.namespace('batches').get('k')).rejects.toThrow();
      await expect(store.namespace('batches').set('k', 1)).rejects.toThrow();
      await expect(store.setIfAbsent('batches', 'k', 1, 1000)).rejects.toThrow();
    } finally {
      await store.close();
    }
  });
});

const redisSkip = redisSkipReason();

describe.skipIf(redisSkip !== undefined)(`redis store${redisSkip ? ` (${redisSkip})` : ''}`, () => {
  let server: RedisServer | undefined;
  let url = '';
  beforeAll(async () => {
    server = await startRedisServer();
    url = server.url;
  });
  afterAll(async () => {
    await server?.close();
  });

  behavesAsAStore(async () => {
    await server!.flush();
    return openStore(url);
  });

  it('should agree on setIfAbsent across two Stores on one server', async () => {
    const [a, b] = await Promise.all([openStore(url), openStore(url)]);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? a : b).setIfAbsent('idempotency', 'two-stores', { i }, 60_000),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await b.namespace('idempotency').get('two-stores')).toEqual({
      i: results.indexOf(true),
    });
    await Promise.all([a.close(), b.close()]);
  });
});

const postgresSkip = postgresSkipReason();

describe.skipIf(postgresSkip !== undefined)(
  `postgres store${postgresSkip ? ` (${postgresSkip})` : ''}`,
  () => {
    let server: PostgresServer | undefined;
    beforeAll(async () => {
      server = await startPostgres();
    });
    afterAll(async () => {
      await server?.close();
    });

    behavesAsAStore(async () => openStore(await server!.createDatabase()));

    it('should describe itself without the password and agree on setIfAbsent across two Stores', async () => {
      const url = await server!.createDatabase();
      expect(url).toContain(':test-secret@');
      const [a, b] = await Promise.all([openStore(url), openStore(url)]);
      expect(a.description).toBe(url.replace(':test-secret@', '@'));
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 === 0 ? a : b).setIfAbsent('idempotency', 'two-stores', { i }, 60_000),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await b.namespace('idempotency').get('two-stores')).toEqual({
        i: results.indexOf(true),
      });
      await Promise.all([a.close(), b.close()]);
    });
  },
);
