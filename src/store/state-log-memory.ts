import {
  serializeWrites,
  type StateLog,
  type StateLogCommitResult,
  type StateLogLogPage,
  type StateLogState,
  type StateLogWrite,
  type LogWindow,
  type SerializedWrite,
} from './state-log.js';

interface MemoryState {
  version: number;
  /** JSON text, as the other engines keep it: a caller mutating what it read changes nothing. */
  value: string;
  cursor?: string;
}

interface MemoryLogEntry {
  seq: number;
  at: number;
  value: string;
}

/**
 * The state log of `memory://`: a Map of states and an array as the log. No method awaits between
 * reading and writing (a commit serializes its writes first, then compares and applies them all
 * without an await), so a commit is atomic against every other call in this process, which is
 * the only place memory state exists.
 */
export class MemoryStateLog implements StateLog {
  readonly #states = new Map<string, MemoryState>();
  /** Open keys → when each was last checked (epoch ms). */
  readonly #open = new Map<string, number>();
  readonly #log: MemoryLogEntry[] = [];
  /** The log's entries ordered by (at, seq): the index a time window is read through. */
  #byAt: MemoryLogEntry[] = [];
  #lastSeq = 0;
  #trimmedUpTo = 0;

  constructor(private readonly now: () => number = Date.now) {}

  // The in-memory state log answers at once; its methods return promises because the StateLog
  // contract is asynchronous for the real stores.
  getMany<T>(keys: readonly string[]): Promise<Map<string, StateLogState<T>>> {
    const found = new Map<string, StateLogState<T>>();
    for (const key of keys) {
      const state = this.#states.get(key);
      if (!state) continue;
      found.set(key, {
        version: state.version,
        value: JSON.parse(state.value) as T,
        ...(state.cursor === undefined ? {} : { cursor: state.cursor }),
      });
    }
    return Promise.resolve(found);
  }

  async commit<T>(writes: ReadonlyArray<StateLogWrite<T>>): Promise<StateLogCommitResult[]> {
    const serialized = await serializeWrites(writes);
    return serialized.map((write) => this.#applyOne(write));
  }

  #applyOne(write: SerializedWrite): StateLogCommitResult {
    const previous = this.#states.get(write.key);
    const version = previous?.version ?? 0;
    if (version !== write.expectedVersion) return { ok: false };
    if (!write.open) this.#open.delete(write.key);
    else if (!this.#open.has(write.key)) this.#open.set(write.key, this.now());
    let cursor = previous?.cursor;
    if (write.log !== undefined) {
      this.#lastSeq += 1;
      const entry = { seq: this.#lastSeq, at: write.at ?? this.now(), value: write.log };
      this.#log.push(entry);
      this.#byAt.splice(this.#atIndexOf(entry.at, entry.seq), 0, entry);
      cursor = String(this.#lastSeq);
    }
    this.#states.set(write.key, { version: version + 1, value: write.value, cursor });
    return write.log === undefined
      ? { ok: true, version: version + 1 }
      : { ok: true, version: version + 1, cursor: cursor! };
  }

  /** With a window, the entries come from the `at` index (#inWindow), not a walk of the log. */
  readLog<T>(
    after: string | undefined,
    limit: number,
    window?: LogWindow,
  ): Promise<StateLogLogPage<T>> {
    const from = after === undefined ? 0 : Number(after);
    let slice: MemoryLogEntry[];
    if (window) {
      slice = this.#inWindow(window).filter((e) => e.seq > from);
      slice.sort((a, b) => a.seq - b.seq);
      slice = slice.slice(0, limit);
    } else {
      const start = this.#firstAfter(from);
      slice = this.#log.slice(start, start + limit);
    }
    return Promise.resolve({
      expired: after !== undefined && from < this.#trimmedUpTo,
      entries: slice.map((e) => ({ cursor: String(e.seq), value: JSON.parse(e.value) as T })),
    });
  }

  /** The entries whose `at` lies in `window`, in (at, seq) order. */
  #inWindow(window: LogWindow): MemoryLogEntry[] {
    const low = window.from === undefined ? 0 : this.#atIndexOf(window.from, 0);
    const high = window.to === undefined ? this.#byAt.length : this.#atIndexOf(window.to, 0);
    return this.#byAt.slice(low, Math.max(low, high));
  }

  /** Where an entry (at, seq) goes in #byAt: the first index ordered at or after it. */
  #atIndexOf(at: number, seq: number): number {
    let low = 0;
    let high = this.#byAt.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const e = this.#byAt[mid]!;
      if (e.at > at || (e.at === at && e.seq >= seq)) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  /** Index of the first entry with seq > `seq` (binary search: seqs only grow). */
  #firstAfter(seq: number): number {
    let low = 0;
    let high = this.#log.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#log[mid]!.seq > seq) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  head(): Promise<string | undefined> {
    return Promise.resolve(this.#lastSeq === 0 ? undefined : String(this.#lastSeq));
  }

  trim(maxAgeMs: number): Promise<number> {
    const cutoff = this.now() - maxAgeMs;
    let count = 0;
    while (this.#log.length > 0 && this.#log[0]!.at < cutoff) {
      this.#trimmedUpTo = this.#log.shift()!.seq;
      count += 1;
    }
    if (count > 0) this.#byAt = this.#byAt.filter((e) => e.seq > this.#trimmedUpTo);
    return Promise.resolve(count);
  }

  isCursor(cursor: string): boolean {
    return /^\d{1,15}$/.test(cursor);
  }

  takeOpen(limit: number): Promise<string[]> {
    const keys = [...this.#open.entries()]
      .sort((a, b) => a[1] - b[1])
      .slice(0, limit)
      .map(([key]) => key);
    const at = this.now();
    for (const key of keys) this.#open.set(key, at);
    return Promise.resolve(keys);
  }
}
