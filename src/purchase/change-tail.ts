import type { Logger } from '../logger.js';
import { guardStore } from '../store/guard.js';
import { compareCursors, type StateLog, type StateLogLogEntry } from '../store/index.js';

export interface ChangeLogTailOptions {
  stateLog: () => StateLog;
  logger: Logger;
  /** Log entries read per store round trip. */
  readSize: number;
  /** Most recent entries kept in memory for followers that are caught up. */
  windowSize: number;
  /** How often the tail reads the log with no wake-up (a lost wake-up, or no bus at all). */
  recheckMs: number;
}

/**
 * The one in-process reader of the change log's end, shared by every follower (every
 * `groupPurchaseChanged` subscription this process serves).
 *
 * Without it each follower read the store on every wake-up, so N subscribers cost N store reads
 * per change. The tail reads once per wake-up (wake-ups that arrive during a read are folded
 * into one more read) and keeps the entries it read in a window: every log entry with a cursor
 * in `(from, cursor]`, with no hole, because each read asks the store for what follows the
 * last cursor it holds. A follower whose last cursor is inside that range takes what follows it
 * from memory; one further behind reads the store itself (see ChangeFeed), so the window only
 * bounds memory, never what a follower sees.
 *
 * The tail runs only while followers exist: the first to join reads the log's head, the last
 * to leave drops the window. Its recheck timer is the only timer, whatever the follower count.
 * A store failure is logged and retried at the next wake-up or recheck; followers just wait.
 *
 * Entries are shared by reference between followers: treat their values as read-only.
 */
export class ChangeLogTail<T> {
  private window: Array<StateLogLogEntry<T>> = [];
  /** The window holds every entry after `from` up to `cursor`; both undefined until started. */
  private from: string | undefined;
  private cursor: string | undefined;
  /** The newest cursor a wake-up announced. */
  private latest: string | undefined;
  private followers = 0;
  /** Bumped when the tail stops or restarts: a read begun before must not fill the new window. */
  private generation = 0;
  private reading = false;
  private readAgain = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: ChangeLogTailOptions) {}

  /** A follower starts; the first one starts the tail. Call the result when it stops. */
  join(): () => void {
    this.followers += 1;
    if (this.followers === 1 && !this.closed) {
      this.timer = setInterval(() => this.refresh(true), this.options.recheckMs);
      this.timer.unref();
      this.refresh(true);
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.followers -= 1;
      if (this.followers === 0) this.stop();
    };
  }

  /** A wake-up from the bus: the log has grown up to `cursor`. */
  heard(cursor: string): void {
    if (this.latest !== undefined && compareCursors(cursor, this.latest) <= 0) return;
    this.latest = cursor;
    if (this.cursor === undefined || compareCursors(cursor, this.cursor) > 0) this.refresh(false);
  }

  /**
   * What the log holds after `after`, when the window covers it: `[]` means nothing yet (wait
   * with `waitPast`). `undefined` means `after` is before the window (or the tail has not read
   * the head yet): the caller reads the store itself.
   */
  entriesAfter(after: string): ReadonlyArray<StateLogLogEntry<T>> | undefined {
    if (this.from === undefined || this.cursor === undefined) return undefined;
    if (after === this.cursor) return [];
    if (compareCursors(after, this.from) < 0) return undefined;
    if (compareCursors(after, this.cursor) >= 0) return [];
    // The first entry with a cursor above `after` (binary search: the window is in log order).
    let low = 0;
    let high = this.window.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareCursors(this.window[mid]!.cursor, after) <= 0) low = mid + 1;
      else high = mid;
    }
    return this.window.slice(low);
  }

  /**
   * Resolves when the tail has moved (read something, started, restarted or closed) or on
   * `signal`; the caller looks again with `entriesAfter`.
   */
  waitForMore(signal: AbortSignal): Promise<void> {
    if (this.closed || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = () => {
        this.waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.stop();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.forget();
  }

  /** Drops the window; a read in flight finds the generation moved and discards its page. */
  private forget(): void {
    this.generation += 1;
    this.window = [];
    this.from = undefined;
    this.cursor = undefined;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** One read loop at a time; a request during a read makes it read once more. */
  private refresh(force: boolean): void {
    if (this.followers === 0 || this.closed) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    if (!force && this.cursor !== undefined && !this.behindLatest()) return;
    this.reading = true;
    void this.readUntilCaughtUp()
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'change log tail read failed; retrying later'),
      )
      .finally(() => {
        this.reading = false;
        if (this.readAgain) {
          this.readAgain = false;
          this.refresh(false);
        }
      });
  }

  private behindLatest(): boolean {
    return this.latest !== undefined && compareCursors(this.latest, this.cursor ?? '0') > 0;
  }

  private async readUntilCaughtUp(): Promise<void> {
    const generation = this.generation;
    const stateLog = this.options.stateLog();
    if (this.cursor === undefined) {
      const head = (await guardStore(() => stateLog.head())) ?? '0';
      if (generation !== this.generation) return;
      this.from = head;
      this.cursor = head;
      this.wakeAll();
    }
    for (;;) {
      const page = await guardStore(() => stateLog.readLog<T>(this.cursor, this.options.readSize));
      if (generation !== this.generation) return;
      if (page.expired) {
        // Only when nothing read the log for longer than its retention: start again at the
        // head; followers behind it read the store and meet the expiry themselves.
        this.options.logger.warn({ cursor: this.cursor }, 'change log tail expired; restarting');
        this.forget();
        return this.readUntilCaughtUp();
      }
      this.append(page.entries);
      if (page.entries.length < this.options.readSize) return;
    }
  }

  private append(entries: ReadonlyArray<StateLogLogEntry<T>>): void {
    if (entries.length === 0) return;
    this.window.push(...entries);
    this.cursor = entries.at(-1)!.cursor;
    const excess = this.window.length - this.options.windowSize;
    if (excess > 0) {
      this.from = this.window[excess - 1]!.cursor;
      this.window.splice(0, excess);
    }
    this.wakeAll();
  }
}
