/**
 * The SQLite store's writer thread: a `node:worker_threads` worker with its own `node:sqlite`
 * connection to the store file. Every statement that takes the file's write lock runs here —
 * keyv writes, setIfAbsent, deletes, expiry sweeps, the state log's commits, trims and rotations,
 * and `writeTogether` — so that waiting for a lock another process holds never stops the main
 * thread's event loop. The main thread posts a request (sqlite-writer.ts) and awaits the answer;
 * this thread answers requests one at a time, in the order they were posted. docs/sqlite.md
 * describes the whole threading model.
 *
 * Each request carries a deadline: the moment it was posted plus the busy timeout. A request
 * that reaches the front of the queue past its deadline is refused without running; one that
 * is still in time waits for the lock only until its deadline (`PRAGMA busy_timeout` is set to
 * what is left before each request). So a held lock makes every queued request wait at most the
 * busy timeout in all, and the answer is authoritative: a refused request changed nothing.
 *
 * Self-contained on purpose (only `node:` imports, and only erasable TypeScript): the same file
 * runs as compiled JavaScript from dist/ and, under the tests, as TypeScript that Node strips
 * itself. The state log's writes live in state-log-sqlite-worker.ts, loaded with a dynamic import whose
 * extension is this file's own (a static relative import would name a `.js` file that does not
 * exist beside the `.ts` one).
 */
import { extname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type * as StateLogWrites from './state-log-sqlite-worker.js';
import type { CommitReply, StateLogStatements, PackedWrites } from './state-log-sqlite-worker.js';

export interface WriterData {
  path: string;
  /** How long a request may wait, from its posting, before it is refused (for messages). */
  busyTimeoutMs: number;
}

/** One keyv row as the writer stores it: the prefixed key, keyv's serialized value, expiry. */
export type KeyRow = [key: string, value: string, expires: number | null];

/** What the main thread asks the writer to do. */
export type WriterOp =
  | { op: 'init' }
  | { op: 'set'; row: KeyRow }
  | { op: 'insertIfAbsent'; row: KeyRow }
  | { op: 'delete'; key: string }
  | { op: 'deleteMany'; keys: string[] }
  | { op: 'clear'; prefix: string | null }
  | { op: 'deleteExpired' }
  | { op: 'commit'; writes: PackedWrites; now: number }
  | { op: 'writeTogether'; rows: KeyRow[]; writes: PackedWrites | null; now: number }
  | { op: 'trim'; cutoff: number }
  | { op: 'takeOpen'; limit: number; now: number }
  | { op: 'flush' }
  | { op: 'close' };

/** One request: an op, its id, and the moment (epoch ms) after which it must not start. */
export type WriterRequest = WriterOp & { id: number; deadline: number };

export type WriterReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; message: string; code?: string };

/** The code of a request refused because a lock outlasted its deadline (as sqlite-reader.ts). */
const BUSY_CODE = 'SQLITE_BUSY';

const KEYV_SCHEMA = `
  CREATE TABLE IF NOT EXISTS keyv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires INTEGER);
  CREATE INDEX IF NOT EXISTS keyv_expires ON keyv (expires);
`;

const KEYV_STATEMENTS = {
  set: `INSERT INTO keyv (key, value, expires) VALUES (?1, ?2, ?3)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
  // One statement, so it is atomic across connections and processes: the update branch runs
  // only over an expired row, and `changes` tells whether this call stored the value. "Expired"
  // is `expires < now`, the complement of sqlite-database.ts's LIVE (keyv's own rule).
  insertIfAbsent: `INSERT INTO keyv (key, value, expires) VALUES (?1, ?2, ?3)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires
        WHERE keyv.expires IS NOT NULL AND keyv.expires < ?4`,
  delete: 'DELETE FROM keyv WHERE key = ?1',
  deleteMany: 'DELETE FROM keyv WHERE key IN (SELECT value FROM json_each(?1))',
  clearAll: 'DELETE FROM keyv',
  // Key ranges instead of LIKE: namespaces may contain `_` and `%`, which LIKE would treat as
  // wildcards, and a range uses the primary-key index.
  clearRange: 'DELETE FROM keyv WHERE key >= ?1 AND key < ?2',
  deleteExpired: 'DELETE FROM keyv WHERE expires < ?1',
} as const;

type KeyvStatements = Record<keyof typeof KEYV_STATEMENTS, StatementSync>;

const stateLogWrites = (await import(
  new URL(`./state-log-sqlite-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)
    .href
)) as typeof StateLogWrites;

