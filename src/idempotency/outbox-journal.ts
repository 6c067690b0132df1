import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';

/**
 * The outbox's durable half: every write the store refused is appended here, and fsync'd,
 * before the outbox answers — so an outcome the store could not take survives the process that
 * holds it. One file per process under a directory on local disk (`OUTBOX_DIR`), JSON lines:
 * `{"id":n,"writes":[…],"meta":{…}}` for a waiting write, `{"done":n}` once the store took it.
 * When nothing waits the file is emptied.
 *
 * A process that dies leaves its file behind. Another process using the same directory —
 * normally the restarted one — adopts it: renames it (atomic, so exactly one adopter wins),
 * copies what still waits into its own file, fsync'd, then deletes it, and retries those writes
 * like its own. A file is an orphan when the process its name carries is gone from this host,
 * or when its owner stopped touching it (a live process touches its file every `heartbeatMs`;
 * the fallback for a reused pid, e.g. pid 1 in a restarted container).
 */

/** One store write as the journal keeps it: `expiresAt` absolute, so a replay keeps the TTL. */
export interface JournaledWrite {
  namespace: string;
  key: string;
  /** Absent: a delete. */
  value?: unknown;
  /** Epoch ms; absent: no expiry. */
  expiresAt?: number;
  /** The TTL as asked (what `Outbox.peek` shows); `expiresAt` is what a replay keeps to. */
  ttlMs?: number;
}

export interface JournalRecord {
  id: number;
  writes: JournaledWrite[];
  meta: Record<string, string | number | undefined>;
}

export interface OutboxJournalOptions {
  dir: string;
  logger: Logger;
  /**
   * How often this process touches its file and looks for orphans.
   * @default 5000
   */
  heartbeatMs?: number;
  /**
   * A file untouched this long is an orphan even if a process with its pid runs.
   * @default 30000
   */
  staleMs?: number;
}

const FILE = /^(\d+)-[0-9a-f]+\.jsonl(\.adopting)?$/;

