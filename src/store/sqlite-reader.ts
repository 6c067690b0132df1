import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The `code` of a store error caused by a lock another connection held past the busy timeout,
 * from a read here or a write in the writer thread (sqlite-worker.ts has the same literal: the
 * main thread cannot import that file, which runs only as a worker).
 */
export const BUSY_CODE = 'SQLITE_BUSY';

/** Prepared statements of the reading connection, by their SQL text. */
export type Prepare = (sql: string) => StatementSync;

/**
 * Pauses between tries of a read that met a lock, in ms: SQLite's own busy handler sleeps
 * 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms between its tries; these are the same, without
 * holding the thread.
 */
const PAUSES_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

/**
 * The main thread's reading connection to the store file, opened with a busy timeout of 0: a
 * statement that meets a lock fails at once (SQLITE_BUSY) instead of waiting synchronously,
 * and `read` tries it again after a pause on a timer — the event loop runs meanwhile — until the
 * busy timeout has passed since the first try; then it rejects with the code BUSY_CODE.
 *
 * Under WAL a reader normally meets no lock at all: another connection's write transaction,
 * `BEGIN IMMEDIATE` from another process, a checkpoint and a `CREATE … IF NOT EXISTS` of tables
 * that exist all leave readers alone (checked with two connections on one file). What can make
 * a read busy is rarer: a connection recovering the WAL index after a crash, another process
 * switching the file out of WAL, or `locking_mode = EXCLUSIVE` there. Those cases wait here,
 * asynchronously, like a write waits in the writer thread.
 */
export class SqliteReader {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #prepare: Prepare = (sql) => {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  };

  constructor(
    readonly path: string,
    readonly busyTimeoutMs: number,
  ) {
    this.#db = new DatabaseSync(path, { timeout: 0 });
  }

  /**
   * `work` with the connection's statements, tried again while it meets a lock (see the class).
   * With `snapshot`, inside one deferred transaction: one WAL snapshot for all its statements,
   * so a write by another connection cannot fall between two of them. `work` must be
   * synchronous, and is run whole each try.
   */
  async read<T>(work: (prepare: Prepare) => T, snapshot = false): Promise<T> {
    const giveUpAt = Date.now() + this.busyTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return snapshot ? this.#inSnapshot(work) : work(this.#prepare);
      } catch (error) {
        if (!isBusy(error)) throw error;
        const left = giveUpAt - Date.now();
        if (left <= 0) throw this.#busy(error);
      }
      await sleep(Math.min(PAUSES_MS[attempt] ?? 100, Math.max(1, giveUpAt - Date.now())));
    }
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #inSnapshot<T>(work: (prepare: Prepare) => T): T {
    this.#db.exec('BEGIN');
    try {
      const result = work(this.#prepare);
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  #busy(cause: unknown): Error {
    return Object.assign(
      new Error(
        `SQLite store ${this.path}: a read stayed blocked by another connection's lock past the ` +
          `busy timeout (${this.busyTimeoutMs} ms).`,
        { cause },
      ),
      { code: BUSY_CODE },
    );
  }
}

/** SQLITE_BUSY, plain or extended (the low byte is the primary result code). */
export function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && (code & 0xff) === 5;
}