/** The connection and, once `init` ran, its statements. */
class Writer {
  readonly db: DatabaseSync;
  #kv: KeyvStatements | undefined;
  #stateLog: StateLogStatements | undefined;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  /**
   * Sets WAL and creates the tables if absent (a no-op, and lock-free, once they exist), then
   * prepares the statements. Run by the first request of any kind: the main thread asks for it
   * explicitly before it prepares its own reads, and a thread restarted after a crash runs it
   * again with whatever request comes first.
   */
  init(): { kv: KeyvStatements; stateLog: StateLogStatements } {
    if (!this.#kv || !this.#stateLog) {
      // WAL is a property of the file, so this is a no-op once any process has set it. The
      // default synchronous=FULL is kept: callers acknowledge webhooks only after a write, so a
      // committed row must survive a power cut, not just a process crash.
      this.db.exec('PRAGMA journal_mode = WAL');
      this.db.exec(KEYV_SCHEMA + stateLogWrites.LEDGER_SCHEMA);
      this.#kv = Object.fromEntries(
        Object.entries(KEYV_STATEMENTS).map(([name, sql]) => [name, this.db.prepare(sql)]),
      ) as KeyvStatements;
      this.#stateLog = stateLogWrites.prepareStateLog(this.db);
    }
    return { kv: this.#kv, stateLog: this.#stateLog };
  }

  handle(request: WriterOp): unknown {
    if (request.op === 'flush') return undefined;
    if (request.op === 'close') {
      if (this.db.isOpen) this.db.close();
      return undefined;
    }
    const { kv, stateLog } = this.init();
    switch (request.op) {
      case 'init':
        return undefined;
      case 'set':
        return void kv.set.run(...request.row);
      case 'insertIfAbsent':
        // "now" when it runs, not when it was posted: a claim that expired while this request
        // waited for the lock is free to take.
        return Number(kv.insertIfAbsent.run(...request.row, Date.now()).changes) > 0;
      case 'delete':
        return Number(kv.delete.run(request.key).changes) > 0;
      case 'deleteMany':
        return Number(kv.deleteMany.run(JSON.stringify(request.keys)).changes) > 0;
      case 'clear':
        if (request.prefix === null) kv.clearAll.run();
        else kv.clearRange.run(request.prefix, upperBound(request.prefix));
        return undefined;
      case 'deleteExpired':
        return Number(kv.deleteExpired.run(Date.now()).changes);
      case 'commit':
        return this.#transaction(() =>
          stateLogWrites.applyCommit(stateLog, request.writes, request.now),
        );
      case 'writeTogether':
        return this.#transaction((): CommitReply => {
          for (const row of request.rows) kv.set.run(...row);
          return request.writes
            ? stateLogWrites.applyCommit(stateLog, request.writes, request.now)
            : [];
        });
      case 'trim':
        return this.#transaction(() => stateLogWrites.applyTrim(stateLog, request.cutoff));
      case 'takeOpen':
        return this.#transaction(() =>
          stateLogWrites.applyTakeOpen(stateLog, request.limit, request.now),
        );
    }
  }

  /**
   * `work` in one `BEGIN IMMEDIATE` transaction: the write lock is taken (or waited for) before
   * the first statement, and an error anywhere rolls every statement of it back.
   */
  #transaction<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
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

/**
 * When the writer copies the WAL into the database file (a checkpoint). A small write keeps
 * SQLite's automatic checkpoint (at 1,000 pages of WAL, inside the COMMIT that crosses them). A
 * large one — a commit carrying at least LARGE_CHARS of JSON text, such as a slice of a bulk
 * change push — runs with it off, and the checkpoint waits: a `PASSIVE` one (it never waits for
 * another connection, and never blocks one) runs once no large write has come for QUIET_MS, or
 * right after a large write's answer once FORCE_CHARS of text were written since the last; then
 * the automatic checkpoint is on again.
 *
 * Why: a COMMIT that crosses the automatic threshold also copies the WAL into the database file
 * and fsyncs it before it returns — measured on the 2-core machine, a 5,000-write COMMIT took
 * 85–100 ms with it and 30–40 ms without, the checkpoint 40–55 ms on its own. A change push is
 * committed slice by slice, several slices in the writer's queue at once, so even a checkpoint
 * after each answer fell inside the push, before the next slice. The checkpoint is housekeeping,
 * not durability (a commit is durable once its WAL frames are synced, `synchronous=FULL`), so no
 * caller waits for it. Small writes do not put it off: under steady small writes after a burst
 * it still runs QUIET_MS after the burst, and the automatic checkpoint bounds the WAL again.
 */
