import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../logger.js';
import { BUSY_CODE, SqliteReader, type Prepare } from './sqlite-reader.js';
import { SqliteWriter } from './sqlite-writer.js';
import type { WriterOp } from './sqlite-worker.js';

export interface SqliteDatabaseOptions {
  /**
   * How long a statement may wait for a lock another connection (another process sharing the
   * file) holds before it fails — asynchronously: no wait ever holds the main thread.
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

const READS = {
  get: `SELECT value FROM keyv WHERE key = $key AND ${LIVE}`,
  // json_each turns one bound JSON array into a row set: one prepared statement serves any
  // number of keys instead of building `IN (?, ?, …)` per call.
  getMany: `SELECT key, value FROM keyv WHERE key IN (SELECT value FROM json_each($keys)) AND ${LIVE}`,
  has: `SELECT 1 AS found FROM keyv WHERE key = $key AND ${LIVE}`,
  pageFrom: `SELECT key, value FROM keyv WHERE key >= $from AND ($to IS NULL OR key < $to) AND ${LIVE}
             ORDER BY key LIMIT $limit`,
  pageAfter: `SELECT key, value FROM keyv WHERE key > $from AND ($to IS NULL OR key < $to) AND ${LIVE}
              ORDER BY key LIMIT $limit`,
  ping: 'SELECT 1 FROM keyv LIMIT 1',
} as const;

/**
 * The SQLite store file: the `keyv` table (and, through `read` and `writer`, the state log's
 * tables beside it). Several keyv adapters (one per namespace) and the state log share one
 * instance; several processes may open the same file — WAL lets readers run beside the one
 * writer, and writers queue for the file's write lock.
 *
 * No statement waits synchronously on the main thread (docs/sqlite.md):
 * - writes go to the writer thread (sqlite-writer.ts, sqlite-worker.ts), which waits for the
 *   lock, each request at most the busy timeout;
 * - reads run on the main thread on a connection with a busy timeout of 0, tried again on a
 *   timer while they meet a lock (sqlite-reader.ts).
 * Either way a lock held past the busy timeout rejects the call with the code BUSY_CODE.
 *
 * The constructor only resolves the path and creates its directory; the first call asks the
 * writer to set WAL and create the tables, then opens the reading connection. Every method is
 * asynchronous and rejects once the database is closed.
 */
export class SqliteDatabase {
  /** The file, resolved against the working directory at open time. */
  readonly path: string;
  readonly busyTimeoutMs: number;
  /** The writer thread: every statement that writes runs there. */
  readonly #writer: SqliteWriter;
  #reader: SqliteReader | undefined;
  #opening: Promise<SqliteReader> | undefined;
  #closing: Promise<void> | undefined;

  constructor(path: string, options: SqliteDatabaseOptions = {}) {
    this.path = resolve(path);
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    mkdirSync(dirname(this.path), { recursive: true });
    this.#writer = new SqliteWriter({ path: this.path, busyTimeoutMs: this.busyTimeoutMs });
  }

  get isOpen(): boolean {
    return this.#closing === undefined;
  }

  /**
   * Runs `work` with statements of the main thread's reading connection (see sqlite-reader.ts:
   * a lock makes it wait asynchronously, at most the busy timeout). `snapshot`: all its
   * statements in one read transaction.
   */
  async read<T>(work: (prepare: Prepare) => T, snapshot = false): Promise<T> {
    this.#assertOpen();
    const reader = this.#reader ?? (await this.#open());
    this.#assertOpen();
    return reader.read(work, snapshot);
  }

