import { GroupPurchaseStatus as S, PurchaseAction } from '../pbg/types.js';

/**
 * The life cycle of a group purchase, in the one place that decides whether an observation moves
 * a purchase forward or backward.
 *
 * Sources: PayByGroup's document names the statuses only through examples ("pending",
 * "payment_completed", "collected") and the actions only by intent; the simulator's state machine
 * (src/sandbox/pbg/status.ts) plays the believable reading:
 *
 * ```
 *   PENDING ──(last share paid)──▶ PAYMENT_COMPLETED ──collect_funds──▶ COLLECTED ──refund──▶ REFUNDED
 *      │  ╲                          │     ╲                                 (final)
 *      │   ╲──set_unavailable──▶ UNAVAILABLE ◀──set_unavailable               ▲
 *      │                             │                 PAYMENT_COMPLETED ──refund──┘
 *      ├──(deadline passes)──▶ EXPIRED (final)
 *      └──cancel (from anything but COLLECTED, REFUNDED, CANCELLED)──▶ CANCELLED (final)
 * ```
 *
 * Read as stages: PENDING (0) → PAYMENT_COMPLETED (1) → COLLECTED or UNAVAILABLE (2, two
 * branches that never meet) → REFUNDED, CANCELLED, EXPIRED (final). A move is *backwards* when it
 * leaves a final status, goes to an earlier stage, or jumps between the two branches of stage 2
 * (COLLECTED never becomes UNAVAILABLE, nor the reverse). Everything else is forward — including
 * PENDING → PENDING with a new head count: the status does not order those, so they are changes.
 *
 * UNKNOWN (a word this service does not know) has no stage: moves to or from it are never called
 * backwards — not even from a final status, since the word may name a later stage ("archived")
 * that this service has not learned yet.
 */
const STAGE: Readonly<Record<S, number | null>> = {
  [S.PENDING]: 0,
  [S.PAYMENT_COMPLETED]: 1,
  [S.COLLECTED]: 2,
  [S.UNAVAILABLE]: 2,
  [S.REFUNDED]: 3,
  [S.CANCELLED]: 3,
  [S.EXPIRED]: 3,
  [S.UNKNOWN]: null,
};

const FINAL: ReadonlySet<S> = new Set([S.REFUNDED, S.CANCELLED, S.EXPIRED]);

/** Statuses after which PayByGroup changes nothing more: reconciliation stops asking. */
export function isFinal(status: S): boolean {
  return FINAL.has(status);
}

/** The statuses reconciliation asks PayByGroup about in one query (UNKNOWN cannot be asked). */
export const OPEN_STATUSES: readonly S[] = [
  S.PENDING,
  S.PAYMENT_COMPLETED,
  S.COLLECTED,
  S.UNAVAILABLE,
];

/** Whether going from `from` to `to` would move a purchase backwards along its life cycle. */
export function isBackwards(from: S, to: S): boolean {
  if (from === to || to === S.UNKNOWN) return false;
  if (isFinal(from)) return true;
  const a = STAGE[from];
  const b = STAGE[to];
  if (a === null || b === null) return false;
  return b < a || (a === b && a === 2);
}

/**
 * The status PayByGroup moves a purchase to when it accepts an action (status.ts's RULES): what
 * an accepted action records, and the proof, on read-back, that an action whose answer was lost
 * did happen.
 */
export const STATUS_AFTER_ACTION: Readonly<Record<PurchaseAction, S>> = {
  [PurchaseAction.COLLECT_FUNDS]: S.COLLECTED,
  [PurchaseAction.SET_UNAVAILABLE]: S.UNAVAILABLE,
  [PurchaseAction.REFUND]: S.REFUNDED,
  [PurchaseAction.CANCEL]: S.CANCELLED,
};