class Checkpoints {
  /** About 350 purchase writes (JSON text in the shared form). */
  static readonly LARGE_CHARS = 1 << 18;
  static readonly QUIET_MS = 50;
  /** About 11,000 purchase writes: the WAL stays within some tens of MiB during a burst. */
  static readonly FORCE_CHARS = 1 << 23;
  static readonly AUTOCHECKPOINT_PAGES = 1000;
  readonly db: DatabaseSync;
  #written = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  /** Before a request runs. */
  before(request: WriterOp): void {
    if (this.#timer === undefined && writtenChars(request) >= Checkpoints.LARGE_CHARS) {
      this.db.exec('PRAGMA wal_autocheckpoint = 0');
    }
  }

  /** After its answer was posted. */
  after(request: WriterOp): void {
    const chars = writtenChars(request);
    if (chars < Checkpoints.LARGE_CHARS) return;
    this.#written += chars;
    clearTimeout(this.#timer);
    if (this.#written >= Checkpoints.FORCE_CHARS) this.run();
    else this.#timer = setTimeout(() => this.run(), Checkpoints.QUIET_MS).unref();
  }

  run(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#written = 0;
    if (!this.db.isOpen) return;
    try {
      this.db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    } catch {
      // Housekeeping only: the next checkpoint copies what this one did not.
    }
    this.db.exec(`PRAGMA wal_autocheckpoint = ${Checkpoints.AUTOCHECKPOINT_PAGES}`);
  }
}

/** JSON text a request writes: the state log's packed texts and keyv's values. */
function writtenChars(request: WriterOp): number {
  switch (request.op) {
    case 'commit':
      return stateLogWrites.packedChars(request.writes);
    case 'writeTogether':
      return (
        (request.writes ? stateLogWrites.packedChars(request.writes) : 0) +
        request.rows.reduce((n, row) => n + String(row[1]).length, 0)
      );
    case 'set':
    case 'insertIfAbsent':
      return String(request.row[1]).length;
    default:
      return 0;
  }
}

/**
 * The page cache of the writer's connection, in KiB (a negative `cache_size`). SQLite's default
 * is 2 MiB; a 5,000-write commit dirties ~8 MiB of pages, and once the cache is full SQLite
 * spills dirty pages into the WAL in the middle of the transaction — the same page again and
 * again as rows are appended to it. Measured on the 2-core machine (three alternating runs of
 * seven 5,000-write commits each), the transaction's statements and COMMIT took a median of
 * 85–116 ms with 2 MiB and 81–86 ms with 32 MiB. 32 MiB holds the largest
 * commit (10,000 purchases, ~16 MiB of pages); SQLite allocates the cache as pages are used, so
 * it costs this thread up to that much memory only once commits that large have run.
 */
const CACHE_KIB = 32 * 1024;

/**
 * Runs one request within its deadline: refused unanswered past it, else with the busy timeout
 * set to what is left of it. SQLite's "database is locked" becomes a message that names the
 * limit, with the code BUSY_CODE.
 */
function answer(writer: Writer, request: WriterRequest, data: WriterData): WriterReply {
  const left = request.deadline - Date.now();
  const waits = request.op !== 'close' && request.op !== 'flush';
  if (waits && left <= 0) return busy(request.id, data);
  try {
    if (waits) writer.db.exec(`PRAGMA busy_timeout = ${Math.ceil(left)}`);
    return { id: request.id, ok: true, result: writer.handle(request) };
  } catch (error) {
    if (isBusy(error)) return busy(request.id, data);
    return failed(request.id, error);
  }
}

/** SQLITE_BUSY, plain or extended (the low byte is the primary result code). */
function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: unknown }).errcode;
  return typeof code === 'number' && (code & 0xff) === 5;
}

function busy(id: number, data: WriterData): WriterReply {
  return {
    id,
    ok: false,
    code: BUSY_CODE,
    message:
      `SQLite store ${data.path}: another connection held the write lock past the busy ` +
      `timeout (${data.busyTimeoutMs} ms); nothing was written.`,
  };
}

function failed(id: number, error: unknown): WriterReply {
  const { message, code } = error as { message?: unknown; code?: unknown };
  return {
    id,
    ok: false,
    message: typeof message === 'string' ? message : String(error),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('sqlite-worker runs only as a worker thread');
  const data = workerData as WriterData;
  const db = new DatabaseSync(data.path, { timeout: data.busyTimeoutMs });
  db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
  const writer = new Writer(db);
  const checkpoints = new Checkpoints(db);
  port.on('message', (request: WriterRequest) => {
    if (db.isOpen) checkpoints.before(request);
    port.postMessage(answer(writer, request, data));
    if (request.op !== 'close') checkpoints.after(request);
  });
}

main();
