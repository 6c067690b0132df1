/**
 * The SQLite state log's writes, as the store's writer thread (sqlite-worker.ts) runs them on its
 * own `node:sqlite` connection: commit, trim and open-key rotation. See state-log-sqlite.ts for
 * why the writes run in a thread.
 *
 * Loaded inside the worker, so self-contained on purpose (only `node:` imports, and only
 * erasable TypeScript): the same file runs as compiled JavaScript from dist/ and, under the
 * tests, as TypeScript that Node strips itself — a relative import would name a `.js` file that
 * does not exist beside the `.ts` one. The main thread imports only its types and LEDGER_SCHEMA.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** The state log's tables; the writer thread creates them at start (sqlite-worker.ts, init). */
export const LEDGER_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger_state (
    key TEXT PRIMARY KEY, version INTEGER NOT NULL, value TEXT NOT NULL,
    open INTEGER NOT NULL, checked_at INTEGER NOT NULL, cursor INTEGER);
  CREATE INDEX IF NOT EXISTS ledger_state_open ON ledger_state (checked_at) WHERE open = 1;
  CREATE TABLE IF NOT EXISTS change_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, value TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS change_log_at ON change_log (at);
  CREATE TABLE IF NOT EXISTS ledger_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

/**
 * A commit's writes as the main thread posts them (state-log-sqlite.ts, packWrites): write i is
 * `keys[i]`, `expectedVersions[i]` and `flags[i]` (OPEN, LOGGED, SHARED), and its value and log
 * entry are the next two of the JSON texts in `texts` — or the next five, the shared form, with
 * SHARED — each string holding those of up to 500 writes joined by TEXT_SEPARATOR (the log's
 * text is empty when the write has none).
 */
export interface PackedWrites {
  keys: string[];
  expectedVersions: number[];
  flags: number[];
  /** StateLogWrite.at of each write; 0 = the commit's `now`. */
  ats: number[];
  texts: string[];
}

/** Per write: [version, cursor] when applied (cursor 0 = no log entry), null when skipped. */
export type CommitReply = Array<[number, number] | null>;

const STATEMENTS = {
  // Positional parameters for the three statements run per write: binding them is cheaper than
  // a named-parameter object (measured ~10 ms less for 5,000 writes).
  version: 'SELECT version FROM ledger_state WHERE key = ?1',
  // A key that stays open keeps its place in the rotation (checked_at); one that opens anew
  // starts at `now`. The cursor moves only with a logged write.
  put: `INSERT INTO ledger_state (key, version, value, open, checked_at, cursor)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6)
        ON CONFLICT (key) DO UPDATE SET version = excluded.version, value = excluded.value,
          open = excluded.open, cursor = coalesce(excluded.cursor, ledger_state.cursor),
          checked_at = CASE WHEN ledger_state.open = 1 THEN ledger_state.checked_at ELSE ?5 END`,
  append: 'INSERT INTO change_log (at, value) VALUES (?1, ?2)',
  lastOld: 'SELECT max(seq) AS seq FROM change_log WHERE at < $cutoff',
  trim: 'DELETE FROM change_log WHERE seq <= $seq',
  setTrimmed: `INSERT INTO ledger_meta (name, value) VALUES ('trimmed_up_to', $seq)
               ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)`,
  open: 'SELECT key FROM ledger_state WHERE open = 1 ORDER BY checked_at, key LIMIT $n',
  check: 'UPDATE ledger_state SET checked_at = $now WHERE key = $key',
} as const;

export type StateLogStatements = Record<keyof typeof STATEMENTS, StatementSync>;

export function prepareStateLog(db: DatabaseSync): StateLogStatements {
  return Object.fromEntries(
    Object.entries(STATEMENTS).map(([name, sql]) => [name, db.prepare(sql)]),
  ) as StateLogStatements;
}

/** The same as in state-log-sqlite.ts (this file cannot import it): JSON.stringify never writes it. */
const TEXT_SEPARATOR = '\u0001';
/** PackedWrites.flags bits. */
const OPEN = 1;
const LOGGED = 2;
/** Five texts: shared, value before and after it, log before and after it (state-log.ts, WriteText). */
const SHARED = 4;

/**
 * Applies a commit's writes inside the caller's `BEGIN IMMEDIATE` transaction (sqlite-worker.ts
 * runs every write request in one): the write lock is taken before the first read, so the
 * version compared is the version overwritten, across processes, and each state lands with its
 * log entry or not at all. The writer thread runs one request at a time, so nothing else of
 * this process writes inside the transaction either.
 */
export function applyCommit(q: StateLogStatements, writes: PackedWrites, now: number): CommitReply {
  const texts = unpackTexts(writes);
  const out: CommitReply = new Array(writes.keys.length);
  for (let i = 0; i < writes.keys.length; i++) {
    const key = writes.keys[i]!;
    const flags = writes.flags[i]!;
    const row = q.version.get(key) as { version: number } | undefined;
    const version = row?.version ?? 0;
    if (version !== writes.expectedVersions[i]) {
      out[i] = null;
      continue;
    }
    let cursor = 0;
    if (flags & LOGGED) {
      const at = writes.ats[i] || now;
      cursor = Number(q.append.run(at, texts.log[i]!).lastInsertRowid);
    }
    const open = flags & OPEN ? 1 : 0;
    q.put.run(key, version + 1, texts.value[i]!, open, now, cursor === 0 ? null : cursor);
    out[i] = [version + 1, cursor];
  }
  return out;
}

/** Every write's value and log text, in order (a shared form joined here). */
function unpackTexts(writes: PackedWrites): { value: string[]; log: string[] } {
  const parts = writes.texts.flatMap((joined) => joined.split(TEXT_SEPARATOR));
  const n = writes.keys.length;
  const value = new Array<string>(n);
  const log = new Array<string>(n);
  let k = 0;
  for (let i = 0; i < n && k < parts.length; i++) {
    if (writes.flags[i]! & SHARED) {
      const shared = parts[k]!;
      value[i] = parts[k + 1]! + shared + parts[k + 2]!;
      log[i] = parts[k + 3]! + shared + parts[k + 4]!;
      k += 5;
    } else {
      value[i] = parts[k]!;
      log[i] = parts[k + 1]!;
      k += 2;
    }
  }
  const expected = writes.flags.reduce((sum, flags) => sum + (flags & SHARED ? 5 : 2), 0);
  if (parts.length !== expected) {
    throw new Error(
      `stateLog commit of ${n} writes arrived with ${parts.length} texts; expected ${expected}`,
    );
  }
  return { value, log };
}

/** Inside the caller's transaction: drops log entries older than `cutoff`. */
export function applyTrim(q: StateLogStatements, cutoff: number): number {
  const last = (q.lastOld.get({ cutoff }) as { seq: number | null }).seq;
  if (last === null) return 0;
  q.setTrimmed.run({ seq: last });
  return Number(q.trim.run({ seq: last }).changes);
}

/** Inside the caller's transaction: the least recently checked open keys, marked checked. */
export function applyTakeOpen(q: StateLogStatements, limit: number, now: number): string[] {
  const keys = (q.open.all({ n: limit }) as Array<{ key: string }>).map((r) => r.key);
  for (const key of keys) q.check.run({ key, now });
  return keys;
}

/** How much JSON text a commit carries, in characters (for the large-commit checkpoint). */
export function packedChars(writes: PackedWrites): number {
  let chars = 0;
  for (const text of writes.texts) chars += text.length;
  return chars;
}
