import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  SERIALIZE_SLICE,
  writeTexts,
  type StateLog,
  type StateLogCommitResult,
  type StateLogLogPage,
  type StateLogState,
  type StateLogWrite,
  type LogWindow,
} from './state-log.js';
import type { CommitReply, PackedWrites } from './state-log-sqlite-worker.js';
import type { SqliteDatabase } from './sqlite-database.js';

/** The reads, on the main thread's reading connection; the writes are in state-log-sqlite-worker.ts. */
const READS = {
  getMany: `SELECT key, version, value, cursor FROM ledger_state
            WHERE key IN (SELECT value FROM json_each($keys))`,
  page: 'SELECT seq, value FROM change_log WHERE seq > $after ORDER BY seq LIMIT $n',
  // Through the `change_log_at` index: the rows of the window, then ordered by seq.
  pageWindow: `SELECT seq, value FROM change_log INDEXED BY change_log_at
               WHERE at >= $from AND at < $to AND seq > $after ORDER BY seq LIMIT $n`,
  head: "SELECT seq FROM sqlite_sequence WHERE name = 'change_log'",
  trimmedUpTo: "SELECT value FROM ledger_meta WHERE name = 'trimmed_up_to'",
} as const;

/**
 * The state log in the SQLite file, beside keyv's table, through the store's SqliteDatabase: its
 * reading connection on the main thread and its writer thread (docs/sqlite.md).
 *
 * - `ledger_state`: one row per key with its version.
 * - `change_log`: `seq INTEGER PRIMARY KEY AUTOINCREMENT` — SQLite never reuses an AUTOINCREMENT
 *   value, even after the newest rows are deleted, so a cursor handed out once keeps its place.
 * - `ledger_meta`: the highest seq ever trimmed, to tell an expired cursor from a quiet log.
 * (The tables are created by the writer thread: LEDGER_SCHEMA in state-log-sqlite-worker.ts.)
 *
 * Reads run on the main thread: each is one short statement (or a deferred transaction — one
 * WAL snapshot, so a trim by another process cannot fall between the watermark and the page);
 * under WAL a read does not wait for writers, and in the rare case it meets a lock it is tried
 * again on a timer (sqlite-reader.ts), never waiting synchronously.
 *
 * Writes (commit, trim, takeOpen) run in the store's writer thread, each one `BEGIN IMMEDIATE`
 * transaction there. Why a thread: node:sqlite is synchronous, so waiting for another
 * process's write lock would stop the event loop, and one 5,000-row commit (a bulk change
 * push: a version read, a log insert and a state upsert per write, then the fsync) held the
 * event loop for 65–100 ms on the 2-core machine — every other request, `/healthz` included,
 * waited that long. In the worker the main thread only serializes the writes (in slices,
 * packWrites) and posts them. The file's write lock still serializes writers across processes,
 * and the worker runs one request at a time, so the compare-and-set semantics are those of one
 * connection.
 */
export class SqliteStateLog implements StateLog {
  readonly #database: SqliteDatabase;
  /** Writes under way (serializing or at the writer): close() lets them finish first. */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Settles once the last commit called was posted to the writer thread. */
  #posted: Promise<unknown> = Promise.resolve();
  /**
   * Commits are serialized and posted in call order, and the writer thread runs them in the
   * order posted.
   */
  readonly commitsInCallOrder = true;

  constructor(database: SqliteDatabase) {
    this.#database = database;
  }

