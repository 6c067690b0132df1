import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import type { Logger } from '../logger.js';
import type { JournaledWrite, JournalRecord, OutboxJournal } from './outbox-journal.js';
import type { Store } from '../store/index.js';

/**
 * Writes that must not be lost once an upstream has acted.
 *
 * When Chillr has created a batch or PayByGroup has refunded a purchase, the service must
 * remember it — under the idempotency key, so a retry cannot act again, and in its records.
 * Such writes come here as one group (the outcome and the batch record it goes with), stored
 * together in one atomic step (`Store.writeTogether`). If the store refuses them (a full disk,
 * a Redis outage, a SQLite lock held too long), answering an error and forgetting would be the
 * worst outcome: the caller retries and the money moves twice. So a refused group is appended
 * to the journal (outbox-journal.ts), fsync'd on local disk, before anything is answered, and
 * retried with exponential backoff until the store accepts it — by this process, or, if it
 * dies first, by the process that adopts its journal (normally the restarted one).
 *
 * While a group waits, `peek` shows it, so retries on this instance are answered from it; other
 * instances see the claim the group will replace, and wait or call the outcome unknown — never
 * act again. A later write to the same key supersedes a waiting one (the newest outcome is the
 * truth). At shutdown `close` drains what it can and logs, at error level and with the key and
 * upstream id, every group the store never took; the journal keeps them for the next start.
 */

export interface OutboxOptions {
  store: Store;
  logger: Logger;
  /**
   * Where refused groups are kept on disk until the store takes them.
   * @default none: they wait in memory only (tests of the retry logic)
   */
  journal?: OutboxJournal;
  /** First delay before a failed write is tried again. @default 50 */
  initialDelayMs?: number;
  /** Longest delay between tries. @default 5000 */
  maxDelayMs?: number;
}

/** One write of a group: a set (with an optional TTL) or a delete. */
export type OutboxWrite =
  | { namespace: string; key: string; value: unknown; ttlMs?: number }
  | { namespace: string; key: string; delete: true };

/** What a waiting write will do to its key. */
export type OutboxOp = { kind: 'set'; value: unknown; ttlMs?: number } | { kind: 'delete' };

/** Identifies a write in logs: never the value (it may hold personal data). */
export type OutboxMeta = Record<string, string | number | undefined>;

interface Entry {
  id: number;
  /** The first write's key names the group (supersession, peek). */
  writes: JournaledWrite[];
  meta: OutboxMeta;
}

export class Outbox {
  private readonly waiting = new Map<string, Entry>();
  private readonly policy;
  private readonly stopping = new AbortController();
  private draining: Promise<void> | undefined;
  private nextId = 1;

  constructor(private readonly options: OutboxOptions) {
    this.policy = retry(handleAll, {
      maxAttempts: Number.POSITIVE_INFINITY,
      backoff: new ExponentialBackoff({
        initialDelay: options.initialDelayMs ?? 50,
        maxDelay: options.maxDelayMs ?? 5000,
      }),
    });
  }

  /**
   * Takes over what a stopped process left in the journal directory (now and while running),
   * and starts storing it. Call once, before serving.
   */
  async start(): Promise<void> {
    await this.options.journal?.start(async (records) => {
      for (const record of records) await this.adopt(record);
    });
  }

  /** Stores `value` now if the store takes it, else keeps it and retries. Never throws. */
  set(namespace: string, key: string, value: unknown, ttlMs: number, meta: OutboxMeta = {}) {
    return this.writeAll([{ namespace, key, value, ttlMs }], meta);
  }

  /** Deletes the key now if the store lets it, else keeps trying. Never throws. */
  delete(namespace: string, key: string, meta: OutboxMeta = {}) {
    return this.writeAll([{ namespace, key, delete: true }], meta);
  }

  /**
   * Stores the group in one atomic step if the store takes it (true); else journals it (on
   * disk before this resolves), keeps it and retries (false). Never throws.
   */
  writeAll(writes: readonly OutboxWrite[], meta: OutboxMeta = {}): Promise<boolean> {
    const now = Date.now();
    const journaled = writes.map((w): JournaledWrite => {
      if ('delete' in w) return { namespace: w.namespace, key: w.key };
      const expiresAt = w.ttlMs === undefined ? {} : { expiresAt: now + w.ttlMs };
      const ttl = w.ttlMs === undefined ? {} : { ttlMs: w.ttlMs };
      return { namespace: w.namespace, key: w.key, value: w.value, ...ttl, ...expiresAt };
    });
    return this.write({ id: this.nextId++, writes: journaled, meta });
  }

  /** The write still waiting for this key, if any. */
  peek(namespace: string, key: string): OutboxOp | undefined {
    const write = this.waiting.get(idOf(namespace, key))?.writes[0];
    if (!write) return undefined;
    if (!('value' in write)) return { kind: 'delete' };
    return write.ttlMs === undefined
      ? { kind: 'set', value: write.value }
      : { kind: 'set', value: write.value, ttlMs: write.ttlMs };
  }

