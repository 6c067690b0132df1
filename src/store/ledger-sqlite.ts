import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type {
  Ledger,
  LedgerCommitResult,
  LedgerLogPage,
  LedgerState,
  LedgerWrite,
} from './ledger.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger_state (
    key TEXT PRIMARY KEY, version INTEGER NOT NULL, value TEXT NOT NULL,
    open INTEGER NOT NULL, checked_at INTEGER NOT NULL, cursor INTEGER);
  CREATE INDEX IF NOT EXISTS ledger_state_open ON ledger_state (checked_at) WHERE open = 1;
  CREATE TABLE IF NOT EXISTS change_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, value TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS change_log_at ON change_log (at);
  CREATE TABLE IF NOT EXISTS ledger_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

const STATEMENTS = {
  getMany: `SELECT key, version, value, cursor FROM ledger_state
            WHERE key IN (SELECT value FROM json_each($keys))`,
  version: 'SELECT version FROM ledger_state WHERE key = $key',
  // A key that stays open keeps its place in the rotation (checked_at); one that opens anew
  // starts at `now`. The cursor moves only with a logged write.
  put: `INSERT INTO ledger_state (key, version, value, open, checked_at, cursor)
        VALUES ($key, $version, $value, $open, $now, $cursor)
        ON CONFLICT (key) DO UPDATE SET version = excluded.version, value = excluded.value,
          open = excluded.open, cursor = coalesce(excluded.cursor, ledger_state.cursor),
          checked_at = CASE WHEN ledger_state.open = 1 THEN ledger_state.checked_at ELSE $now END`,
  append: 'INSERT INTO change_log (at, value) VALUES ($at, $value)',
  page: 'SELECT seq, value FROM change_log WHERE seq > $after ORDER BY seq LIMIT $n',
  head: "SELECT seq FROM sqlite_sequence WHERE name = 'change_log'",
  trimmedUpTo: "SELECT value FROM ledger_meta WHERE name = 'trimmed_up_to'",
  lastOld: 'SELECT max(seq) AS seq FROM change_log WHERE at < $cutoff',
  trim: 'DELETE FROM change_log WHERE seq <= $seq',
  setTrimmed: `INSERT INTO ledger_meta (name, value) VALUES ('trimmed_up_to', $seq)
               ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`,
  open: 'SELECT key FROM ledger_state WHERE open = 1 ORDER BY checked_at, key LIMIT $n',
  check: 'UPDATE ledger_state SET checked_at = $now WHERE key = $key',
} as const;

/**
 * The ledger in the SQLite file, on its own connection beside keyv's (WAL lets both, and other
 * processes on the same file, read while one writes).
 *
 * - `ledger_state`: one row per key with its version.
 * - `change_log`: `seq INTEGER PRIMARY KEY AUTOINCREMENT` — SQLite never reuses an AUTOINCREMENT
 *   value, even after the newest rows are deleted, so a cursor handed out once keeps its place.
 * - `ledger_meta`: the highest seq ever trimmed, to tell an expired cursor from a quiet log.
 *
 * A commit is one `BEGIN IMMEDIATE` transaction: it takes the file's write lock before the first
 * read, so the version compared is the version overwritten, across processes. node:sqlite is
 * synchronous, so no other JavaScript of this process runs inside the transaction either.
 * Multi-statement reads run in a deferred transaction: one WAL snapshot, so a trim by another
 * process cannot fall between the watermark and the page.
 */
export class SqliteLedger implements Ledger {
  readonly #db: DatabaseSync;
  readonly #q: Record<keyof typeof STATEMENTS, StatementSync>;

  constructor(path: string, busyTimeoutMs: number) {
    this.#db = new DatabaseSync(path, { timeout: busyTimeoutMs });
    this.#db.exec(SCHEMA);
    this.#q = Object.fromEntries(
      Object.entries(STATEMENTS).map(([name, sql]) => [name, this.#db.prepare(sql)]),
    ) as Record<keyof typeof STATEMENTS, StatementSync>;
  }

  async getMany<T>(keys: readonly string[]): Promise<Map<string, LedgerState<T>>> {
    const rows = this.#q.getMany.all({ keys: JSON.stringify(keys) }) as Array<{
      key: string;
      version: number;
      value: string;
      cursor: number | null;
    }>;
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

  async commit<T>(writes: ReadonlyArray<LedgerWrite<T>>): Promise<LedgerCommitResult[]> {
    const now = Date.now();
    return this.#transaction('BEGIN IMMEDIATE', () =>
      writes.map((write) => this.#applyOne(write, now)),
    );
  }

  #applyOne(write: LedgerWrite<unknown>, now: number): LedgerCommitResult {
    const row = this.#q.version.get({ key: write.key }) as { version: number } | undefined;
    const version = row?.version ?? 0;
    if (version !== write.expectedVersion) return { ok: false };
    let cursor: string | undefined;
    if (write.log !== undefined) {
      const inserted = this.#q.append.run({ at: now, value: JSON.stringify(write.log) });
      cursor = String(inserted.lastInsertRowid);
    }
    this.#q.put.run({
      key: write.key,
      version: version + 1,
      value: JSON.stringify(write.value),
      open: write.open ? 1 : 0,
      now,
      cursor: cursor === undefined ? null : Number(cursor),
    });
    return cursor === undefined
      ? { ok: true, version: version + 1 }
      : { ok: true, version: version + 1, cursor };
  }

  async readLog<T>(after: string | undefined, limit: number): Promise<LedgerLogPage<T>> {
    const from = after === undefined ? 0 : Number(after);
    return this.#transaction('BEGIN', () => {
      const trimmed = (this.#q.trimmedUpTo.get() as { value: number } | undefined)?.value ?? 0;
      const rows = this.#q.page.all({ after: from, n: limit }) as Array<{
        seq: number;
        value: string;
      }>;
      return {
        expired: after !== undefined && from < trimmed,
        entries: rows.map((r) => ({ cursor: String(r.seq), value: JSON.parse(r.value) as T })),
      };
    });
  }

  async head(): Promise<string | undefined> {
    const row = this.#q.head.get() as { seq: number } | undefined;
    return row && row.seq > 0 ? String(row.seq) : undefined;
  }

  async trim(maxAgeMs: number): Promise<number> {
    return this.#transaction('BEGIN IMMEDIATE', () => {
      const cutoff = Date.now() - maxAgeMs;
      const last = (this.#q.lastOld.get({ cutoff }) as { seq: number | null }).seq;
      if (last === null) return 0;
      this.#q.setTrimmed.run({ seq: last });
      return Number(this.#q.trim.run({ seq: last }).changes);
    });
  }

  isCursor(cursor: string): boolean {
    return /^\d{1,15}$/.test(cursor);
  }

  async takeOpen(limit: number): Promise<string[]> {
    const now = Date.now();
    return this.#transaction('BEGIN IMMEDIATE', () => {
      const keys = (this.#q.open.all({ n: limit }) as Array<{ key: string }>).map((r) => r.key);
      for (const key of keys) this.#q.check.run({ key, now });
      return keys;
    });
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #transaction<T>(begin: 'BEGIN' | 'BEGIN IMMEDIATE', work: () => T): T {
    this.#db.exec(begin);
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }
}
