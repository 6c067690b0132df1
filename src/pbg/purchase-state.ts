import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { canonicalJson } from '../canonical-json.js';
import { GROUP_PURCHASE_CHANGED, type EventBus } from '../events/pubsub.js';
import type { Logger } from '../logger.js';
import { guardStore } from '../store/guard.js';
import {
  compareCursors,
  type Ledger,
  type LedgerState,
  type LedgerWrite,
  type Store,
} from '../store/index.js';
import { isBackwards, isFinal, STATUS_AFTER_ACTION } from './lifecycle.js';
import { purchaseObjectProblem } from './limits.js';
import { SOURCE_FIELDS } from './parse.js';
import {
  GroupPurchaseChangeSource as Source,
  GroupPurchaseStatus,
  PurchaseAction,
  wordOfStatus,
  type GroupPurchaseChange,
  type GroupPurchaseRecord,
} from './types.js';

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

/** A purchase's state as kept in the ledger. */
interface StoredState {
  record: GroupPurchaseRecord;
  /** Epoch ms this state was first observed; 0 when it was inferred from an accepted action. */
  observedAt: number;
}

/** What one observation turned out to be. */
export type Observed =
  | { kind: 'change'; change: GroupPurchaseChange }
  | { kind: 'repeat'; current: GroupPurchaseRecord }
  /** Older than what is known: logged as a warning and counted, not applied, not published. */
  | { kind: 'stale'; current: GroupPurchaseRecord; observed: GroupPurchaseStatus }
  /** Broke a size or nesting limit; nothing was compared or stored. */
  | { kind: 'refused'; reason: string };

export interface ObserveOptions {
  /**
   * For reads: the change-log head before the read was sent (`readStamp()`). A purchase that
   * changed after it is not overwritten by what the read brings back.
   */
  readStamp?: string;
  /**
   * Every record's `attributes` already passed purchaseObjectProblem (limits.ts): the change
   * push checks each event before parsing it, and checking 5,000 events again here cost ~12 ms
   * of the push (profiled). Without it, each record is checked here.
   * @default false
   */
  withinLimits?: boolean;
}

/** Counters since start, per outcome. */
export interface ObservationStats {
  changes: number;
  repeats: number;
  stale: number;
  refused: number;
}