  /**
   * `peek`, then what another process sharing the journal directory journaled for the key
   * (OutboxJournal.peekOthers): for a retry that meets an unreachable store on an instance that
   * did not call the upstream itself. Reads files; call it only once the store has failed.
   */
  async peekShared(namespace: string, key: string): Promise<OutboxOp | undefined> {
    const own = this.peek(namespace, key);
    if (own !== undefined) return own;
    const write = await this.options.journal?.peekOthers(namespace, key);
    if (!write) return undefined;
    if (!('value' in write)) return { kind: 'delete' };
    if (write.expiresAt !== undefined && write.expiresAt <= Date.now()) return undefined;
    return { kind: 'set', value: write.value };
  }

  /** How many groups wait for the store. */
  get depth(): number {
    return this.waiting.size;
  }

  /** Resolves once nothing waits (or the outbox is closed). */
  async drained(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Stops retrying at once, leaving what waits in the journal (a process that dies). */
  stopRetrying(): void {
    this.stopping.abort();
  }

  /**
   * Drains for at most `timeoutMs`, then stops retrying and logs each group the store never
   * took, at error level with its key and meta (e.g. the upstream id); the journal keeps them.
   */
  async close(timeoutMs = 2000): Promise<void> {
    const timer = setTimeout(() => this.stopping.abort(), timeoutMs);
    try {
      await this.drained();
    } finally {
      clearTimeout(timer);
      this.stopping.abort();
    }
    for (const entry of this.waiting.values()) {
      this.options.logger.error(
        { ...describe(entry), journaled: this.options.journal !== undefined },
        'outbox: shutting down with a write the store never took',
      );
    }
    await this.options.journal?.close(this.waiting.size > 0);
  }

  /** true when the store took the group at once; false when it waits in the outbox. */
  private async write(entry: Entry): Promise<boolean> {
    const id = keyOf(entry);
    try {
      await this.apply(entry);
      // A newer outcome just landed: an older one still waiting must not overwrite it.
      // Only then can the journal have become empty: the common path (nothing waited) costs no
      // file operation.
      if (await this.supersede(id)) await this.afterStored();
      return true;
    } catch (error) {
      this.options.logger.warn(
        { err: error, ...describe(entry) },
        'outbox: store refused a write; journaling it and retrying',
      );
      await this.journal(entry);
      await this.wait(id, entry);
      return false;
    }
  }

  /** A group a stopped process left: journaled as this process's own, then retried. */
  private async adopt(record: JournalRecord): Promise<void> {
    const entry: Entry = { id: this.nextId++, writes: record.writes, meta: record.meta };
    await this.journal(entry);
    await this.wait(keyOf(entry), entry);
  }

  private async journal(entry: Entry): Promise<void> {
    try {
      await this.options.journal?.append({ id: entry.id, writes: entry.writes, meta: entry.meta });
    } catch (error) {
      // The last line of defence is gone too (the local disk refuses): say so loudly.
      this.options.logger.error(
        { err: error, ...describe(entry) },
        'outbox: journal refused a write; it waits in memory only',
      );
    }
  }

  /** Drops the group waiting for `id`, in memory and in the journal (a newer one replaces it); true if one waited. */
  private async supersede(id: string): Promise<boolean> {
    const older = this.waiting.get(id);
    if (!older) return false;
    this.waiting.delete(id);
    await this.options.journal?.done(older.id).catch(() => undefined);
    return true;
  }

  private async wait(id: string, entry: Entry): Promise<void> {
    await this.supersede(id);
    this.waiting.set(id, entry);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    try {
      // Loop: a write that failed while the last pass was finishing joined this drain.
      while (this.waiting.size > 0) await this.pass();
    } catch {
      // Aborted by close(): what still waits is logged there.
    }
  }

  /** One pass over what waits, retried with backoff until every group in it is stored. */
  private async pass(): Promise<void> {
    await this.policy.execute(async () => {
      for (const [id, entry] of this.waiting) {
        await this.apply(entry);
        await this.options.journal?.done(entry.id).catch(() => undefined);
        // Only if no newer write for the key arrived while this one was in flight.
        if (this.waiting.get(id) === entry) this.waiting.delete(id);
        this.options.logger.info(describe(entry), 'outbox: write stored');
      }
      await this.afterStored();
    }, this.stopping.signal);
  }

  /** Nothing waits any more: the journal is emptied. */
  private async afterStored(): Promise<void> {
    if (this.waiting.size === 0) await this.options.journal?.clear().catch(() => undefined);
  }

  /** Sets in one atomic step; deletes one by one (a delete only releases a claim). */
  private async apply(entry: Entry): Promise<void> {
    const now = Date.now();
    const keys = [];
    for (const write of entry.writes) {
      if (!('value' in write)) {
        await this.options.store.namespace(write.namespace).delete(write.key);
        continue;
      }
      const ttlMs = write.expiresAt === undefined ? undefined : write.expiresAt - now;
      if (ttlMs !== undefined && ttlMs <= 0) continue; // it would have expired by now
      const ttl = ttlMs === undefined ? {} : { ttlMs };
      keys.push({ namespace: write.namespace, key: write.key, value: write.value, ...ttl });
    }
    if (keys.length > 0) await this.options.store.writeTogether({ keys });
  }
}

function keyOf(entry: Entry): string {
  const first = entry.writes[0]!;
  return idOf(first.namespace, first.key);
}

function idOf(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`;
}

/** For logs: the group's first key, its size and meta — never a value. */
function describe(entry: Entry): Record<string, unknown> {
  const first = entry.writes[0]!;
  return { namespace: first.namespace, key: first.key, writes: entry.writes.length, ...entry.meta };
}
