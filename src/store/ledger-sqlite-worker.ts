/**
 * The SQLite ledger's writer: a `node:worker_threads` worker with its own `node:sqlite`
 * connection to the store file, which runs every ledger write (commit, trim, open-key rotation)
 * so the main thread only posts a message and awaits the answer. See ledger-sqlite.ts for why.
 *
 * Self-contained on purpose (only `node:` imports, and only erasable TypeScript): the same file
 * runs as compiled JavaScript from dist/ and, under the tests, as TypeScript that Node strips
 * itself — a relative import would name a `.js` file that does not exist beside the `.ts` one.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import type { SerializedWrite } from './ledger.js';

export interface WriterData {
  path: string;
  busyTimeoutMs: number;
}

/** One request from the main thread. */
export type WriterRequest = { id: number } & (
  | { op: 'commit'; writes: SerializedWrite[]; now: number }
  | { op: 'trim'; cutoff: number }
  | { op: 'takeOpen'; limit: number; now: number }
  | { op: 'close' }
);

/** Per write: [version, cursor] when applied (cursor 0 = no log entry), null when skipped. */
export type CommitReply = Array<[number, number] | null>;

export type WriterReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; message: string; code?: string };

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

type Statements = Record<keyof typeof STATEMENTS, StatementSync>;

/**
 * A commit is one `BEGIN IMMEDIATE` transaction, however many writes it carries: it takes the
 * file's write lock before the first read, so the version compared is the version overwritten,
 * across processes, and each state lands with its log entry or not at all. This worker runs one
 * request at a time, so nothing else of this process writes inside the transaction either.
 */
function commit(db: DatabaseSync, q: Statements, writes: SerializedWrite[], now: number) {
  return transaction(db, (): CommitReply => {
    const out: CommitReply = new Array(writes.length);
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      const row = q.version.get(write.key) as { version: number } | undefined;
      const version = row?.version ?? 0;
      if (version !== write.expectedVersion) {
        out[i] = null;
        continue;
      }
      let cursor = 0;
      if (write.log !== undefined) {
        cursor = Number(q.append.run(now, write.log).lastInsertRowid);
      }
      const open = write.open ? 1 : 0;
      q.put.run(write.key, version + 1, write.value, open, now, cursor === 0 ? null : cursor);
      out[i] = [version + 1, cursor];
    }
    return out;
  });
}

function trim(db: DatabaseSync, q: Statements, cutoff: number): number {
  return transaction(db, () => {
    const last = (q.lastOld.get({ cutoff }) as { seq: number | null }).seq;
    if (last === null) return 0;
    q.setTrimmed.run({ seq: last });
    return Number(q.trim.run({ seq: last }).changes);
  });
}

function takeOpen(db: DatabaseSync, q: Statements, limit: number, now: number): string[] {
  return transaction(db, () => {
    const keys = (q.open.all({ n: limit }) as Array<{ key: string }>).map((r) => r.key);
    for (const key of keys) q.check.run({ key, now });
    return keys;
  });
}

function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

function handle(db: DatabaseSync, q: Statements, request: WriterRequest): unknown {
  switch (request.op) {
    case 'commit':
      return commit(db, q, request.writes, request.now);
    case 'trim':
      return trim(db, q, request.cutoff);
    case 'takeOpen':
      return takeOpen(db, q, request.limit, request.now);
    case 'close':
      if (db.isOpen) db.close();
      return undefined;
  }
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('ledger-sqlite-worker runs only as a worker thread');
  const { path, busyTimeoutMs } = workerData as WriterData;
  // The main thread created the file, its WAL mode and the tables before starting this worker.
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
  const q = Object.fromEntries(
    Object.entries(STATEMENTS).map(([name, sql]) => [name, db.prepare(sql)]),
  ) as Statements;
  port.on('message', (request: WriterRequest) => {
    let reply: WriterReply;
    try {
      reply = { id: request.id, ok: true, result: handle(db, q, request) };
    } catch (error) {
      const { message, code } = error as { message?: unknown; code?: unknown };
      reply = {
        id: request.id,
        ok: false,
        message: typeof message === 'string' ? message : String(error),
        ...(typeof code === 'string' ? { code } : {}),
      };
    }
    port.postMessage(reply);
  });
}

main();
