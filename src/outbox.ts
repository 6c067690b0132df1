import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import type { Logger } from './logger.js';
import type { Store } from './store/index.js';

/**
 * Writes that must not be lost once an upstream has acted.
 *
 * When Chillr has created a batch or PayByGroup has refunded a purchase, the service must
 * remember it — under the idempotency key, so a retry cannot act again, and in its records.
 * If the store refuses that write (a full disk, a Redis blip, a SQLite lock held too long),
 * answering an error and forgetting would be the worst outcome: the caller retries and the
 * money moves twice. So such writes come here: each is tried at once, and one that fails is
 * kept in memory and retried with exponential backoff until the store accepts it.
 *
 * While a write waits, `peek` shows it, so retries on this instance are answered from it; other
 * instances see the claim the write will replace, and wait or call the outcome unknown —
 * never act again. A later write to the same key supersedes a waiting one (the newest
 * outcome is the truth). At shutdown `close` drains what it can and logs, at error level and
 * with the key and upstream id, every write the store never took: the operator's last record.
 */

export interface OutboxOptions {
  store: Store;
  logger: Logger;
  /** First delay before a failed write is tried again. @default 50 */
  initialDelayMs?: number;
  /** Longest delay between tries. @default 5000 */
  maxDelayMs?: number;
}

/** What a waiting write will do to its key. */
export type OutboxOp = { kind: 'set'; value: unknown; ttlMs?: number } | { kind: 'delete' };

/** Identifies a write in logs: never the value (it may hold personal data). */
export type OutboxMeta = Record<string, string | number | undefined>;

interface Entry {
  namespace: string;
  key: string;
  op: OutboxOp;
  meta: OutboxMeta;
}

export class Outbox {
  private readonly waiting = new Map<string, Entry>();
  private readonly policy;
  private readonly stopping = new AbortController();
  private draining: Promise<void> | undefined;

  constructor(private readonly options: OutboxOptions) {
    this.policy = retry(handleAll, {
      maxAttempts: Number.POSITIVE_INFINITY,
      backoff: new ExponentialBackoff({
        initialDelay: options.initialDelayMs ?? 50,
        maxDelay: options.maxDelayMs ?? 5000,
      }),
    });
  }

  /** Stores `value` now if the store takes it, else keeps it and retries. Never throws. */
  set(namespace: string, key: string, value: unknown, ttlMs: number, meta: OutboxMeta = {}) {
    return this.write({ namespace, key, op: { kind: 'set', value, ttlMs }, meta });
  }

  /** Deletes the key now if the store lets it, else keeps trying. Never throws. */
  delete(namespace: string, key: string, meta: OutboxMeta = {}) {
    return this.write({ namespace, key, op: { kind: 'delete' }, meta });
  }

  /** The write still waiting for this key, if any. */
  peek(namespace: string, key: string): OutboxOp | undefined {
    return this.waiting.get(idOf(namespace, key))?.op;
  }

  /** How many writes wait for the store. */
  get depth(): number {
    return this.waiting.size;
  }

  /** Resolves once nothing waits (or the outbox is closed). */
  async drained(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /**
   * Drains for at most `timeoutMs`, then stops retrying and logs each write the store never
   * took, at error level with its key and meta (e.g. the upstream id).
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
        { namespace: entry.namespace, key: entry.key, op: entry.op.kind, ...entry.meta },
        'outbox: shutting down with a write the store never took',
      );
    }
  }

  /** true when the store took the write at once; false when it waits in the outbox. */
  private async write(entry: Entry): Promise<boolean> {
    const id = idOf(entry.namespace, entry.key);
    try {
      await this.apply(entry);
      // A newer outcome just landed: an older one still waiting must not overwrite it.
      this.waiting.delete(id);
      return true;
    } catch (error) {
      this.options.logger.warn(
        { err: error, namespace: entry.namespace, key: entry.key, ...entry.meta },
        'outbox: store refused a write; keeping it and retrying',
      );
      this.waiting.set(id, entry);
      this.draining ??= this.drain().finally(() => (this.draining = undefined));
      return false;
    }
  }

  private async drain(): Promise<void> {
    try {
      // Loop: a write that failed while the last pass was finishing joined this drain.
      while (this.waiting.size > 0) await this.pass();
    } catch {
      // Aborted by close(): what still waits is logged there.
    }
  }

  /** One pass over what waits, retried with backoff until every write in it is stored. */
  private async pass(): Promise<void> {
    await this.policy.execute(async () => {
      for (const [id, entry] of this.waiting) {
        await this.apply(entry);
        // Only if no newer write for the key arrived while this one was in flight.
        if (this.waiting.get(id) === entry) this.waiting.delete(id);
        this.options.logger.info(
          { namespace: entry.namespace, key: entry.key, ...entry.meta },
          'outbox: write stored',
        );
      }
    }, this.stopping.signal);
  }

  private async apply(entry: Entry): Promise<void> {
    const keyv = this.options.store.namespace(entry.namespace);
    if (entry.op.kind === 'delete') await keyv.delete(entry.key);
    else await keyv.set(entry.key, entry.op.value, entry.op.ttlMs);
  }
}

function idOf(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`;
}
