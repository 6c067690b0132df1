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

export interface WriterData {
  path: string;
  busyTimeoutMs: number;
}

/**
 * A commit's writes as the main thread posts them (ledger-sqlite.ts, packWrites): write i is
 * `keys[i]`, `expectedVersions[i]` and `flags[i]` (OPEN, LOGGED), and its value and log entry
 * are the next two of the JSON texts in `texts`, each string holding those of up to 500 writes
 * joined by TEXT_SEPARATOR (the log's text is empty when the write has none).
 */
export interface PackedWrites {
  keys: string[];
  expectedVersions: number[];
  flags: number[];
  /** LedgerWrite.at of each write; 0 = the commit's `now`. */
  ats: number[];
  texts: string[];
}

/** One request from the main thread. */
export type WriterRequest = { id: number } & (
  | { op: 'commit'; writes: PackedWrites; now: number }
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

/** The same as in ledger-sqlite.ts (this file cannot import it): JSON.stringify never writes it. */
const TEXT_SEPARATOR = '\u0001';
/** PackedWrites.flags bits. */
const OPEN = 1;
const LOGGED = 2;

/**
 * A commit is one `BEGIN IMMEDIATE` transaction, however many writes it carries: it takes the
 * file's write lock before the first read, so the version compared is the version overwritten,
 * across processes, and each state lands with its log entry or not at all. This worker runs one
 * request at a time, so nothing else of this process writes inside the transaction either.
 */
function commit(db: DatabaseSync, q: Statements, writes: PackedWrites, now: number) {
  const texts = unpackTexts(writes);
  return transaction(db, (): CommitReply => {
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
        cursor = Number(q.append.run(at, texts[2 * i + 1]!).lastInsertRowid);
      }
      const open = flags & OPEN ? 1 : 0;
      q.put.run(key, version + 1, texts[2 * i]!, open, now, cursor === 0 ? null : cursor);
      out[i] = [version + 1, cursor];
    }
    return out;
  });
}

/** Every write's value and log text, in order: 2 per write. */
function unpackTexts(writes: PackedWrites): string[] {
  const texts = writes.texts.flatMap((joined) => joined.split(TEXT_SEPARATOR));
  if (texts.length !== 2 * writes.keys.length) {
    throw new Error(
      `ledger commit of ${writes.keys.length} writes arrived with ${texts.length} texts`,
    );
  }
  return texts;
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

/**
 * A commit carrying at least this much JSON text (characters) has its WAL checkpoint after its
 * answer instead of inside it: about 600 purchase writes, a quarter of SQLite's default
 * automatic-checkpoint threshold (1,000 pages of 4 KiB).
 */
const LARGE_COMMIT_CHARS = 1 << 20;

function isLargeCommit(request: WriterRequest): boolean {
  if (request.op !== 'commit') return false;
  let chars = 0;
  for (const text of request.writes.texts) chars += text.length;
  return chars >= LARGE_COMMIT_CHARS;
}

/**
 * The WAL checkpoint of a large commit runs after its answer instead of inside it: the commit
 * runs with SQLite's automatic checkpoint switched off (`wal_autocheckpoint = 0`), and this
 * runs right after the answer is posted, before the next request — a `PASSIVE` checkpoint
 * (it never waits for another connection, and never blocks one), then the automatic one is
 * switched back on.
 *
 * Why: with the default `wal_autocheckpoint` (1,000 pages), the COMMIT of a 5,000-write push
 * (~2,000 pages of WAL) also copies the WAL into the database file and fsyncs it before COMMIT
 * returns — measured on the 2-core machine, COMMIT took 85–100 ms with it and 30–40 ms without,
 * the checkpoint 40–55 ms on its own. The checkpoint is housekeeping, not durability (a commit
 * is durable once its WAL frames are synced, `synchronous=FULL`), so PayByGroup need not wait
 * for it. A failed checkpoint is left to the next automatic one. Smaller commits keep SQLite's
 * automatic checkpoint as it is.
 */
function checkpointAfterLargeCommit(db: DatabaseSync): void {
  if (!db.isOpen) return;
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
  } catch {
    // Housekeeping only: the next automatic checkpoint copies what this one did not.
  }
  db.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
}

/** SQLite's default automatic-checkpoint threshold, in WAL pages, restored after a large commit. */
const AUTOCHECKPOINT_PAGES = 1000;

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

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('ledger-sqlite-worker runs only as a worker thread');
  const { path, busyTimeoutMs } = workerData as WriterData;
  // The main thread created the file, its WAL mode and the tables before starting this worker.
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs });
  db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
  const q = Object.fromEntries(
    Object.entries(STATEMENTS).map(([name, sql]) => [name, db.prepare(sql)]),
  ) as Statements;
  port.on('message', (request: WriterRequest) => {
    const large = isLargeCommit(request) && db.isOpen;
    if (large) db.exec('PRAGMA wal_autocheckpoint = 0');
    port.postMessage(answer(db, q, request));
    if (large) checkpointAfterLargeCommit(db);
  });
}

function answer(db: DatabaseSync, q: Statements, request: WriterRequest): WriterReply {
  try {
    return { id: request.id, ok: true, result: handle(db, q, request) };
  } catch (error) {
    return failed(request.id, error);
  }
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

main();
