import type { GroupPurchaseRecord, GroupPurchaseStatus } from '../pbg/types.js';
import type { StateLogLogEntry, WriteText } from '../store/index.js';

/**
 * What the state log keeps for a purchase — its state, and one entry per change — and the one
 * codec between those texts and the objects the rest of the service uses: the state owner
 * (state.ts) encodes, the change feed (change-feed.ts) decodes, and nothing else reads or
 * writes the log's entries.
 */

/** How this service learned of a change (the graph's GroupPurchaseChangeSource). */
export enum GroupPurchaseChangeSource {
  /** PayByGroup's change push. */
  PUSH = 'PUSH',
  /** A periodic comparison with PayByGroup's answer, or a read that found what no push said. */
  RECONCILIATION = 'RECONCILIATION',
  /** An action this service performed and PayByGroup accepted. */
  ACTION = 'ACTION',
}

/** One change of one purchase, as kept in the change log and delivered to subscribers. */
export interface GroupPurchaseChange {
  /** The change's place in the log: after every earlier change, across instances. */
  cursor: string;
  /** The same as `cursor`: one change, one id, however often it is delivered or paged. */
  eventId: string;
  source: GroupPurchaseChangeSource;
  /** The purchase as observed: subscribers are served from the change, not from PBG. */
  purchase: GroupPurchaseRecord;
  /** Which of status, commitDeadline, numPeople differ from the state before. */
  changedFields: string[];
  previousStatus: GroupPurchaseStatus | null;
  /** ISO-8601 instant the observation arrived. */
  receivedAt: string;
}

/** A purchase's state as kept in the state log. */
export interface StoredState {
  record: GroupPurchaseRecord;
  /** Epoch ms this state was first observed; 0 when it was inferred from an accepted action. */
  observedAt: number;
}

/** A change as its log entry keeps it: the cursor and event id are the log's to give. */
export type LoggedChange = Omit<GroupPurchaseChange, 'cursor' | 'eventId'>;

/**
 * The JSON text of a state and of its log entry — exactly JSON.stringify(value) and
 * JSON.stringify(logged), key for key (test/state-log-text.test.ts checks it) — with the
 * purchase, which both carry whole, stringified once and given once, as the text they share
 * (WriteText's second form).
 *
 * Why: stringifying both objects stringified every purchase (its fields and PayByGroup's object
 * as sent) twice; the profile of the bench's 5,000-event push put ~44 ms per push there. Measured
 * with a script outside the repo on 5,000 purchases: ~40–55 ms for the two JSON.stringify calls,
 * ~15–30 ms this way (a generic splice walking each object's keys saved nothing). A field added
 * to GroupPurchaseChange or StoredState must be added here too: the test fails until it is.
 */
export function storedTexts(value: StoredState, logged: LoggedChange): WriteText {
  const { source, changedFields, previousStatus, receivedAt } = logged;
  return {
    shared: JSON.stringify(logged.purchase),
    value: ['{"record":', `,"observedAt":${JSON.stringify(value.observedAt)}}`],
    log: [
      `{"source":${JSON.stringify(source)},"purchase":`,
      `,"changedFields":${JSON.stringify(changedFields)},` +
        `"previousStatus":${JSON.stringify(previousStatus)},"receivedAt":${JSON.stringify(receivedAt)}}`,
    ],
  };
}

/**
 * A log entry as the change it records: the entry's cursor is both the change's place in the
 * log and its event id (one change, one id, however often it is delivered or paged).
 */
export function decodeChange(entry: StateLogLogEntry<LoggedChange>): GroupPurchaseChange {
  return { ...entry.value, cursor: entry.cursor, eventId: entry.cursor };
}
