import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

export interface SqliteDatabaseOptions {
  /**
   * How long a statement waits for another connection's write lock (another process sharing the
   * file) before failing with "database is locked".
   * @default 5000
   */
  busyTimeoutMs?: number;
}

/** One stored row: the key as keyv prefixed it and the value as keyv serialized it. */
export interface SqliteRow {
  key: string;
  value: string;
}

/*
 * A row is live while `expires` is NULL or not yet passed. keyv treats data as expired only when
 * `Date.now() > expires`, so "live" here is `expires >= now`: both sides must agree, or keyv
 * would see a row this file calls live as expired and delete it behind a concurrent writer.
 */
const LIVE = '(expires IS NULL OR expires >= $now)';

type Statements = Record<
  | 'get'
  | 'getMany'
  | 'has'
  | 'set'
  | 'insertIfAbsent'
  | 'delete'
  | 'deleteMany'
  | 'clearAll'
  | 'clearRange'
  | 'pageFrom'
  | 'pageAfter'
  | 'deleteExpired'
  | 'ping',
  StatementSync
>;

/**
 * The single `keyv` table in one SQLite file, through `node:sqlite` prepared statements. Several
 * keyv adapters (one per namespace) share one instance; several processes may open the same
 * file — WAL lets readers run beside the one writer, and the busy timeout makes writers queue
 * instead of failing. Every method is synchronous and throws once the database is closed.
 */
export class SqliteDatabase {
  /** The file, resolved against the working directory at open time. */
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #statements: Statements;

  constructor(path: string, options: SqliteDatabaseOptions = {}) {
    this.path = resolve(path);
    mkdirSync(dirname(this.path), { recursive: true });
    this.#db = new DatabaseSync(this.path, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      // WAL is a property of the file, so this is a no-op once any process has set it. The
      // default synchronous=FULL is kept: callers acknowledge webhooks only after a write, so a
      // committed row must survive a power cut, not just a process crash.
      this.#db.exec('PRAGMA journal_mode = WAL');
      this.#db.exec(`
        CREATE TABLE IF NOT EXISTS keyv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER);
        CREATE INDEX IF NOT EXISTS keyv_expires ON keyv (expires);
      `);
      this.#statements = this.#prepareAll();
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  #prepareAll(): Statements {
    const db = this.#db;
    return {
      get: db.prepare(`SELECT value FROM keyv WHERE key = $key AND ${LIVE}`),
      // json_each turns one bound JSON array into a row set: one prepared statement serves any
      // number of keys instead of building `IN (?, ?, …)` per call.
      getMany: db.prepare(
        `SELECT key, value FROM keyv WHERE key IN (SELECT value FROM json_each($keys)) AND ${LIVE}`,
      ),
      has: db.prepare(`SELECT 1 AS found FROM keyv WHERE key = $key AND ${LIVE}`),
      set: db.prepare(
        `INSERT INTO keyv (key, value, expires) VALUES ($key, $value, $expires)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
      ),
      // One statement, so it is atomic across connections and processes: the update branch
      // runs only over an expired row, and `changes` tells whether this call stored the value.
      insertIfAbsent: db.prepare(
        `INSERT INTO keyv (key, value, expires) VALUES ($key, $value, $expires)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires
         WHERE keyv.expires IS NOT NULL AND keyv.expires < $now`,
      ),
      delete: db.prepare('DELETE FROM keyv WHERE key = $key'),
      deleteMany: db.prepare('DELETE FROM keyv WHERE key IN (SELECT value FROM json_each($keys))'),
      clearAll: db.prepare('DELETE FROM keyv'),
      // Key ranges instead of LIKE: namespaces may contain `_` and `%`, which LIKE would treat as
      // wildcards, and a range uses the primary-key index.
      clearRange: db.prepare('DELETE FROM keyv WHERE key >= $from AND key < $to'),
      pageFrom: db.prepare(
        `SELECT key, value FROM keyv WHERE key >= $from AND ($to IS NULL OR key < $to) AND ${LIVE}
         ORDER BY key LIMIT $limit`,
      ),
      pageAfter: db.prepare(
        `SELECT key, value FROM keyv WHERE key > $from AND ($to IS NULL OR key < $to) AND ${LIVE}
         ORDER BY key LIMIT $limit`,
      ),
      deleteExpired: db.prepare('DELETE FROM keyv WHERE expires < $now'),
      ping: db.prepare('SELECT 1 FROM keyv LIMIT 1'),
    };
  }

  /**
   * The statements, or a clear error once closed (node:sqlite itself would only say
   * "statement has been finalized").
   */
  get #open(): Statements {
    if (!this.#db.isOpen) throw new Error(`SQLite store ${this.path} is closed.`);
    return this.#statements;
  }

  get isOpen(): boolean {
    return this.#db.isOpen;
  }

  get(key: string): string | undefined {
    const row = this.#open.get.get({ key, now: Date.now() }) as { value: string } | undefined;
    return row?.value;
  }

  /** Live values by key; absent and expired keys are missing from the map. */
  getMany(keys: readonly string[]): Map<string, string> {
    const rows = this.#open.getMany.all({
      keys: JSON.stringify(keys),
      now: Date.now(),
    }) as unknown as SqliteRow[];
    return new Map(rows.map((row) => [row.key, row.value]));
  }

  has(key: string): boolean {
    return this.#open.has.get({ key, now: Date.now() }) !== undefined;
  }

  set(key: string, value: string, expires: number | undefined): void {
    this.#open.set.run({ key, value, expires: expires ?? null });
  }

  /** Stores the row unless a live one is there; true if this call stored it. */
  insertIfAbsent(key: string, value: string, expires: number | undefined): boolean {
    const result = this.#open.insertIfAbsent.run({
      key,
      value,
      expires: expires ?? null,
      now: Date.now(),
    });
    return Number(result.changes) > 0;
  }

  delete(key: string): boolean {
    return Number(this.#open.delete.run({ key }).changes) > 0;
  }

  deleteMany(keys: readonly string[]): boolean {
    return Number(this.#open.deleteMany.run({ keys: JSON.stringify(keys) }).changes) > 0;
  }

  /** Deletes every row whose key starts with `prefix`, or every row when there is none. */
  clear(prefix?: string): void {
    if (prefix) this.#open.clearRange.run({ from: prefix, to: upperBound(prefix) });
    else this.#open.clearAll.run();
  }

  /**
   * Up to `limit` live rows whose key starts with `prefix` (all rows without one), in key order,
   * after the key `after` (from the start without one). Paging keeps no statement open across
   * the caller's awaits, during which keyv may write to the same table.
   */
  page(prefix: string | undefined, after: string | undefined, limit: number): SqliteRow[] {
    const params = {
      from: after ?? prefix ?? '',
      to: prefix ? upperBound(prefix) : null,
      now: Date.now(),
      limit,
    };
    const statements = this.#open;
    const statement = after === undefined ? statements.pageFrom : statements.pageAfter;
    return statement.all(params) as unknown as SqliteRow[];
  }

  /** Deletes rows past their expiry that nobody read again (keyv only drops those it reads). */
  deleteExpired(): number {
    return Number(this.#open.deleteExpired.run({ now: Date.now() }).changes);
  }

  /** Throws unless the file can be read. */
  ping(): void {
    this.#open.ping.get();
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

/**
 * The smallest string above every string that starts with `prefix`: the prefix with its last
 * character incremented. SQLite compares TEXT as UTF-8 bytes by default; incrementing one
 * UTF-16 unit preserves that order for the ASCII separators used here (`ns:` → `ns;`).
 */
function upperBound(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}
