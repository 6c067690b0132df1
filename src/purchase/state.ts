import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { GROUP_PURCHASE_CHANGED, type EventBus } from '../events/pubsub.js';
import type { Logger } from '../logger.js';
import { guardStore } from '../store/guard.js';
import { readsOfOneTurn } from '../store/reads-of-one-turn.js';
import { compareCursors, type StateLog, type Store } from '../store/index.js';
import { STATUS_AFTER_ACTION } from './lifecycle.js';
import { PurchaseAction, wordOfStatus, type GroupPurchaseRecord } from '../pbg/types.js';
import { decide, type DecisionContext, type Observed, type ObserveOptions } from './decide.js';
import { KeySerializer } from './key-serializer.js';
import { CommitLane, type CommitPlace } from './commit-lane.js';
import { SeenTimes } from './seen-times.js';
import { settleAll } from '../settle-all.js';
import { GroupPurchaseChangeSource as Source, type StoredState } from './stored.js';

export interface PurchaseStateOptions {
  store: Store;
  /** Where a stored change is announced (a wake-up for subscription feeds). */
  bus: EventBus;
  logger: Logger;
  /**
   * This service's merchant. Only its purchases (and pushed ones without merchant_id: PBG
   * pushes to this merchant's URL) are reconciled; another merchant's, seen in a list, are not.
   * @default undefined (every purchase)
   */
  merchantId?: string;
  /**
   * Reads one purchase from PayByGroup, for an accepted action on a purchase this service has
   * no state for (see actionAccepted).
   * @default undefined (such an action records nothing; the push or the next read brings it)
   */
  readPurchase?: (purchaseId: string) => Promise<GroupPurchaseRecord | null>;
  /** @default () => new Date() */
  now?: () => Date;
}

/** Counters since start, per outcome. */
export interface ObservationStats {
  changes: number;
  repeats: number;
  stale: number;
  refused: number;
  /** Compare-and-set writes lost to a newer version (another instance's, within one process never). */
  conflicts: number;
}

/** Compare-and-set rounds before an observation gives up (the caller answers 503 / errors). */
const MAX_ATTEMPTS = 20;
/** Purchases whose last confirmation by a repeat observation is remembered (see SeenTimes). */
const SEEN_CAPACITY = 10_000;
/** Observations looked up or decided per slice of the event loop (a yield between slices). */
const SLICE = 500;
/** Observations above which even the first slice waits for a turn of the event loop. */
const YIELD_ABOVE = 50;

/**
 * The one owner of purchase state. Every observation — a change push, a read, an accepted
 * action, a reconciliation — goes through `observe`, which compares it with the stored state
 * and sets the new one atomically (a compare-and-set on the purchase's version, in the store's
 * engine, so it holds across instances):
 *
 * - equal to the stored state (same fields, as PBG sent them) → a *repeat*: nothing is written;
 * - a move backwards along the life cycle (lifecycle.ts), or a read that started before the
 *   stored state was written → *stale*: logged and counted, not applied, not published;
 * - anything else → a *change*: the state and its change-log entry are written in one step, and
 *   then a wake-up goes to the bus. So A → B → A is three changes.
 */
export class PurchaseStateStore {
  private readonly counts: ObservationStats = {
    changes: 0,
    repeats: 0,
    stale: 0,
    refused: 0,
    conflicts: 0,
  };
  /** One observation at a time per purchase in this process (see KeySerializer). */
  private readonly serial = new KeySerializer();
  private readonly seen = new SeenTimes(SEEN_CAPACITY);

  constructor(private readonly options: PurchaseStateOptions) {}

  private get stateLog(): StateLog {
    return this.options.store.stateLog;
  }

  stats(): ObservationStats {
    return { ...this.counts };
  }

