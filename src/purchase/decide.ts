import { canonicalJson } from '../canonical-json.js';
import type { CommitLane } from './commit-lane.js';
import { SOURCE_FIELDS } from '../pbg/parse.js';
import type { GroupPurchaseRecord, GroupPurchaseStatus } from '../pbg/types.js';
import { compareCursors, type StateLogState, type StateLogWrite } from '../store/index.js';
import { isBackwards, isFinal } from './lifecycle.js';
import { purchaseObjectProblem } from './limits.js';
import {
  GroupPurchaseChangeSource as Source,
  storedTexts,
  type GroupPurchaseChange,
  type LoggedChange,
  type StoredState,
} from './stored.js';

/**
 * What one observation of a purchase means against its stored state — a change, a repeat, a
 * stale observation or a refusal — as a pure function, so the state owner (state.ts) can call
 * it again with the state it lost a compare-and-set to. Nothing here reads or writes a store.
 */

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
  /**
   * The lane this observation's writes join (CommitLane): its first writes are committed after
   * those of every observation that took a place in the lane before it. The change push
   * observes each slice of events in one lane, so the log holds the push in its order and a
   * push that fails part-way has stored a prefix of it.
   * @default a lane of its own
   */
  lane?: CommitLane;
}

/** The fields whose change makes PBG push, compared with the previous state. */
const WATCHED = ['status', 'commitDeadline', 'numPeople'] as const;

/**
 * The decision for one observation against the stored state: pure, so the compare-and-set
 * retry can simply call it again with the state it lost to.
 */
export interface DecisionContext {
  source: Source;
  options: ObserveOptions;
  receivedAt: string;
  /** Whether reconciliation should keep asking about this purchase while it is open. */
  isOurs: (record: GroupPurchaseRecord) => boolean;
}

export function decide(
  stored: StateLogState<StoredState> | undefined,
  observed: GroupPurchaseRecord,
  { source, options, receivedAt, isOurs }: DecisionContext,
): { outcome: Observed; write?: StateLogWrite<StoredState> } {
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
  stored: StateLogState<StoredState>,
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
