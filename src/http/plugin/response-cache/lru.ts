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
      this.total -= entry.bytes;
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
      this.total -= previous.bytes;
    }
    this.entries.set(key, entry);
    this.total += entry.bytes;
    while (this.entries.size > this.maxEntries || this.total > this.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.total -= this.entries.get(oldest)!.bytes;
      this.entries.delete(oldest);
      this.onEvict('capacity');
    }
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.total;
  }
}
