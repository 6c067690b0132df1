import { ErrorCode, ServiceError } from '../errors.js';
import type { GroupPurchaseRecord } from '../pbg/types.js';

/**
 * Pages over a list of purchases for `groupPurchasesConnection`. PayByGroup's query has no
 * paging of its own: it answers every matching purchase in one body. So the list view reads
 * that answer (through the service's shared read, one PayByGroup call however many pages a
 * burst asks for) and hands out a slice of it, in an order that does not depend on the order
 * PayByGroup happened to send: newest `createdAt` first (purchases without one last), then
 * `purchaseId`. A cursor is the sort key of the page's last purchase, so the next page starts
 * after that key even when purchases were added or dropped between the two reads: each purchase
 * is listed once while it matches, and none is skipped because another one appeared.
 */

/** Most purchases one `groupPurchasesConnection` page returns. */
export const MAX_PURCHASES_PAGE = 200;
/** The page size when `first` is not given. */
export const DEFAULT_PURCHASES_PAGE = 50;

export interface PurchasePage {
  items: Array<{ cursor: string; purchase: GroupPurchaseRecord }>;
  endCursor: string | null;
  hasNextPage: boolean;
}

/** The sort key: createdAt as epoch ms (null: after every dated one), then purchaseId. */
type Key = [number | null, string];

/** Up to `first` purchases after `after`, in the list's order (see above). */
export function pagePurchases(
  purchases: readonly GroupPurchaseRecord[],
  first: number | null | undefined,
  after: string | null | undefined,
): PurchasePage {
  const size = first ?? DEFAULT_PURCHASES_PAGE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PURCHASES_PAGE) {
    throw new ServiceError(
      ErrorCode.BAD_USER_INPUT,
      `first must be from 1 to ${MAX_PURCHASES_PAGE} (MAX_PURCHASES_PAGE); got ${first}.`,
      { details: { field: 'first', limit: MAX_PURCHASES_PAGE } },
    );
  }
  const from = after == null ? undefined : decodeCursor(after);
  const sorted = purchases.map((p) => ({ key: keyOf(p), purchase: p })).sort(byKey);
  const rest = from === undefined ? sorted : sorted.filter((p) => compareKeys(p.key, from) > 0);
  const page = rest.slice(0, size);
  const items = page.map((p) => ({ cursor: encodeCursor(p.key), purchase: p.purchase }));
  return {
    items,
    endCursor: items.at(-1)?.cursor ?? after ?? null,
    hasNextPage: rest.length > size,
  };
}

function keyOf(purchase: GroupPurchaseRecord): Key {
  const at = purchase.createdAt === null ? NaN : Date.parse(purchase.createdAt);
  return [Number.isNaN(at) ? null : at, purchase.purchaseId];
}

function byKey(a: { key: Key }, b: { key: Key }): number {
  return compareKeys(a.key, b.key);
}

/** Newest first, undated last, then by id. */
function compareKeys([atA, idA]: Key, [atB, idB]: Key): number {
  if (atA !== atB) {
    if (atA === null) return 1;
    if (atB === null) return -1;
    return atB - atA;
  }
  return idA < idB ? -1 : idA > idB ? 1 : 0;
}

function encodeCursor(key: Key): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Key {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (
    Array.isArray(key) &&
    key.length === 2 &&
    (key[0] === null || Number.isSafeInteger(key[0])) &&
    typeof key[1] === 'string'
  ) {
    return key as Key;
  }
  throw new ServiceError(
    ErrorCode.BAD_USER_INPUT,
    `${JSON.stringify(cursor.slice(0, 40))} is not a groupPurchasesConnection cursor; use an endCursor or edge cursor this service returned.`,
    { details: { field: 'after', reason: 'CURSOR_MALFORMED' } },
  );
}
