import { UserErrorCode } from '../errors.js';
import { isIsoDate, todayIn } from '../dates.js';
import { formatMinor, parseAmount } from '../money.js';
import { normalizeMsisdn } from './msisdn.js';
import type { CreateBatchRequest, InputIssue } from './types.js';

/** The shape a caller hands in, before anything is trusted. */
export interface CreateBatchInput {
  name: string;
  expiryDate: string;
  customers: ReadonlyArray<{ msisdn: string; amount: string }>;
}

export interface ValidateOptions {
  /** Largest number of customers in one batch. */
  maxBatchSize: number;
  /** Clock for "expiry date is in the past". @default () => new Date() */
  now?: () => Date;
}

/** Chillr's merchants are in India: "today" and expiry are Indian calendar days. */
const CHILLR_TIME_ZONE = 'Asia/Kolkata';
const MAX_NAME_LENGTH = 200;

export type ValidationResult =
  { ok: true; request: CreateBatchRequest } | { ok: false; issues: InputIssue[] };

/**
 * Checks a create request completely before anything is sent upstream and normalises it
 * (trimmed name, 10-digit numbers, two-decimal amounts). Every problem is reported, each with
 * the path of its input field, so a form can mark all bad rows at once.
 */
export function validateCreateBatch(
  input: CreateBatchInput,
  options: ValidateOptions,
): ValidationResult {
  const issues: InputIssue[] = [];
  const invalid = (field: string[], message: string) =>
    issues.push({ code: UserErrorCode.INVALID_INPUT, field, message });

  const name = input.name.trim();
  if (name === '') invalid(['name'], 'name must not be empty.');
  else if (name.length > MAX_NAME_LENGTH) {
    invalid(['name'], `name must be at most ${MAX_NAME_LENGTH} characters (got ${name.length}).`);
  }

  const expiryDate = input.expiryDate.trim();
  if (!isIsoDate(expiryDate)) {
    invalid(
      ['expiryDate'],
      `expiryDate must be a real calendar date as YYYY-MM-DD, e.g. "2026-05-27" (got ${JSON.stringify(input.expiryDate)}).`,
    );
  } else {
    const today = todayIn(CHILLR_TIME_ZONE, options.now?.() ?? new Date());
    if (expiryDate < today) {
      invalid(['expiryDate'], `expiryDate ${expiryDate} is in the past; use ${today} or later.`);
    }
  }

  if (input.customers.length === 0) {
    invalid(['customers'], 'customers must list at least one customer.');
  } else if (input.customers.length > options.maxBatchSize) {
    invalid(
      ['customers'],
      `customers has ${input.customers.length} entries; at most ${options.maxBatchSize} fit in one batch. Split it into several batches.`,
    );
  }

  const customers: CreateBatchRequest['customers'] = [];
  const firstIndexOf = new Map<string, number>();
  input.customers.forEach((customer, index) => {
    const at = (leaf: string) => ['customers', String(index), leaf];
    const msisdn = normalizeMsisdn(customer.msisdn);
    if (msisdn === null) {
      invalid(
        at('msisdn'),
        `customers[${index}].msisdn must be a 10-digit Indian mobile number starting 6-9, optionally after +91, 91 or 0 (got ${JSON.stringify(customer.msisdn)}).`,
      );
    } else if (firstIndexOf.has(msisdn)) {
      invalid(
        at('msisdn'),
        `customers[${index}].msisdn ${msisdn} repeats customers[${firstIndexOf.get(msisdn)}]; list each number once.`,
      );
    } else {
      firstIndexOf.set(msisdn, index);
    }
    const amount = parseAmount(customer.amount);
    if (!amount.ok) invalid(at('amount'), `customers[${index}].amount ${amount.reason}.`);
    if (msisdn !== null && amount.ok) customers.push({ msisdn, amount: formatMinor(amount.minor) });
  });

  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, request: { name, expiryDate, customers } };
}