/** Compare-and-set rounds before an observation gives up (the caller answers 503 / errors). */
const MAX_ATTEMPTS = 20;
/** The fields whose change makes PBG push, compared with the previous state. */
const WATCHED = ['status', 'commitDeadline', 'numPeople'] as const;
/** Purchases whose last confirmation by a repeat observation is remembered (see SeenTimes). */
const SEEN_CAPACITY = 10_000;
/** Observations looked up or decided per slice of the event loop (a yield between slices). */
const SLICE = 500;

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
  private readonly counts: ObservationStats = { changes: 0, repeats: 0, stale: 0, refused: 0 };
  private readonly seen = new SeenTimes(SEEN_CAPACITY);

  constructor(private readonly options: PurchaseStateOptions) {}

  private get ledger(): Ledger {
    return this.options.store.ledger;
  }

  stats(): ObservationStats {
    return { ...this.counts };
  }

  /**
   * Observes purchases from one source; outcomes in the order of `records`. A purchase listed
   * twice is observed twice, in order. Rejects (STORE_UNAVAILABLE) when the store fails: then
   * some observations may be stored and others not, and observing them again is safe.
   */
  async observe(
    records: readonly GroupPurchaseRecord[],
    source: Source,
    options: ObserveOptions = {},
  ): Promise<Observed[]> {
    const outcomes = new Array<Observed>(records.length);
    const receivedAt = (this.options.now?.() ?? new Date()).toISOString();
    let rest = records.map((record, index) => ({ record, index }));
    try {
      while (rest.length > 0) {
        const round = nextRound(rest);
        rest = rest.filter((item) => !round.has(item));
        const items = [...round];
        const results = await guardStore(() =>
          this.observeRound(items, source, options, receivedAt),
        );
        items.forEach(({ index }, i) => (outcomes[index] = results[i]!));
      }
    } finally {
      // Also after a failure: what the earlier rounds logged must still wake its followers.
      this.afterObserving(outcomes.filter(Boolean), source, Date.parse(receivedAt));
    }
    return outcomes;
  }

  /**
   * One compare-and-set batch over distinct purchases — one `commit`, so one transaction (SQLite)
   * or one pipeline (Redis) for all its writes — retried for those whose version moved. Nothing
   * is committed when nothing changed: a read that shows nothing new writes nothing.
   */
  private async observeRound(
    items: ReadonlyArray<{ record: GroupPurchaseRecord }>,
    source: Source,
    options: ObserveOptions,
    receivedAt: string,
  ): Promise<Observed[]> {
    const outcomes = new Array<Observed>(items.length);
    const context: DecisionContext = { source, options, receivedAt, isOurs: this.isOurs };
    let pending = items.map((item, i) => ({ ...item, i }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === MAX_ATTEMPTS) {
        throw new Error(`purchase state kept moving for ${MAX_ATTEMPTS} compare-and-set rounds`);
      }
      const decided = await this.decideAll(pending, context);
      const writes = decided.filter((d) => d.write !== undefined);
      const results =
        writes.length === 0 ? [] : await this.ledger.commit(writes.map((d) => d.write!));
      const lost = new Set<number>();
      writes.forEach((d, k) => {
        const result = results[k]!;
        if (!result.ok) lost.add(d.i);
        else if (d.outcome.kind === 'change') {
          d.outcome.change.cursor = d.outcome.change.eventId = result.cursor!;
        }
      });
      for (const d of decided) if (!lost.has(d.i)) outcomes[d.i] = d.outcome;
      pending = pending.filter((p) => lost.has(p.i));
    }
    return outcomes;
  }

  /**
   * Reads the stored states and decides each observation, SLICE at a time with a yield to the
   * event loop between slices. Why: for a 5,000-event push, reading 5,000 states (the SQL and
   * the JSON.parse of each) and comparing them held the loop for ~20 ms in one go on the 2-core
   * machine. Yielding here is safe: a state that moves meanwhile fails its compare-and-set and
   * is decided again.
   *
   * The next slice's states are asked for before this slice is decided, so a store whose reads
   * travel (PostgreSQL: a round trip each) answers while the main thread decides, instead of
   * the push waiting for ten round trips one after another. A state read one slice early is
   * as safe as one read late: the commit compares versions either way.
   */
  private async decideAll<P extends { record: GroupPurchaseRecord; i: number }>(
    pending: readonly P[],
    context: DecisionContext,
  ): Promise<Array<P & ReturnType<typeof decide>>> {
    const decided: Array<P & ReturnType<typeof decide>> = [];
    const read = (start: number) => {
      const slice = pending.slice(start, start + SLICE);
      const states = this.ledger.getMany<StoredState>(slice.map((p) => p.record.purchaseId));
      // Awaited below; until then a failure must not count as unhandled.
      states.catch(() => undefined);
      return { slice, states };
    };
    let next = read(0);
    for (let start = 0; start < pending.length; start += SLICE) {
      if (start > 0) await yieldToEventLoop();
      const { slice, states } = next;
      const current = await states;
      if (start + SLICE < pending.length) next = read(start + SLICE);
      for (const p of slice) {
        decided.push({ ...p, ...decide(current.get(p.record.purchaseId), p.record, context) });
      }
    }
    return decided;
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

  /** The change-log head now: pass it to `observe` as `readStamp` for a read about to be sent. */
  async readStamp(): Promise<string> {
    return (await guardStore(() => this.ledger.head())) ?? '0';
  }

  /**
   * The known state if it was observed less than `ttlMs` ago: stored by a change then, or
   * confirmed by a repeat observation (a read or push equal to it) in this process since.
   */
  async fresh(
    purchaseId: string,
    ttlMs: number,
    now = Date.now(),
  ): Promise<GroupPurchaseRecord | null> {
    const states = await guardStore(() => this.ledger.getMany<StoredState>([purchaseId]));
    const state = states.get(purchaseId)?.value;
    if (!state) return null;
    const at = Math.max(state.observedAt, this.seen.get(purchaseId) ?? 0);
    return now - at < ttlMs ? state.record : null;
  }

  /** The stored state of each purchase (absent ones are missing). */
  async current(purchaseIds: readonly string[]): Promise<Map<string, GroupPurchaseRecord>> {
    const states = await guardStore(() => this.ledger.getMany<StoredState>(purchaseIds));
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
    return guardStore(() => this.ledger.takeOpen(limit));
  }

  /** Deletes changes older than `maxAgeMs` from the log. */
  trimLog(maxAgeMs: number): Promise<number> {
    return guardStore(() => this.ledger.trim(maxAgeMs));
  }
}

