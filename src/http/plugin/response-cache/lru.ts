import type { CachedOperation } from './options.js';

/** One stored response: the exact bytes Apollo Server sent, and what to replay with them. */
export interface CachedResponse {
  body: Buffer;
  contentType: string;
  /** Express's ETag of the body, replayed so a hit carries the headers a miss did. */
  etag: string | undefined;
  scope: 'private' | 'public';
  /** ms since the epoch; no byte of it is served from then on. */
  expiresAt: number;
  operation: CachedOperation;
  /** What it counts against the byte bound: body, key and headers. */
  bytes: number;
  /** The request's size (request.ts `lookupSize`): what `mayHold` counts by. */
  size: number;
}

export type EvictionReason = 'capacity' | 'expired';

/**
 * Least-recently-used responses, bounded by count and by bytes. A Map keeps insertion order,
 * so re-inserting on every hit makes its first key the least recently used: eviction is
 * `keys().next()`, O(1), no linked list to maintain. Expired entries go when they are next
 * asked for (or when capacity pushes them out), so a lookup never scans.
 */
export class ResponseLru {
  private readonly entries = new Map<string, CachedResponse>();
  private total = 0;
  /** Entries held per request size. */
  private readonly sizes = new Map<number, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly onEvict: (reason: EvictionReason) => void,
  ) {}

  /**
   * The entry for `key` when it has at least one whole second to live (its `Cache-Control`
   * then still says `max-age` ≥ 1); an entry with less is dropped as expired.
   */
  get(key: string, now: number): CachedResponse | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt - now < 1000) {
      this.forget(entry);
      this.onEvict('expired');
      return undefined;
    }
    this.entries.set(key, entry);
    return entry;
  }

  /** Stores `entry` (false when it alone is larger than the byte bound), evicting the oldest. */
  set(key: string, entry: CachedResponse): boolean {
    if (entry.bytes > this.maxBytes) return false;
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.forget(previous);
    }
    this.entries.set(key, entry);
    this.total += entry.bytes;
    this.sizes.set(entry.size, (this.sizes.get(entry.size) ?? 0) + 1);
    while (this.entries.size > this.maxEntries || this.total > this.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.forget(this.entries.get(oldest)!);
      this.entries.delete(oldest);
      this.onEvict('capacity');
    }
    return true;
  }

  /**
   * False when no entry was stored for a request of this size: a lookup that cannot hit, so
   * its key need not be hashed. True says only that one might.
   */
  mayHold(size: number): boolean {
    return this.sizes.has(size);
  }

  /** Takes a removed entry out of the byte and size counts. */
  private forget(entry: CachedResponse): void {
    this.total -= entry.bytes;
    const left = (this.sizes.get(entry.size) ?? 0) - 1;
    if (left > 0) this.sizes.set(entry.size, left);
    else this.sizes.delete(entry.size);
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.total;
  }
}