  /**
   * Observes purchases from one source; outcomes in the order of `records`. A purchase listed
   * twice is observed twice, in order. Rejects (STORE_UNAVAILABLE) when the store fails: then
   * some observations may be stored and others not, and observing them again is safe.
   *
   * The call takes its place in each of its purchases' queues (KeySerializer) at once, for all
   * its rounds: a later call that shares a purchase waits for this one whole, so a purchase
   * listed twice here is never overtaken between its two rounds.
   */
  async observe(
    records: readonly GroupPurchaseRecord[],
    source: Source,
    options: ObserveOptions = {},
  ): Promise<Observed[]> {
    const outcomes = new Array<Observed>(records.length);
    const receivedAt = (this.options.now?.() ?? new Date()).toISOString();
    const ids = [...new Set(records.map((record) => record.purchaseId))];
    // Taken now, in call order: this call's first writes follow those of earlier calls in `lane`.
    const lane = options.lane ?? this.commitLane();
    let place: CommitPlace | undefined = lane.place();
    try {
      await this.serial.run(ids, async () => {
        let rest = records.map((record, index) => ({ record, index }));
        while (rest.length > 0) {
          const round = nextRound(rest);
          rest = rest.filter((item) => !round.has(item));
          const items = [...round];
          const turn = place ?? lane.anyTurn();
          place = undefined;
          const results = await guardStore(() =>
            this.observeRound(items, { source, options, receivedAt, isOurs: this.isOurs }, turn),
          );
          items.forEach(({ index }, i) => (outcomes[index] = results[i]!));
        }
      });
    } finally {
      place?.close();
      // Also after a failure: what the earlier rounds logged must still wake its followers.
      this.afterObserving(outcomes.filter(Boolean), source, Date.parse(receivedAt));
    }
    return outcomes;
  }

  /**
   * A lane for several observations whose writes must reach the log in the order they were
   * made (CommitLane): pass it to each as ObserveOptions.lane.
   */
  commitLane(): CommitLane {
    // The state log is looked up when a commit is sent, not now: a store that is closed (or
    // fails) must fail the observation that commits, inside its guard, not the caller that
    // makes the lane.
    return new CommitLane(
      (writes) => this.stateLog.commit(writes),
      () => this.stateLog.commitsInCallOrder === true,
    );
  }

  /**
   * One compare-and-set batch over distinct purchases, its first attempt committed at `place`,
   * retried for those whose version moved. Nothing is committed when nothing changed: a read
   * that shows nothing new writes nothing.
   */
  private async observeRound(
    items: ReadonlyArray<{ record: GroupPurchaseRecord }>,
    context: DecisionContext,
    place: CommitPlace,
  ): Promise<Observed[]> {
    const outcomes = new Array<Observed>(items.length);
    let pending = items.map((item, i) => ({ ...item, i }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === MAX_ATTEMPTS) {
        throw new Error(`purchase state kept moving for ${MAX_ATTEMPTS} compare-and-set rounds`);
      }
      const turn = attempt === 0 ? place : place.anyTurn();
      const lost = await this.decideAndCommit(pending, context, outcomes, turn);
      pending = pending.filter((p) => lost.has(p.i));
    }
    return outcomes;
  }