/**
 * Purchases per compare-and-set batch, which is one ledger commit: a 5,000-event push of
 * distinct purchases is one SQLite transaction / one Redis pipeline. The bound keeps one
 * transaction (and the file's write lock) to ~200 ms of the writer thread for the largest
 * bodies PBG_CALLBACK_MAX_BYTES lets in.
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

/**
 * The decision for one observation against the stored state: pure, so the compare-and-set
 * retry can simply call it again with the state it lost to.
 */
interface DecisionContext {
  source: Source;
  options: ObserveOptions;
  receivedAt: string;
  /** Whether reconciliation should keep asking about this purchase while it is open. */
  isOurs: (record: GroupPurchaseRecord) => boolean;
}

function decide(
  stored: LedgerState<StoredState> | undefined,
  observed: GroupPurchaseRecord,
  { source, options, receivedAt, isOurs }: DecisionContext,
): { outcome: Observed; write?: LedgerWrite<StoredState> } {
  const problem = options.withinLimits ? undefined : purchaseObjectProblem(observed.attributes);
  if (problem !== undefined) return { outcome: { kind: 'refused', reason: problem } };
  const previous = stored?.value.record;
  const record = previous ? mergeObserved(previous, observed) : observed;
  if (previous && sameAttributes(previous.attributes, record.attributes)) {
    return { outcome: { kind: 'repeat', current: previous } };
  }
  if (previous && isStale(stored, record, options)) {
    return { outcome: { kind: 'stale', current: previous, observed: record.status } };
  }
  const logged: LoggedChange = {
    source,
    purchase: record,
    changedFields: changedFields(previous, record),
    previousStatus: previous?.status ?? null,
    receivedAt,
  };
  const change: GroupPurchaseChange = { cursor: '', eventId: '', ...logged };
  // An ACTION state is what PayByGroup's rules say the action leads to, not what it sent:
  // it is recorded (and published) but not served as a fresh read, so the next read asks.
  const value: StoredState = {
    record,
    observedAt: source === Source.ACTION ? 0 : Date.parse(receivedAt),
  };
  return {
    outcome: { kind: 'change', change },
    write: {
      key: record.purchaseId,
      expectedVersion: stored?.version ?? 0,
      value,
      open: !isFinal(record.status) && isOurs(record),
      log: logged,
      // The log's time index selects on this (receivedAfter / receivedBefore): when this service
      // learned of the change, not when PayByGroup says it happened.
      at: Date.parse(receivedAt),
      text: storedTexts(value, logged),
    },
  };
}

/**
 * An observation laid over the stored state. A push may carry only some of a purchase's fields
 * (PayByGroup's own example carries purchase_id, status, purchase_name, …) while a read carries
 * all of them: a field the observation does not carry was *not observed*, not removed. So it
 * keeps the last value seen for it, and it is neither a change nor a reason for one. Without
 * this, a partial push and the next full read disagreed on every field the push lacked, and each
 * published a change (a reconciliation sweep every interval, for nothing).
 *
 * A field the observation carries, even as null, is observed. Key order: the stored state's,
 * then fields seen for the first time (sameAttributes ignores the order anyway).
 */
function mergeObserved(
  previous: GroupPurchaseRecord,
  observed: GroupPurchaseRecord,
): GroupPurchaseRecord {
  const carried = observed.attributes;
  const merged: GroupPurchaseRecord = {
    ...observed,
    attributes: { ...previous.attributes, ...carried },
  };
  for (const [field, key] of Object.entries(SOURCE_FIELDS)) {
    if (!(key in carried))
      (merged as unknown as Record<string, unknown>)[field] =
        previous[field as keyof GroupPurchaseRecord];
  }
  return merged;
}

