import { ErrorCode, ServiceError } from '../errors.js';
import { normalizeMsisdn } from './msisdn.js';
import {
  CollectBatchStatus,
  PaymentStatus,
  type ChillrBatchStatus,
  type ChillrPayment,
} from './types.js';

/**
 * Readers for Chillr's answers. They are strict about what the service needs (a status code,
 * a batch id) and tolerant about what the document gets wrong: a field that
 * is missing or oddly placed is read from where it is, an unknown status word is UNKNOWN with
 * the word kept. A shape that cannot be read is UPSTREAM_BAD_RESPONSE naming the field.
 */

/** The envelope every answer shares. */
export interface Envelope {
  ok: boolean;
  code: number;
  message: string;
  data: Record<string, unknown> | undefined;
}

export function readEnvelope(json: unknown, what: string): Envelope {
  if (!isObject(json)) throw badResponse(what, 'the body', 'a JSON object', json);
  const code = json.status_code;
  const numericCode = typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : code;
  if (typeof numericCode !== 'number' || !Number.isInteger(numericCode)) {
    throw badResponse(what, 'status_code', 'an integer', code);
  }
  const ok = numericCode === 0 && json.status !== 'failure';
  return {
    ok,
    code: numericCode,
    message: typeof json.message === 'string' ? json.message : '',
    data: isObject(json.data) ? json.data : undefined,
  };
}

export function readCreateSuccess(envelope: Envelope): {
  batchId: string;
  nonChillrCustomers: string[];
} {
  const batchId = envelope.data?.batch_id;
  if (typeof batchId !== 'string' || batchId === '') {
    throw badResponse('create', 'data.batch_id', 'a non-empty string', batchId);
  }
  return { batchId, nonChillrCustomers: readNumberList(envelope.data?.non_chillr_customers) };
}

export function readReasons(envelope: Envelope): string[] {
  const reason = envelope.data?.reason;
  if (typeof reason === 'string') return [reason];
  return Array.isArray(reason) ? reason.filter((r): r is string => typeof r === 'string') : [];
}

const BATCH_WORDS: Record<string, CollectBatchStatus> = {
  active: CollectBatchStatus.ACTIVE,
  pending: CollectBatchStatus.ACTIVE,
  open: CollectBatchStatus.ACTIVE,
  in_progress: CollectBatchStatus.ACTIVE,
  completed: CollectBatchStatus.COMPLETED,
  complete: CollectBatchStatus.COMPLETED,
  closed: CollectBatchStatus.COMPLETED,
  expired: CollectBatchStatus.EXPIRED,
};

const PAYMENT_WORDS: Record<string, PaymentStatus> = {
  pending: PaymentStatus.PENDING,
  initiated: PaymentStatus.PENDING,
  requested: PaymentStatus.PENDING,
  paid: PaymentStatus.PAID,
  success: PaymentStatus.PAID,
  successful: PaymentStatus.PAID,
  completed: PaymentStatus.PAID,
  failed: PaymentStatus.FAILED,
  failure: PaymentStatus.FAILED,
  declined: PaymentStatus.FAILED,
  rejected: PaymentStatus.FAILED,
  expired: PaymentStatus.EXPIRED,
};

export function readStatus(envelope: Envelope, requestedId: string): ChillrBatchStatus {
  const data = envelope.data;
  if (!data) throw badResponse('status check', 'data', 'an object', undefined);
  const rawStatus = typeof data.batch_status === 'string' ? data.batch_status : null;
  const customers = data.customers ?? [];
  if (!Array.isArray(customers)) {
    throw badResponse('status check', 'data.customers', 'an array', customers);
  }

  // The document's sample puts "non_chillr_customers" inside the customers array; it is read
  // there (as an element object) and beside `customers`, and the two are merged.
  const nonChillr = new Set(readNumberList(data.non_chillr_customers));
  const payments: ChillrPayment[] = [];
  customers.forEach((entry, index) => {
    if (!isObject(entry)) {
      throw badResponse('status check', `data.customers[${index}]`, 'an object', entry);
    }
    if ('non_chillr_customers' in entry && !('msisdn' in entry)) {
      for (const msisdn of readNumberList(entry.non_chillr_customers)) nonChillr.add(msisdn);
      return;
    }
    payments.push(readPayment(entry, index));
  });

  const batchId =
    typeof data.batch_id === 'string' && data.batch_id !== '' ? data.batch_id : requestedId;
  return {
    batchId,
    status: (rawStatus && BATCH_WORDS[rawStatus.toLowerCase()]) || CollectBatchStatus.UNKNOWN,
    rawStatus,
    payments,
    nonChillrCustomers: [...nonChillr],
  };
}

function readPayment(entry: Record<string, unknown>, index: number): ChillrPayment {
  const raw = entry.msisdn;
  if (typeof raw !== 'string' && typeof raw !== 'number') {
    throw badResponse('status check', `data.customers[${index}].msisdn`, 'a phone number', raw);
  }
  const msisdn = normalizeMsisdn(String(raw)) ?? String(raw);
  const rawStatus = typeof entry.payment_status === 'string' ? entry.payment_status : null;
  const message = typeof entry.message === 'string' ? entry.message : null;
  const transaction = entry.transaction_id;
  let status: PaymentStatus;
  if (rawStatus === null) {
    // "Transaction not generated": Chillr never created a payment request for this number.
    status = message !== null ? PaymentStatus.NOT_GENERATED : PaymentStatus.UNKNOWN;
  } else {
    status = PAYMENT_WORDS[rawStatus.toLowerCase()] ?? PaymentStatus.UNKNOWN;
  }
  return {
    msisdn,
    status,
    rawStatus,
    transactionId:
      typeof transaction === 'string' || typeof transaction === 'number'
        ? String(transaction)
        : null,
    message,
  };
}

function readNumberList(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((v): v is string | number => typeof v === 'string' || typeof v === 'number')
    .map((v) => normalizeMsisdn(String(v)) ?? String(v));
}

/**
 * Repairs the one invalid-JSON form the document itself shows: a `"non_chillr_customers": […]`
 * member written inside the `customers` array. Returns undefined when the text is not that.
 */
export function repairStatusJson(text: string): string | undefined {
  const repaired = text.replace(/,\s*("non_chillr_customers"\s*:\s*\[[^\]]*\])\s*\]/, ', {$1} ]');
  return repaired === text ? undefined : repaired;
}

function badResponse(what: string, field: string, expected: string, got: unknown): ServiceError {
  return new ServiceError(
    ErrorCode.UPSTREAM_BAD_RESPONSE,
    `Chillr's ${what} answer is unreadable: ${field} should be ${expected} but is ${describe(got)}.`,
    // Chillr answered, so for a create it may well have made the batch.
    { outcomeUnknown: true, upstreamAnswered: true },
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