  /** Runs `op` in the writer thread; resolves with its result. */
  write<T>(op: WriterOp): Promise<T> {
    if (!this.isOpen) return Promise.reject(this.#closedError());
    return this.#writer.request<T>(op);
  }

  async get(key: string): Promise<string | undefined> {
    const row = await this.read(
      (q) => q(READS.get).get({ key, now: Date.now() }) as { value: string } | undefined,
    );
    return row?.value;
  }

  /** Live values by key; absent and expired keys are missing from the map. */
  async getMany(keys: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.read(
      (q) =>
        q(READS.getMany).all({
          keys: JSON.stringify(keys),
          now: Date.now(),
        }) as unknown as SqliteRow[],
    );
    return new Map(rows.map((row) => [row.key, row.value]));
  }

  has(key: string): Promise<boolean> {
    return this.read((q) => q(READS.has).get({ key, now: Date.now() }) !== undefined);
  }

  set(key: string, value: string, expires: number | undefined): Promise<void> {
    return this.write({ op: 'set', row: [key, value, expires ?? null] });
  }

  /** Stores the row unless a live one is there; true if this call stored it. */
  insertIfAbsent(key: string, value: string, expires: number | undefined): Promise<boolean> {
    return this.write({ op: 'insertIfAbsent', row: [key, value, expires ?? null] });
  }

  delete(key: string): Promise<boolean> {
    return this.write({ op: 'delete', key });
  }

  deleteMany(keys: readonly string[]): Promise<boolean> {
    return this.write({ op: 'deleteMany', keys: [...keys] });
  }

  /** Deletes every row whose key starts with `prefix`, or every row when there is none. */
  clear(prefix?: string): Promise<void> {
    return this.write({ op: 'clear', prefix: prefix || null });
  }

  /**
   * Up to `limit` live rows whose key starts with `prefix` (all rows without one), in key order,
   * after the key `after` (from the start without one). Paging keeps no statement open across
   * the caller's awaits, during which keyv may write to the same table.
   */
  page(prefix: string | undefined, after: string | undefined, limit: number): Promise<SqliteRow[]> {
    const params = {
      from: after ?? prefix ?? '',
      to: prefix ? upperBound(prefix) : null,
      now: Date.now(),
      limit,
    };
    const sql = after === undefined ? READS.pageFrom : READS.pageAfter;
    return this.read((q) => q(sql).all(params) as unknown as SqliteRow[]);
  }

  /** Deletes rows past their expiry that nobody read again (keyv only drops those it reads). */
  deleteExpired(): Promise<number> {
    return this.write({ op: 'deleteExpired' });
  }

  /** Rejects unless the file can be read. */
  async ping(): Promise<void> {
    await this.read((q) => q(READS.ping).get());
  }

  /**
   * Refuses new calls at once; the writes already posted are answered first. Then the reading
   * connection closes before the writer's: the last connection to a WAL file to close copies
   * the WAL into the database (a checkpoint, with its fsync), and that is the writer thread's
   * to do, not the main thread's.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#writer.flush();
      const reader = this.#reader ?? (await this.#opening?.catch(() => undefined));
      reader?.close();
      await this.#writer.close();
    })();
    return this.#closing;
  }

  /**
   * Starts the writer thread and has it set WAL and create the tables, then opens the reading
   * connection — what the first call would do otherwise. A lock held past the busy timeout
   * (another process creating the tables) is only logged: the first call tries again. Any
   * other failure (a directory that cannot be written) rejects.
   */
  async open(logger: Logger): Promise<void> {
    try {
      await this.#open();
    } catch (error) {
      if ((error as { code?: unknown }).code !== BUSY_CODE) throw error;
      logger.warn({ err: error, path: this.path }, 'store: SQLite file locked at open; will retry');
    }
  }

  /**
   * The first call: the writer sets WAL and creates the tables (waiting for a lock there, not
   * here), then the reading connection opens. A failure (a lock held past the busy timeout)
   * is the caller's, and the next call tries again.
   */
  #open(): Promise<SqliteReader> {
    this.#opening ??= (async () => {
      await this.#writer.request({ op: 'init' });
      const reader = new SqliteReader(this.path, this.busyTimeoutMs);
      this.#reader = reader;
      if (!this.isOpen) reader.close();
      return reader;
    })();
    const opening = this.#opening;
    opening.catch(() => {
      if (this.#opening === opening) this.#opening = undefined;
    });
    return opening;
  }

  #assertOpen(): void {
    if (!this.isOpen) throw this.#closedError();
  }

  #closedError(): Error {
    return new Error(`SQLite store ${this.path} is closed.`);
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