/** A change as its log entry keeps it: the cursor and event id are the log's to give. */
type LoggedChange = Omit<GroupPurchaseChange, 'cursor' | 'eventId'>;

/**
 * The JSON text of a state and of its log entry — exactly JSON.stringify(value) and
 * JSON.stringify(logged), key for key (test/ledger-text.test.ts checks it) — with the
 * purchase, which both carry whole, stringified once.
 *
 * Why: stringifying both objects stringified every purchase (its fields and PayByGroup's object
 * as sent) twice; the profile of the bench's 5,000-event push put ~44 ms per push there. Measured
 * with a script outside the repo on 5,000 purchases: ~40–55 ms for the two JSON.stringify calls,
 * ~15–30 ms this way (a generic splice walking each object's keys saved nothing). A field added
 * to GroupPurchaseChange or StoredState must be added here too: the test fails until it is.
 */
function storedTexts(value: StoredState, logged: LoggedChange): { value: string; log: string } {
  const purchase = JSON.stringify(logged.purchase);
  const { source, changedFields, previousStatus, receivedAt } = logged;
  return {
    value: `{"record":${purchase},"observedAt":${JSON.stringify(value.observedAt)}}`,
    log:
      `{"source":${JSON.stringify(source)},"purchase":${purchase},` +
      `"changedFields":${JSON.stringify(changedFields)},` +
      `"previousStatus":${JSON.stringify(previousStatus)},"receivedAt":${JSON.stringify(receivedAt)}}`,
  };
}

/**
 * Whether two observations carry the same fields, key order aside. JSON.stringify first: equal
 * text means equal content, and it is native — for a repeated 5,000-event push, comparing
 * canonical JSON alone took ~35 ms of main-thread CPU (measured), while PayByGroup sends the
 * same purchase with its keys in the same order. Canonical JSON only when the texts differ.
 */
function sameAttributes(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b) || canonicalJson(a) === canonicalJson(b);
}

/** A read that started before the stored state was written, or a move backwards. */
function isStale(
  stored: LedgerState<StoredState>,
  record: GroupPurchaseRecord,
  options: ObserveOptions,
): boolean {
  if (
    options.readStamp !== undefined &&
    stored.cursor !== undefined &&
    compareCursors(stored.cursor, options.readStamp) > 0
  ) {
    return true;
  }
  return isBackwards(stored.value.record.status, record.status);
}

function changedFields(
  previous: GroupPurchaseRecord | undefined,
  next: GroupPurchaseRecord,
): string[] {
  if (!previous) return WATCHED.filter((field) => next[field] !== null);
  return WATCHED.filter((field) =>
    field === 'status' ? previous.rawStatus !== next.rawStatus : previous[field] !== next[field],
  );
}

/**
 * When each purchase was last confirmed by a repeat observation, for `fresh()` — in this
 * process only, bounded, oldest confirmation forgotten first.
 *
 * Why not in the store (it was a keyv record per purchase): then every read that showed nothing
 * new wrote one row per purchase — a `groupPurchases` list of 200 pending purchases was 200
 * synchronous SQLite writes, and a repeated 5,000-event push 5,000 of them (~2 s measured).
 * The time is only a hint for the read cache: losing it (a restart, another instance, eviction
 * past SEEN_CAPACITY) costs one more PayByGroup read for that purchase, never a wrong answer —
 * the change log and the stored state are untouched, and a change still stores its own
 * `observedAt` with the state. So a read that shows nothing new writes nothing.
 */
class SeenTimes {
  private readonly times = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  get(purchaseId: string): number | undefined {
    return this.times.get(purchaseId);
  }

  mark(purchaseId: string, at: number): void {
    // Re-inserted so the Map's order stays oldest confirmation first.
    this.times.delete(purchaseId);
    this.times.set(purchaseId, at);
    if (this.times.size > this.capacity) {
      this.times.delete(this.times.keys().next().value!);
    }
  }
}