  /**
   * Reads the stored states and decides each observation, SLICE at a time, and adds each
   * slice's writes to `place` as soon as it is decided (CommitLane: a commit starts when writes
   * wait and none runs, and takes all that wait), then closes the place. Fills `outcomes` for
   * the writes that held and returns the indexes (`i`) of those that lost their compare-and-set,
   * to be decided again.
   *
   * Why slices, and why overlapped: for a 5,000-event push, reading 5,000 states and comparing
   * them held the event loop for ~20 ms in one go on the 2-core machine, so the loop yields
   * between slices. And a commit runs elsewhere (the SQLite writer thread, a server), so while
   * one is committed the main thread decides the next slices: one commit of all 5,000 writes
   * after all of them were decided made the push wait for both, one after the other (~110 ms of
   * writer thread after ~250 ms of main thread, profiled). Nothing is acknowledged before every
   * write is stored; a failed commit fails the observation (its caller answers 503 / an error),
   * and what was stored is then a repeat when observed again.
   *
   * The next slice's states are asked for before this slice is decided, so a store whose reads
   * travel (PostgreSQL: a round trip each) answers while the main thread decides. A state read
   * early is as safe as one read late: the commit compares versions either way.
   */
  private async decideAndCommit<P extends { record: GroupPurchaseRecord; i: number }>(
    pending: readonly P[],
    context: DecisionContext,
    outcomes: Observed[],
    place: CommitPlace,
  ): Promise<Set<number>> {
    const lost = new Set<number>();
    const read = (start: number) => {
      const slice = pending.slice(start, start + SLICE);
      const states = this.stateLog.getMany<StoredState>(slice.map((p) => p.record.purchaseId));
      // Awaited below; until then a failure must not count as unhandled.
      states.catch(() => undefined);
      return { slice, states };
    };
    const commits: Array<Promise<void>> = [];
    try {
      let next = read(0);
      for (let start = 0; start < pending.length; start += SLICE) {
        // Before a large first slice too (the push reads 500 events and observes them at once:
        // ~25 ms in one go); a small observation (a read, an action) is decided without a turn.
        if (start > 0 || pending.length > YIELD_ABOVE) await yieldToEventLoop();
        const { slice, states } = next;
        const current = await states;
        if (start + SLICE < pending.length) next = read(start + SLICE);
        const decided = slice.map((p) => ({
          i: p.i,
          ...decide(current.get(p.record.purchaseId), p.record, context),
        }));
        const committed = this.commitSlice(decided, place, outcomes, lost);
        // Awaited below with the others; a failure must not count as unhandled meanwhile.
        committed.catch(() => undefined);
        commits.push(committed);
      }
    } finally {
      place.close();
    }
    await settleAll(commits);
    return lost;
  }

  /** Commits decided observations; fills `outcomes` for what held, `lost` for what did not. */
  private async commitSlice(
    decided: readonly Decided[],
    place: CommitPlace,
    outcomes: Observed[],
    lost: Set<number>,
  ): Promise<void> {
    const writes = decided.filter((d) => d.write !== undefined);
    const results = await place.add(writes.map((d) => d.write!));
    writes.forEach((d, k) => {
      const result = results[k]!;
      if (!result.ok) {
        lost.add(d.i);
        this.counts.conflicts += 1;
      } else if (d.outcome.kind === 'change') {
        d.outcome.change.cursor = d.outcome.change.eventId = result.cursor!;
      }
    });
    for (const d of decided) if (!lost.has(d.i)) outcomes[d.i] = d.outcome;
  }

  private readonly isOurs = (record: GroupPurchaseRecord): boolean =>
    this.options.merchantId === undefined ||
    record.merchantId === null ||
    record.merchantId === this.options.merchantId;

  /** Counting, logging stale ones, the wake-up for subscribers, and "seen" for the read cache. */
  private afterObserving(outcomes: Observed[], source: Source, now: number): void {
    let newest: string | undefined;
    for (const outcome of outcomes) {
      if (outcome.kind === 'change') {
        this.counts.changes += 1;
        const { cursor } = outcome.change;
        if (newest === undefined || compareCursors(cursor, newest) > 0) newest = cursor;
      } else if (outcome.kind === 'repeat') {
        this.counts.repeats += 1;
        // An ACTION observation is inferred, not seen: it confirms nothing (see decide).
        if (source !== Source.ACTION) this.seen.mark(outcome.current.purchaseId, now);
      } else if (outcome.kind === 'refused') this.counts.refused += 1;
      else this.counts.stale += 1;
    }
    this.logStale(outcomes, source);
    if (newest !== undefined) this.announce(newest);
  }

  private logStale(outcomes: Observed[], source: Source): void {
    const stale = outcomes.flatMap((o) => (o.kind === 'stale' ? [o] : []));
    if (stale.length === 0) return;
    this.options.logger.warn(
      {
        source,
        stale: stale.length,
        // The first few, enough to find them; a push of thousands must not log thousands.
        moves: stale.slice(0, 20).map((o) => ({
          purchaseId: o.current.purchaseId,
          known: o.current.status,
          observed: o.observed,
        })),
      },
      'stale purchase observations kept out: older than the known state',
    );
  }

