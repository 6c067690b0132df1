import { ErrorCode, ServiceError } from '../errors.js';
import { GROUP_PURCHASE_CHANGED, type EventBus } from '../events/pubsub.js';
import type { Logger } from '../logger.js';
import { guardStore } from '../store/guard.js';
import {
  compareCursors,
  type StateLog,
  type StateLogLogEntry,
  type LogWindow,
  type Store,
} from '../store/index.js';
import { inWindow } from '../store/state-log.js';
import { ChangeLogTail } from './change-tail.js';
import type { GroupPurchaseStatus } from '../pbg/types.js';
import { decodeChange, type GroupPurchaseChange, type LoggedChange } from './stored.js';

/** Which changes a reader wants; every given constraint must hold. */
export interface ChangeFilter {
  purchaseIds?: readonly string[] | null;
  merchantId?: string | null;
  statuses?: readonly GroupPurchaseStatus[] | null;
  /**
   * ISO-8601 instants bounding `receivedAt` — when this service learned of the change (a push,
   * an action or a reconciliation): at or after `receivedAfter`, before `receivedBefore`.
   */
  receivedAfter?: string | null;
  receivedBefore?: string | null;
}

/**
 * The filter's time bounds as a window over the log's `at` (epoch ms, which src/purchase/state.ts
 * sets to each change's receivedAt), or undefined when it has none: the log is then read
 * through its index on `at` in every engine instead of walked entry by entry.
 */
export function windowOf(filter: ChangeFilter | null | undefined): LogWindow | undefined {
  const from = filter?.receivedAfter ? Date.parse(filter.receivedAfter) : undefined;
  const to = filter?.receivedBefore ? Date.parse(filter.receivedBefore) : undefined;
  if (from === undefined && to === undefined) return undefined;
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}

export interface ChangeFeedOptions {
  store: Store;
  bus: EventBus;
  logger: Logger;
  /** How long the log keeps a change; named in the error for an expired cursor. */
  retentionMs: number;
  /**
   * How often the shared tail reads the log with no wake-up (once per process, not per
   * follower): a safety net for a wake-up lost with a Redis reconnect, or for instances sharing
   * a SQLite file without Redis.
   * @default 5000
   */
  recheckMs?: number;
  /** Log entries read per store round trip. @default 200 */
  readSize?: number;
  /**
   * Recent log entries kept in memory for followers that are caught up; a follower further
   * behind reads the store itself until it is back inside (memory, not correctness).
   * @default 1000
   */
  windowSize?: number;
  /** Most log entries one page request scans before it answers (with hasNextPage). @default 5000 */
  maxScan?: number;
}

/** Why a cursor cannot be read after. */
export type CursorProblem =
  { problem: 'MALFORMED'; message: string } | { problem: 'EXPIRED'; message: string };

export interface ChangePage {
  changes: GroupPurchaseChange[];
  /** Where the scan stopped: pass it as `after` for the next page (undefined: nothing read). */
  endCursor: string | undefined;
  hasNextPage: boolean;
}

/** Most log entries `reached` reads before it gives up. */
const REACHED_SCAN = 50_000;

/**
 * Reading the change log: pages for clients that pull, and followers for subscriptions, which
 * replay the log after a cursor and then continue live.
 *
 * A follower never takes changes from the bus. The bus only says "the log has grown up to
 * cursor X"; the follower then reads the log after the last cursor it delivered. So what a
 * subscriber receives is exactly the log, in the log's order: no gap and no repeat at the seam
 * between replay and live, and none when instances' wake-ups cross in Redis.
 *
 * "Reads the log" has two sources, and the guarantee holds across both because each is asked
 * for what follows the follower's own last cursor, never for "what is new":
 * - caught up: from the shared tail (change-tail.ts), one store read per wake-up for the whole
 *   process, whose window holds every entry after its `from` cursor without a hole;
 * - behind (a replay from `after`, or a follower that fell out of the window): from the store
 *   itself, page by page, until its last cursor is inside the window again, then the tail.
 */