export class OutboxJournal {
  readonly #dir: string;
  readonly #name: string;
  readonly #logger: Logger;
  readonly #staleMs: number;
  readonly #heartbeatMs: number;
  #handle: FileHandle | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: OutboxJournalOptions) {
    this.#dir = options.dir;
    this.#logger = options.logger;
    this.#staleMs = options.staleMs ?? 30_000;
    this.#name = `${process.pid}-${randomBytes(6).toString('hex')}.jsonl`;
    this.#heartbeatMs = options.heartbeatMs ?? 5000;
  }

  /** The file this process writes (for logs and tests). */
  get path(): string {
    return join(this.#dir, this.#name);
  }

  /**
   * Adopts orphans found now and every heartbeat after: `adopt` takes over their waiting writes
   * (and journals them as its own) before the orphan file is deleted. Keeps this process's file
   * touched.
   */
  start(adopt: (records: JournalRecord[]) => Promise<void>): Promise<void> {
    const round = async () => {
      if (this.#handle) await utimes(this.path, new Date(), new Date()).catch(() => undefined);
      await this.#adoptOrphans(adopt);
    };
    this.#timer = setInterval(() => {
      round().catch((error: unknown) =>
        this.#logger.warn({ err: error }, 'outbox journal: orphan scan failed'),
      );
    }, this.#heartbeatMs);
    this.#timer.unref();
    return round();
  }

  /**
   * The newest write for `namespace`/`key` that another process on this directory journaled and
   * the store has not taken yet — read from their files, never from memory.
   *
   * Why: while the store is away, a retry that reaches a different instance than the one that
   * called the upstream cannot read the outcome from the store, but the outcome is in that
   * instance's journal, on disk, fsync'd before its caller was answered. When the instances
   * share `OUTBOX_DIR` (processes on one host), the retry is answered from there instead of
   * STORE_UNAVAILABLE. Only read when the store failed, so it costs nothing otherwise.
   */
  async peekOthers(namespace: string, key: string): Promise<JournaledWrite | undefined> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    let found: { mtimeMs: number; write: JournaledWrite } | undefined;
    for (const name of names) {
      if (name === this.#name || !FILE.test(name)) continue;
      const path = join(this.#dir, name);
      const [text, info] = await Promise.all([
        readFile(path, 'utf8').catch(() => ''),
        stat(path).catch(() => undefined),
      ]);
      const write = newestFor(waiting(text), namespace, key);
      if (write && (!found || (info?.mtimeMs ?? 0) > found.mtimeMs)) {
        found = { mtimeMs: info?.mtimeMs ?? 0, write };
      }
    }
    return found?.write;
  }

  /** Appends a waiting write and fsyncs; resolves once it is on disk. */
  append(record: JournalRecord): Promise<void> {
    return this.#serial(async () => {
      const handle = await this.#file();
      await handle.write(`${JSON.stringify(record)}\n`);
      await handle.sync();
    });
  }

  /** Notes that the store took write `id` (not fsync'd: losing it only replays a stored write). */
  done(id: number): Promise<void> {
    return this.#serial(async () => {
      await (await this.#file()).write(`${JSON.stringify({ done: id })}\n`);
    });
  }

  /** Nothing waits: the file is emptied. */
  clear(): Promise<void> {
    return this.#serial(async () => {
      if (!this.#handle) return;
      await this.#handle.truncate(0);
      await this.#handle.sync();
    });
  }

  /**
   * Stops the heartbeat. With `keep` false (nothing waits) the file goes; otherwise it stays
   * for the next process to adopt.
   */
  async close(keep: boolean): Promise<void> {
    clearInterval(this.#timer);
    await this.#serial(async () => {
      await this.#handle?.close();
      this.#handle = undefined;
      if (!keep) await unlink(this.path).catch(() => undefined);
    });
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(op, op);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #file(): Promise<FileHandle> {
    if (!this.#handle) {
      await mkdir(this.#dir, { recursive: true });
      this.#handle = await open(this.path, 'a');
    }
    return this.#handle;
  }

  async #adoptOrphans(adopt: (records: JournalRecord[]) => Promise<void>): Promise<void> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    for (const name of names) {
      if (name === this.#name || !FILE.test(name)) continue;
      if (!(await this.#isOrphan(name))) continue;
      const claimed = join(this.#dir, `${this.#name}.adopting`);
      try {
        await rename(join(this.#dir, name), claimed);
      } catch {
        continue; // another process adopted it first
      }
      const records = waiting(await readFile(claimed, 'utf8'));
      if (records.length > 0) {
        this.#logger.warn(
          { file: name, writes: records.length },
          'outbox journal: adopting writes a stopped process left waiting',
        );
        await adopt(records);
      }
      await unlink(claimed);
    }
  }

  async #isOrphan(name: string): Promise<boolean> {
    const pid = Number(FILE.exec(name)![1]);
    if (!processRuns(pid)) return true;
    const info = await stat(join(this.#dir, name)).catch(() => undefined);
    return info !== undefined && Date.now() - info.mtimeMs > this.#staleMs;
  }
}

/** Whether a process with `pid` runs on this host (EPERM: it runs, as another user). */
function processRuns(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The records of a journal's text that were never marked done; a torn last line is skipped. */
export function waiting(text: string): JournalRecord[] {
  const records = new Map<number, JournalRecord>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue; // a line torn by a crash mid-append was never acknowledged
    }
    const entry = parsed as Partial<JournalRecord> & { done?: number };
    if (typeof entry.done === 'number') records.delete(entry.done);
    else if (typeof entry.id === 'number' && Array.isArray(entry.writes)) {
      records.set(entry.id, entry as JournalRecord);
    }
  }
  return [...records.values()];
}

/** The last write for `namespace`/`key` among `records` (journal order), if any. */
function newestFor(
  records: readonly JournalRecord[],
  namespace: string,
  key: string,
): JournaledWrite | undefined {
  let newest: JournaledWrite | undefined;
  for (const record of records) {
    for (const write of record.writes) {
      if (write.namespace === namespace && write.key === key) newest = write;
    }
  }
  return newest;
}
