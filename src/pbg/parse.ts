import { ErrorCode, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Money } from '../money.js';
import { parsePbgDateTime } from './datetime.js';
import { parseMoneyString } from './money.js';
import { GroupPurchaseStatus, statusFromWord, type GroupPurchaseRecord } from './types.js';
import { isObject } from '../is-object.js';

/**
 * Readers for PBG's group purchases: the query answer and the change push's events share the
 * same object. They are strict only about what makes an answer unusable (no `group_purchases`
 * array) and forgiving about everything else, because one garbled field of one purchase must
 * not hide every other purchase from the merchant: an entry without a purchase_id is skipped,
 * an unreadable field becomes null, and each is a logged warning. Warnings carry the shape of
 * the value, never the value: purchases hold organisers' names and e-mail addresses.
 */

/** Reads `{"group_purchases": […]}`. */
export function readPurchases(json: unknown, logger: Logger): GroupPurchaseRecord[] {
  if (!isObject(json)) throw badResponse('the body', 'a JSON object', json);
  const entries = json.group_purchases;
  if (!Array.isArray(entries)) throw badResponse('group_purchases', 'an array', entries);
  const purchases: GroupPurchaseRecord[] = [];
  entries.forEach((entry, index) => {
    const purchase = readGroupPurchase(entry, logger, `group_purchases[${index}]`);
    if (purchase) purchases.push(purchase);
  });
  return purchases;
}

/**
 * Reads one group purchase object (a query answer entry or a change-push event). Null, with a
 * logged warning, when it is not an object or has no purchase_id: without an id there is no
 * purchase to attach anything to.
 */
export function readGroupPurchase(
  entry: unknown,
  logger: Logger,
  where = 'event',
): GroupPurchaseRecord | null {
  if (!isObject(entry)) {
    logger.warn(
      { upstream: 'PayByGroup', where, expected: 'an object', got: shapeOf(entry) },
      'PayByGroup sent a group purchase that is not an object; skipped',
    );
    return null;
  }
  const purchaseId = entry.purchase_id;
  if (typeof purchaseId !== 'string' || purchaseId.trim() === '') {
    logger.warn(
      {
        upstream: 'PayByGroup',
        where,
        field: 'purchase_id',
        expected: 'a non-empty string',
        got: shapeOf(purchaseId),
      },
      'PayByGroup sent a group purchase without a purchase_id; skipped',
    );
    return null;
  }
  const read = new FieldReader(entry, purchaseId, logger);
  const { status, rawStatus } = read.status();
  return {
    purchaseId,
    merchantId: read.string('merchant_id'),
    inventoryId: read.string('inventory_id'),
    status,
    rawStatus,
    name: read.string('purchase_name'),
    description: read.string('purchase_description'),
    linkUrl: read.string('purchase_link_url'),
    imageUrl: read.string('purchase_image_url'),
    merchantOrgEmail: read.string('merchant_org_email'),
    purchaseCost: read.money('purchase_cost'),
    costPerPerson: read.money('cost_per_person'),
    numPeople: read.count('num_people'),
    commitDeadline: read.dateTime('commit_deadline'),
    createdAt: read.dateTime('created_at'),
    attributes: entry,
  };
}

/**
 * Which PayByGroup field each record field is read from (readGroupPurchase): an observation
 * that does not carry that field says nothing about it (see src/purchase/decide.ts, mergeObserved).
 */
export const SOURCE_FIELDS = {
  merchantId: 'merchant_id',
  inventoryId: 'inventory_id',
  status: 'status',
  rawStatus: 'status',
  name: 'purchase_name',
  description: 'purchase_description',
  linkUrl: 'purchase_link_url',
  imageUrl: 'purchase_image_url',
  merchantOrgEmail: 'merchant_org_email',
  purchaseCost: 'purchase_cost',
  costPerPerson: 'cost_per_person',
  numPeople: 'num_people',
  commitDeadline: 'commit_deadline',
  createdAt: 'created_at',
} as const satisfies Record<
  Exclude<keyof GroupPurchaseRecord, 'purchaseId' | 'attributes'>,
  string
>;

/**
 * Reads the fields of one purchase. Absent and null both mean "PBG did not say" → null without
 * a warning; a present value that cannot be read → null with one.
 */
class FieldReader {
  constructor(
    private readonly entry: Record<string, unknown>,
    private readonly purchaseId: string,
    private readonly logger: Logger,
  ) {}

  string(field: string): string | null {
    return this.read(field, 'a string', (v) => (typeof v === 'string' ? v : null));
  }

  money(field: string): Money | null {
    return this.read(field, 'a currency string like "1250.00 USD"', parseMoneyString);
  }

  dateTime(field: string): string | null {
    return this.read(field, 'a datetime like "2026-05-27 23:59 PST"', parsePbgDateTime);
  }

  /** A head count: a non-negative integer (a string of digits is read too). */
  count(field: string): number | null {
    return this.read(field, 'a non-negative integer', (v) => {
      const n = typeof v === 'string' && /^\d{1,9}$/.test(v.trim()) ? Number(v) : v;
      return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
    });
  }

  /**
   * The status is never null: a word this service does not know is UNKNOWN with the word kept,
   * the rule for every open-ended upstream status in this service.
   */
  status() {
    const value = this.entry.status;
    if (typeof value === 'string') return { status: statusFromWord(value), rawStatus: value };
    this.warn('status', 'a status word', value);
    return {
      status: GroupPurchaseStatus.UNKNOWN,
      rawStatus: value === undefined || value === null ? '' : JSON.stringify(value),
    };
  }

  private read<T>(field: string, expected: string, parse: (value: unknown) => T | null): T | null {
    const value = this.entry[field];
    if (value === undefined || value === null) return null;
    const parsed = parse(value);
    if (parsed === null) this.warn(field, expected, value);
    return parsed;
  }

  private warn(field: string, expected: string, value: unknown): void {
    this.logger.warn(
      { upstream: 'PayByGroup', purchaseId: this.purchaseId, field, expected, got: shapeOf(value) },
      'PayByGroup sent an unreadable field; it is reported as null',
    );
  }
}

/**
 * What a value looks like without what it says: digits become 9, letters a or A, so
 * "2026-05-27 23:59 XYZ" is logged as `string "9999-99-99 99:99 AAA"` — enough to see a
 * format problem, nothing of a name or an e-mail address.
 */
export function shapeOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const masked = value
      .slice(0, 40)
      .replace(/\d/g, '9')
      .replace(/\p{L}/gu, (c) => (/\p{Lu}/u.test(c) ? 'A' : 'a'));
    return `string "${masked}${value.length > 40 ? '…' : ''}" (${value.length} chars)`;
  }
  if (typeof value === 'number') {
    const kind = Number.isInteger(value) ? 'integer' : 'fractional number';
    return value < 0 ? `a negative ${kind}` : kind === 'integer' ? 'an integer' : `a ${kind}`;
  }
  return typeof value;
}

function badResponse(field: string, expected: string, got: unknown): ServiceError {
  return new ServiceError(
    ErrorCode.UPSTREAM_BAD_RESPONSE,
    `PayByGroup's purchase query answer is unreadable: ${field} should be ${expected} but is ${shapeOf(got)}.`,
  );
}