  async getMany<T>(keys: readonly string[]): Promise<Map<string, StateLogState<T>>> {
    const rows = await this.#database.read(
      (q) =>
        q(READS.getMany).all({ keys: JSON.stringify(keys) }) as Array<{
          key: string;
          version: number;
          value: string;
          cursor: number | null;
        }>,
    );
    return new Map(
      rows.map((r) => [
        r.key,
        {
          version: r.version,
          value: JSON.parse(r.value) as T,
          ...(r.cursor === null ? {} : { cursor: String(r.cursor) }),
        },
      ]),
    );
  }

  commit<T>(writes: ReadonlyArray<StateLogWrite<T>>): Promise<StateLogCommitResult[]> {
    return this.track(async () => {
      if (writes.length === 0) return [];
      // Packing yields between slices, so a smaller commit called later could be posted first:
      // each waits until the one called before it was posted (commitsInCallOrder).
      const turn = this.#posted.then(async () => {
        const packed = await packWrites(writes);
        // Wrapped, so that this step ends when the request is posted, not when it is answered.
        return {
          reply: this.#database.write<CommitReply>({
            op: 'commit',
            writes: packed,
            now: Date.now(),
          }),
        };
      });
      this.#posted = turn.catch(() => undefined);
      const { reply } = await turn;
      return commitResults(await reply);
    });
  }

  async readLog<T>(
    after: string | undefined,
    limit: number,
    window?: LogWindow,
  ): Promise<StateLogLogPage<T>> {
    const from = after === undefined ? 0 : Number(after);
    const { trimmed, rows } = await this.#database.read((q) => {
      const watermark = q(READS.trimmedUpTo).get() as { value: number } | undefined;
      const page = window
        ? q(READS.pageWindow).all({
            after: from,
            n: limit,
            from: window.from ?? Number.MIN_SAFE_INTEGER,
            to: window.to ?? Number.MAX_SAFE_INTEGER,
          })
        : q(READS.page).all({ after: from, n: limit });
      return {
        trimmed: watermark?.value ?? 0,
        rows: page as Array<{ seq: number; value: string }>,
      };
    }, true);
    return {
      expired: after !== undefined && from < trimmed,
      entries: rows.map((r) => ({ cursor: String(r.seq), value: JSON.parse(r.value) as T })),
    };
  }

  async head(): Promise<string | undefined> {
    const row = await this.#database.read(
      (q) => q(READS.head).get() as { seq: number } | undefined,
    );
    return row && row.seq > 0 ? String(row.seq) : undefined;
  }

  trim(maxAgeMs: number): Promise<number> {
    return this.track(() =>
      this.#database.write<number>({ op: 'trim', cutoff: Date.now() - maxAgeMs }),
    );
  }

  isCursor(cursor: string): boolean {
    return /^\d{1,15}$/.test(cursor);
  }

  takeOpen(limit: number): Promise<string[]> {
    return this.track(() =>
      this.#database.write<string[]>({ op: 'takeOpen', limit, now: Date.now() }),
    );
  }

  /**
   * Lets the writes under way finish — a commit still serializing has not reached the writer
   * yet, and must not find it closed. The database (its writer thread and reading connection)
   * is closed by its owner after this.
   */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Runs and tracks a write, for close(); sqlite.ts's `writeTogether` is tracked here too. */
  track<R>(write: () => Promise<R>): Promise<R> {
    const running = write();
    this.#inFlight.add(running);
    void running.then(
      () => this.#inFlight.delete(running),
      () => this.#inFlight.delete(running),
    );
    return running;
  }
}

/** The writer's per-write replies as StateLogCommitResults. */
export function commitResults(replies: CommitReply): StateLogCommitResult[] {
  return replies.map((reply): StateLogCommitResult => {
    if (reply === null) return { ok: false };
    const [version, cursor] = reply;
    return cursor === 0 ? { ok: true, version } : { ok: true, version, cursor: String(cursor) };
  });
}

/**
 * Separates the JSON texts in PackedWrites.texts. JSON.stringify never writes U+0001 — it
 * escapes every control character inside strings and writes no whitespace outside them — so it
 * cannot occur inside a value or a log entry. state-log-sqlite-worker.ts splits on the same
 * character (it cannot import this file).
 */
const TEXT_SEPARATOR = '\u0001';
/** PackedWrites.flags bits (the same in state-log-sqlite-worker.ts). */
const OPEN = 1;
const LOGGED = 2;
/** The write's texts are WriteText's shared form: shared, value before, after, log before, after. */
const SHARED = 4;

/**
 * The writes as posted to the writer thread: the keys, versions and flags in arrays, and the
 * JSON texts joined into one string per slice of SERIALIZE_SLICE writes, write after write, made
 * a slice at a time with a yield between slices. A write's texts are its value and its log
 * entry (empty when there is none), or, when its caller gave WriteText's shared form, the five
 * parts of it (flag SHARED), joined in the writer thread: the purchase a state and its log entry
 * share crosses once.
 *
 * Why not an array of write objects: postMessage copies it with the structured clone algorithm,
 * object by object and string by string — 5,000 writes (10,000 strings of ~700 characters)
 * took 14–80 ms for the round trip on the 2-core machine, much of it on the main thread in one
 * uninterruptible call, and more again as garbage in the worker. Ten strings of the same text
 * take ~9 ms, plus ~7 ms to join them in slices (measured with a script outside the repo).
 */
export async function packWrites(
  writes: ReadonlyArray<StateLogWrite<unknown>>,
): Promise<PackedWrites> {
  const packed: PackedWrites = { keys: [], expectedVersions: [], flags: [], ats: [], texts: [] };
  for (let start = 0; start < writes.length; start += SERIALIZE_SLICE) {
    if (start > 0) await yieldToEventLoop();
    const parts: string[] = [];
    for (const write of writes.slice(start, start + SERIALIZE_SLICE)) {
      packed.keys.push(write.key);
      packed.expectedVersions.push(write.expectedVersion);
      packed.ats.push(write.at ?? 0);
      const given = write.text;
      if (given !== undefined && 'shared' in given) {
        packed.flags.push((write.open ? OPEN : 0) | LOGGED | SHARED);
        parts.push(given.shared, ...given.value, ...given.log);
        continue;
      }
      const text = writeTexts(write);
      packed.flags.push((write.open ? OPEN : 0) | (text.log === undefined ? 0 : LOGGED));
      parts.push(text.value, text.log ?? '');
    }
    packed.texts.push(parts.join(TEXT_SEPARATOR));
  }
  return packed;
}