export class ChangeFeed {
  private readonly tail: ChangeLogTail<LoggedChange>;
  private stopListening: (() => void) | undefined;

  constructor(private readonly options: ChangeFeedOptions) {
    this.tail = new ChangeLogTail<LoggedChange>({
      stateLog: () => this.stateLog,
      logger: options.logger,
      readSize: options.readSize ?? 200,
      windowSize: options.windowSize ?? 1000,
      recheckMs: options.recheckMs ?? 5000,
    });
  }

  private get stateLog(): StateLog {
    return this.options.store.stateLog;
  }

  /** Starts listening to the bus for wake-ups (one listener per process, whatever the load). */
  start(): void {
    const wakeups = this.options.bus.subscribe(GROUP_PURCHASE_CHANGED);
    const iterator = wakeups[Symbol.asyncIterator]();
    this.stopListening = () => void iterator.return?.();
    void (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        this.tail.heard(next.value.cursor);
      }
    })().catch((error: unknown) =>
      this.options.logger.error({ err: error }, 'change feed stopped hearing wake-ups'),
    );
  }

  close(): void {
    this.stopListening?.();
    this.tail.close();
  }

  /** Undefined when `after` can be read after; otherwise why not, for the caller to report. */
  async check(after: string | undefined): Promise<CursorProblem | undefined> {
    if (after === undefined) return undefined;
    if (!this.stateLog.isCursor(after)) {
      return {
        problem: 'MALFORMED',
        message: `${JSON.stringify(after.slice(0, 40))} is not a change-log cursor; use a cursor this service returned.`,
      };
    }
    const [page, head] = await guardStore(() =>
      Promise.all([this.stateLog.readLog(after, 1), this.stateLog.head()]),
    );
    if (page.expired) return expired(after, this.options.retentionMs);
    // A cursor past the end was never handed out by this log (another store's, or made up):
    // following it would silently skip every change up to it.
    if (compareCursors(after, head ?? '0') > 0) {
      return {
        problem: 'MALFORMED',
        message: `Cursor ${after} is ahead of the change log; use a cursor this service returned.`,
      };
    }
    return undefined;
  }

  /** Up to `first` matching changes after `after`, scanning at most `maxScan` log entries. */
  async page(
    filter: ChangeFilter | null,
    after: string | undefined,
    first: number,
  ): Promise<ChangePage> {
    const readSize = this.options.readSize ?? 200;
    const maxScan = this.options.maxScan ?? 5000;
    const window = windowOf(filter);
    const changes: GroupPurchaseChange[] = [];
    let cursor = after;
    let scanned = 0;
    for (;;) {
      const size = Math.min(readSize, maxScan - scanned + 1);
      const { entries } = await guardStore(() =>
        this.stateLog.readLog<LoggedChange>(cursor, size, window),
      );
      for (const entry of entries) {
        if (changes.length === first || scanned === maxScan) {
          return { changes, endCursor: cursor, hasNextPage: true };
        }
        scanned += 1;
        cursor = entry.cursor;
        const change = decodeChange(entry);
        if (matches(change, filter)) changes.push(change);
      }
      if (entries.length < size) return { changes, endCursor: cursor, hasNextPage: false };
    }
  }

  /** The cursor of the newest change ('0' when nothing was ever logged). */
  async head(): Promise<string> {
    return (await guardStore(() => this.stateLog.head())) ?? '0';
  }

  /**
   * Whether a change after `after` shows `purchaseId` in `status`: for a read-back, the proof
   * that an action whose answer was lost happened although the purchase has moved on since.
   * Scans at most REACHED_SCAN entries (a read-back follows its claim by minutes, and the log
   * between them is what it reads); past that it answers false, which leaves the key unknown.
   */
  async reached(purchaseId: string, status: GroupPurchaseStatus, after: string): Promise<boolean> {
    const filter = { purchaseIds: [purchaseId], statuses: [status] };
    const step = this.options.maxScan ?? 5000;
    let cursor: string | undefined = after;
    for (let scanned = 0; scanned < REACHED_SCAN; scanned += step) {
      const page = await this.page(filter, cursor, 1);
      if (page.changes.length > 0) return true;
      if (!page.hasNextPage) return false;
      cursor = page.endCursor;
    }
    return false;
  }

  /**
   * The matching changes after `after` (after the current end of the log without one), then
   * every later one as it is logged, until `return()` is called. Check `after` first (`check`).
   */
  follow(
    filter: ChangeFilter | null,
    after: string | undefined,
  ): AsyncIterableIterator<GroupPurchaseChange> {
    const stop = new AbortController();
    const changes = this.run(filter, after, stop.signal);
    return {
      next: () => changes.next(),
      // Abort first: the generator may be waiting for the tail, not at a yield, and a return()
      // queued behind that wait would otherwise never run (the abort ends the wait).
      return: async () => {
        stop.abort();
        return changes.return(undefined);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  private async *run(
    filter: ChangeFilter | null,
    after: string | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<GroupPurchaseChange, void, undefined> {
    const leave = this.tail.join();
    const window = windowOf(filter);
    try {
      let last = after ?? (await guardStore(() => this.stateLog.head())) ?? '0';
      while (!signal.aborted && !this.tail.isClosed) {
        let entries = this.tail.entriesAfter(last);
        if (entries === undefined) {
          const behind = await this.readBehind(last, window);
          entries = behind.entries;
          // Nothing of the window between `last` and `upTo`: continue from there.
          if (entries.length === 0 && behind.upTo !== undefined) {
            if (compareCursors(behind.upTo, last) > 0) last = behind.upTo;
            else await this.tail.waitForMore(signal);
            continue;
          }
        }
        if (entries.length === 0) {
          await this.tail.waitForMore(signal);
          continue;
        }
        for (const entry of entries) {
          last = entry.cursor;
          const change = decodeChange(entry);
          if (matches(change, filter)) yield change;
          if (signal.aborted) return;
        }
      }
    } finally {
      leave();
    }
  }

  /**
   * A follower behind the shared window reads the next page of the log itself. With a time
   * window, through the log's index on `at`: then a short page means no entry of the window
   * lies between `last` and `upTo`, the head read before the page (an entry logged after that
   * read has a later cursor), so the follower may go on from `upTo` without reading the rest.
   */
  private async readBehind(
    last: string,
    window: LogWindow | undefined,
  ): Promise<{ entries: ReadonlyArray<StateLogLogEntry<LoggedChange>>; upTo?: string }> {
    const readSize = this.options.readSize ?? 200;
    const head = window ? await guardStore(() => this.stateLog.head()) : undefined;
    const { entries, expired: gone } = await guardStore(() =>
      this.stateLog.readLog<LoggedChange>(last, readSize, window),
    );
    if (gone) {
      throw new ServiceError(
        ErrorCode.BAD_USER_INPUT,
        expired(last, this.options.retentionMs).message,
        {
          details: { field: 'after', reason: 'CURSOR_EXPIRED' },
        },
      );
    }
    return entries.length < readSize && head !== undefined ? { entries, upTo: head } : { entries };
  }
}

export function matches(change: GroupPurchaseChange, filter: ChangeFilter | null): boolean {
  if (!filter) return true;
  const { purchase } = change;
  if (filter.purchaseIds?.length && !filter.purchaseIds.includes(purchase.purchaseId)) return false;
  if (filter.merchantId && purchase.merchantId !== filter.merchantId) return false;
  if (filter.statuses?.length && !filter.statuses.includes(purchase.status)) return false;
  const window = windowOf(filter);
  return window === undefined || inWindow(Date.parse(change.receivedAt), window);
}

function expired(cursor: string, retentionMs: number): CursorProblem {
  const days = Math.round((retentionMs / 86_400_000) * 100) / 100;
  return {
    problem: 'EXPIRED',
    message:
      `Cursor ${cursor} is older than the change log's retention (PBG_CHANGE_LOG_TTL_MS = ` +
      `${retentionMs} ms, about ${days} days): the changes after it are gone. Start again without ` +
      'a cursor, and re-read the purchases you follow.',
  };
}