  /**
   * Tells followers the log grew. The change is already durable, so a failed publish is only
   * logged: followers also re-read the log on their own every few seconds (change-feed.ts).
   */
  private announce(cursor: string): void {
    try {
      void Promise.resolve(this.options.bus.publish(GROUP_PURCHASE_CHANGED, { cursor })).catch(
        (error: unknown) =>
          this.options.logger.warn({ err: error }, 'change wake-up not published'),
      );
    } catch (error) {
      this.options.logger.warn({ err: error }, 'change wake-up not published');
    }
  }

  /**
   * The change-log head, read after this call was made: pass it to `observe` as `readStamp` for
   * a read about to be sent. One turn's calls share one head read (see readsOfOneTurn).
   */
  async readStamp(): Promise<string> {
    return guardStore(() => this.heads.load('head'));
  }

  private readonly heads = readsOfOneTurn<'head', string>(async (keys) => {
    const head = (await this.stateLog.head()) ?? '0';
    return keys.map(() => head);
  });

  /**
   * The known state if it was observed less than `ttlMs` ago: stored by a change then, or
   * confirmed by a repeat observation (a read or push equal to it) in this process since.
   */
  async fresh(
    purchaseId: string,
    ttlMs: number,
    now = Date.now(),
  ): Promise<GroupPurchaseRecord | null> {
    const states = await guardStore(() => this.stateLog.getMany<StoredState>([purchaseId]));
    const state = states.get(purchaseId)?.value;
    if (!state) return null;
    const at = Math.max(state.observedAt, this.seen.get(purchaseId) ?? 0);
    return now - at < ttlMs ? state.record : null;
  }

  /** The stored state of each purchase (absent ones are missing). */
  async current(purchaseIds: readonly string[]): Promise<Map<string, GroupPurchaseRecord>> {
    const states = await guardStore(() => this.stateLog.getMany<StoredState>(purchaseIds));
    return new Map([...states].map(([id, state]) => [id, state.value.record]));
  }

  /**
   * PayByGroup accepted one of our actions: the purchase is now in the action's status, whether
   * or not PayByGroup's own push ever arrives. Observed as an ACTION change built from the known
   * state (that push then is a repeat). A purchase this service has never seen has no state to
   * build on, so it is read from PayByGroup (`readPurchase`) — after the action, so the read
   * shows its effect — and that read is the ACTION change. Rejects when the store or that read
   * fails: the caller logs it, since the action itself has happened.
   */
  async actionAccepted(purchaseId: string, action: PurchaseAction): Promise<void> {
    const known = (await this.current([purchaseId])).get(purchaseId);
    if (!known) {
      const read = await this.options.readPurchase?.(purchaseId);
      if (read) await this.observe([read], Source.ACTION);
      return;
    }
    const status = STATUS_AFTER_ACTION[action];
    const word = wordOfStatus(status)!;
    await this.observe(
      [{ ...known, status, rawStatus: word, attributes: { ...known.attributes, status: word } }],
      Source.ACTION,
    );
  }

  /** Up to `limit` purchases known in a non-final state, least recently reconciled first. */
  openPurchases(limit: number): Promise<string[]> {
    return guardStore(() => this.stateLog.takeOpen(limit));
  }

  /** Deletes changes older than `maxAgeMs` from the log. */
  trimLog(maxAgeMs: number): Promise<number> {
    return guardStore(() => this.stateLog.trim(maxAgeMs));
  }
}

/**
 * Observations of distinct purchases per compare-and-set batch (committed SLICE at a time).
 * A purchase observed twice in one call has its later observation in a later batch.
 */
const ROUND_SIZE = 10_000;

/**
 * The next batch: up to ROUND_SIZE observations of distinct purchases, in order. A batch holds
 * one write per key, so a purchase observed twice waits for the next round for its second one.
 */
function nextRound<T extends { record: GroupPurchaseRecord }>(rest: readonly T[]): Set<T> {
  const ids = new Set<string>();
  const round = new Set<T>();
  for (const item of rest) {
    if (round.size === ROUND_SIZE) break;
    if (ids.has(item.record.purchaseId)) continue;
    ids.add(item.record.purchaseId);
    round.add(item);
  }
  return round;
}

/** An observation decided: its index in the round, its outcome and the write it needs. */
type Decided = { i: number } & ReturnType<typeof decide>;
