import { parseExpiryDate } from './dates.js';
import { isChillrUser, normaliseMsisdn } from './msisdn.js';
import type { NewBatch } from './store.js';
import type { ChillrCredentials } from './types.js';
import { COLLECT_FAILED_MESSAGE, failure, type Failure } from './wire.js';

export type Checked<T> = { ok: true; value: T } | { ok: false; failure: Failure };

type JsonObject = Record<string, unknown>;

/** Own properties only, so a body like `{"__proto__": …}` cannot reach inherited ones. */
function field(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Absent, null or blank all count as "param is missing". */
function isMissing(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && !value.trim());
}

/** Amounts are decimal strings as in the sample ("200"), > 0, at most 2 decimals. */
function isValidAmount(value: unknown): boolean {
  return typeof value === 'string' && /^\d+(?:\.\d{1,2})?$/.test(value) && Number(value) > 0;
}

/**
 * Parses a body; anything that is not a JSON object is failure 58 (the document has no better
 * code for it, and 58 is "error due invalid parameters").
 */
export function parseBody(raw: Buffer, failedMessage?: string): Checked<JsonObject> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false, failure: failure(58, ['request body is not valid JSON'], failedMessage) };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {
      ok: false,
      failure: failure(58, ['request body must be a JSON object'], failedMessage),
    };
  }
  return { ok: true, value: parsed as JsonObject };
}

/** Credentials come first on both endpoints: 50, 51, then 57 (unknown key), then 56 (secret). */
export function checkCredentials(body: JsonObject, expected: ChillrCredentials): Failure | null {
  const apiKey = field(body, 'api_key');
  const apiSecretKey = field(body, 'api_secret_key');
  if (isMissing(apiKey)) return failure(50);
  if (isMissing(apiSecretKey)) return failure(51);
  if (apiKey !== expected.apiKey) return failure(57);
  if (apiSecretKey !== expected.apiSecretKey) return failure(56);
  return null;
}

/**
 * One reason per bad customer, 1-based, in the document's "customer 2 : mobile number is not
 * present" style; the first problem found for a customer is the one reported.
 */
function customerReason(index: number, customer: unknown, seen: Set<string>): string | null {
  const prefix = `customer ${index + 1} : `;
  if (typeof customer !== 'object' || customer === null || Array.isArray(customer)) {
    return `${prefix}customer details are invalid`;
  }
  const msisdn = field(customer as JsonObject, 'msisdn');
  const amount = field(customer as JsonObject, 'amount');
  if (isMissing(msisdn)) return `${prefix}mobile number is not present`;
  // Strings only, as in the sample: a number would lose leading zeros and invite float amounts.
  const normalised = typeof msisdn === 'string' ? normaliseMsisdn(msisdn.trim()) : undefined;
  if (!normalised) return `${prefix}mobile number is invalid`;
  // Payments are addressed by msisdn in a batch, so the same number twice would be ambiguous.
  if (seen.has(normalised)) return `${prefix}mobile number is repeated`;
  seen.add(normalised);
  if (isMissing(amount)) return `${prefix}amount is not present`;
  if (!isValidAmount(amount)) return `${prefix}amount is invalid`;
  return null;
}

/** Validates a create-batch body in the order 50, 51, 57, 56, 52, 53, 54, 55, 58. */
export function checkCollect(body: JsonObject, expected: ChillrCredentials): Checked<NewBatch> {
  const fail = (f: Failure): Checked<NewBatch> => ({ ok: false, failure: f });
  const credentials = checkCredentials(body, expected);
  if (credentials) return fail(credentials);

  const name = field(body, 'name');
  const expiryDate = field(body, 'expiry_date');
  const customers = field(body, 'customers');
  if (isMissing(name)) return fail(failure(52));
  if (isMissing(expiryDate)) return fail(failure(53));
  // An empty list is as good as no list: there is nobody to collect from.
  if (isMissing(customers) || (Array.isArray(customers) && customers.length === 0)) {
    return fail(failure(54));
  }
  if (typeof expiryDate !== 'string' || !parseExpiryDate(expiryDate.trim())) {
    return fail(failure(55));
  }
  if (typeof name !== 'string') {
    return fail(failure(58, ['name is invalid'], COLLECT_FAILED_MESSAGE));
  }
  if (!Array.isArray(customers)) {
    return fail(failure(58, ['customers must be an array'], COLLECT_FAILED_MESSAGE));
  }

  const seen = new Set<string>();
  const reasons = customers
    .map((customer, i) => customerReason(i, customer, seen))
    .filter((r): r is string => r !== null);
  if (reasons.length > 0) return fail(failure(58, reasons, COLLECT_FAILED_MESSAGE));

  const valid = (customers as JsonObject[]).map((c) => ({
    msisdn: normaliseMsisdn((c.msisdn as string).trim())!,
    amount: c.amount as string,
  }));
  if (!valid.some((c) => isChillrUser(c.msisdn))) {
    return fail(failure(58, ['None of the customers are Chillr users.'], COLLECT_FAILED_MESSAGE));
  }
  return { ok: true, value: { name, expiryDate: expiryDate.trim(), customers: valid } };
}

/** An id the real service could have issued: 24 hex characters, like a MongoDB ObjectId. */
const BATCH_ID = /^[0-9a-f]{24}$/i;

/**
 * Validates a status-check body: credentials, then 60 (missing), then 61 (not an id at all).
 * Returns the batch id in lower case; "well-formed but unknown" (62) is the caller's lookup.
 */
export function checkStatusRequest(body: JsonObject, expected: ChillrCredentials): Checked<string> {
  const credentials = checkCredentials(body, expected);
  if (credentials) return { ok: false, failure: credentials };
  const batchId = field(body, 'batch_id');
  if (isMissing(batchId)) return { ok: false, failure: failure(60) };
  if (typeof batchId !== 'string' || !BATCH_ID.test(batchId.trim())) {
    return { ok: false, failure: failure(61) };
  }
  return { ok: true, value: batchId.trim().toLowerCase() };
}
