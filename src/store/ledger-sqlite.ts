import { DatabaseSync } from 'node:sqlite';
import type {
  Ledger,
  LedgerCommitResult,
  LedgerLogPage,
  LedgerState,
  LedgerWrite,
} from './ledger.js';

export interface SqliteLedger extends Ledger {
  close(): void;
}

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
 */
export function createSqliteLedger(path: string, busyTimeoutMs: number): SqliteLedger {
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
  db.exec(`
    CREATE TABLE IF NOT EXISTS ledger_state (
      key TEXT PRIMARY KEY, version INTEGER NOT NULL, value TEXT NOT NULL,
      open INTEGER NOT NULL, checked_at INTEGER NOT NULL, cursor INTEGER);
    CREATE INDEX IF NOT EXISTS ledger_state_open ON ledger_state (checked_at) WHERE open = 1;
    CREATE TABLE IF NOT EXISTS change_log (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, value TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS change_log_at ON change_log (at);
    CREATE TABLE IF NOT EXISTS ledger_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  `);
  const q = {
    getMany: db.prepare(
      'SELECT key, version, value, cursor FROM ledger_state WHERE key IN (SELECT value FROM json_each($keys))',
    ),
    version: db.prepare('SELECT version FROM ledger_state WHERE key = $key'),
    put: db.prepare(
      `INSERT INTO ledger_state (key, version, value, open, checked_at, cursor)
       VALUES ($key, $version, $value, $open, $now, $cursor)
       ON CONFLICT (key) DO UPDATE SET version = excluded.version, value = excluded.value,
         open = excluded.open, cursor = coalesce(excluded.cursor, ledger_state.cursor),
         checked_at = CASE WHEN ledger_state.open = 1 THEN ledger_state.checked_at ELSE $now END`,
    ),
    append: db.prepare('INSERT INTO change_log (at, value) VALUES ($at, $value)'),
    page: db.prepare('SELECT seq, value FROM change_log WHERE seq > $after ORDER BY seq LIMIT $n'),
    head: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'"),
    trimmedUpTo: db.prepare("SELECT value FROM ledger_meta WHERE name = 'trimmed_up_to'"),
    lastOld: db.prepare('SELECT max(seq) AS seq FROM change_log WHERE at < $cutoff'),
    trim: db.prepare('DELETE FROM change_log WHERE seq <= $seq'),
    setTrimmed: db.prepare(
      `INSERT INTO ledger_meta (name, value) VALUES ('trimmed_up_to', $seq)
       ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`,
    ),
    open: db.prepare(
      'SELECT key FROM ledger_state WHERE open = 1 ORDER BY checked_at, key LIMIT $n',
    ),
    check: db.prepare('UPDATE ledger_state SET checked_at = $now WHERE key = $key'),
  };

  const transaction = <T>(work: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };

  const applyOne = (write: LedgerWrite<unknown>, now: number): LedgerCommitResult => {
    const row = q.version.get({ key: write.key }) as { version: number } | undefined;
    const version = row?.version ?? 0;
    if (version !== write.expectedVersion) return { ok: false };
    let cursor: string | undefined;
    if (write.log !== undefined) {
      const inserted = q.append.run({ at: now, value: JSON.stringify(write.log) });
      cursor = String(inserted.lastInsertRowid);
    }
    q.put.run({
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
  };

  return {
    async getMany<T>(keys: readonly string[]) {
      const rows = q.getMany.all({ keys: JSON.stringify(keys) }) as Array<{
        key: string;
        version: number;
        value: string;
        cursor: number | null;
      }>;
      return new Map<string, LedgerState<T>>(
        rows.map((r) => [
          r.key,
          {
            version: r.version,
            value: JSON.parse(r.value) as T,
            ...(r.cursor === null ? {} : { cursor: String(r.cursor) }),
          },
        ]),
      );
    },

    async commit<T>(writes: ReadonlyArray<LedgerWrite<T>>) {
      const now = Date.now();
      return transaction(() => writes.map((write) => applyOne(write, now)));
    },

    async readLog<T>(after: string | undefined, limit: number): Promise<LedgerLogPage<T>> {
      const from = after === undefined ? 0 : Number(after);
      const trimmed = (q.trimmedUpTo.get() as { value: number } | undefined)?.value ?? 0;
      const rows = q.page.all({ after: from, n: limit }) as Array<{ seq: number; value: string }>;
      return {
        expired: after !== undefined && from < trimmed,
        entries: rows.map((r) => ({ cursor: String(r.seq), value: JSON.parse(r.value) as T })),
      };
    },

    async head() {
      const row = q.head.get() as { seq: number } | undefined;
      return row && row.seq > 0 ? String(row.seq) : undefined;
    },

    async trim(maxAgeMs: number) {
      return transaction(() => {
        const last = (q.lastOld.get({ cutoff: Date.now() - maxAgeMs }) as { seq: number | null })
          .seq;
        if (last === null) return 0;
        q.setTrimmed.run({ seq: last });
        return Number(q.trim.run({ seq: last }).changes);
      });
    },

    isCursor: (cursor: string) => /^\d{1,15}$/.test(cursor),

    async takeOpen(limit: number) {
      const now = Date.now();
      return transaction(() => {
        const keys = (q.open.all({ n: limit }) as Array<{ key: string }>).map((r) => r.key);
        for (const key of keys) q.check.run({ key, now });
        return keys;
      });
    },

    close() {
      if (db.isOpen) db.close();
    },
  };
}
