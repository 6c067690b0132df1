import type { Money } from '../money.js';

/**
 * The PayByGroup slice's domain types: what the REST client returns once the wire format is
 * parsed. The GraphQL layer registers these enums as they are, so their values are the graph's
 * enum values. Nothing here knows PBG's field names except the word maps at the end.
 */

export enum GroupPurchaseStatus {
  PENDING = 'PENDING',
  COLLECTED = 'COLLECTED',
  PAYMENT_COMPLETED = 'PAYMENT_COMPLETED',
  EXPIRED = 'EXPIRED',
  CANCELLED = 'CANCELLED',
  REFUNDED = 'REFUNDED',
  UNAVAILABLE = 'UNAVAILABLE',
  /** A status word this service does not know; the word itself is in `rawStatus`. */
  UNKNOWN = 'UNKNOWN',
}

export enum PurchaseAction {
  COLLECT_FUNDS = 'COLLECT_FUNDS',
  SET_UNAVAILABLE = 'SET_UNAVAILABLE',
  REFUND = 'REFUND',
  CANCEL = 'CANCEL',
}

export enum InventoryState {
  AVAILABLE = 'AVAILABLE',
  UNAVAILABLE = 'UNAVAILABLE',
  UNKNOWN = 'UNKNOWN',
}

/** One group purchase as PBG reported it. A field PBG sent garbled is null (and logged). */
export interface GroupPurchaseRecord {
  purchaseId: string;
  merchantId: string | null;
  inventoryId: string | null;
  status: GroupPurchaseStatus;
  /** PBG's own status word, kept for UNKNOWN and for support ('' when PBG sent none). */
  rawStatus: string;
  name: string | null;
  description: string | null;
  linkUrl: string | null;
  imageUrl: string | null;
  merchantOrgEmail: string | null;
  purchaseCost: Money | null;
  costPerPerson: Money | null;
  numPeople: number | null;
  /** ISO-8601 with offset, e.g. "2026-05-27T23:59:00-08:00". */
  commitDeadline: string | null;
  /** ISO-8601 with offset. */
  createdAt: string | null;
  /** Every field as PBG sent it, unknown ones included (PBG returns all merchant inputs). */
  attributes: Record<string, unknown>;
}

/** The constraints of merch_get_purch_info.json; all given ones must hold. */
export interface PurchaseQuery {
  merchantId?: string;
  inventoryId?: string;
  /** The merchant's or PayByGroup's purchase id. */
  purchaseId?: string;
  /** "YYYY-MM-DD", inclusive. */
  createdAfter?: string;
  /** "YYYY-MM-DD", exclusive. */
  createdBefore?: string;
  /** Any of these; UNKNOWN matches every status word this service does not know. */
  status?: GroupPurchaseStatus[];
}

/**
 * PBG's status words. The document names them only through examples ("pending",
 * "payment_completed", "collected"); the rest are the believable Rails spellings. American
 * "canceled" is read too, since nothing in the document pins the spelling down.
 */
const STATUS_OF_WORD: Readonly<Record<string, GroupPurchaseStatus>> = {
  pending: GroupPurchaseStatus.PENDING,
  collected: GroupPurchaseStatus.COLLECTED,
  payment_completed: GroupPurchaseStatus.PAYMENT_COMPLETED,
  expired: GroupPurchaseStatus.EXPIRED,
  cancelled: GroupPurchaseStatus.CANCELLED,
  canceled: GroupPurchaseStatus.CANCELLED,
  refunded: GroupPurchaseStatus.REFUNDED,
  unavailable: GroupPurchaseStatus.UNAVAILABLE,
};

/** The word sent in a status filter; UNKNOWN has none (it is "any word not listed here"). */
const WORD_OF_STATUS: Readonly<Record<GroupPurchaseStatus, string | undefined>> = {
  [GroupPurchaseStatus.PENDING]: 'pending',
  [GroupPurchaseStatus.COLLECTED]: 'collected',
  [GroupPurchaseStatus.PAYMENT_COMPLETED]: 'payment_completed',
  [GroupPurchaseStatus.EXPIRED]: 'expired',
  [GroupPurchaseStatus.CANCELLED]: 'cancelled',
  [GroupPurchaseStatus.REFUNDED]: 'refunded',
  [GroupPurchaseStatus.UNAVAILABLE]: 'unavailable',
  [GroupPurchaseStatus.UNKNOWN]: undefined,
};

/** "payment_completed" → PAYMENT_COMPLETED; case and surrounding blanks do not matter. */
export function statusFromWord(word: string): GroupPurchaseStatus {
  return STATUS_OF_WORD[word.trim().toLowerCase()] ?? GroupPurchaseStatus.UNKNOWN;
}

/** PAYMENT_COMPLETED → "payment_completed"; undefined for UNKNOWN, which cannot be sent. */
export function wordOfStatus(status: GroupPurchaseStatus): string | undefined {
  return WORD_OF_STATUS[status];
}

/** The document's action words ("Merchant Push Action"). */
export const ACTION_WORDS: Readonly<Record<PurchaseAction, string>> = {
  [PurchaseAction.COLLECT_FUNDS]: 'collect_funds',
  [PurchaseAction.SET_UNAVAILABLE]: 'set_unavailable',
  [PurchaseAction.REFUND]: 'refund',
  [PurchaseAction.CANCEL]: 'cancel',
};
