import type { BatchStore, SimBatch } from './store.js';
import type { ChillrCredentials } from './types.js';
import { checkCollect, checkStatusRequest, parseBody } from './validate.js';
import { COLLECT_FAILED_MESSAGE, failure, failureBody } from './wire.js';

/** What an upstream endpoint answers; the status is always HTTP 200, like the document implies. */
export type ApiReply = Record<string, unknown>;

export interface ApiContext {
  store: BatchStore;
  credentials: ChillrCredentials;
}

function nonChillrCustomers(batch: SimBatch): string[] {
  return batch.customers.filter((c) => !c.chillrUser).map((c) => c.msisdn);
}

/** POST /api/v5/collect */
export function handleCollect(raw: Buffer, ctx: ApiContext): ApiReply {
  const body = parseBody(raw, COLLECT_FAILED_MESSAGE);
  if (!body.ok) return failureBody(body.failure);
  const input = checkCollect(body.value, ctx.credentials);
  if (!input.ok) return failureBody(input.failure);
  const batch = ctx.store.create(input.value);
  return {
    status: 'success',
    status_code: 0,
    message: 'Collect batch creation accepted',
    data: { batch_id: batch.batchId, non_chillr_customers: nonChillrCustomers(batch) },
  };
}

/**
 * POST /api/v5/check_collect_status. The document's sample is not valid JSON: it writes
 * `"non_chillr_customers" : [...]` as a bare member inside the `customers` array. The nearest
 * valid JSON, and what this simulator sends, is an extra element `{"non_chillr_customers": [...]}`
 * at the end of that array, so clients must cope with a non-customer element there.
 */
export function handleCheckCollectStatus(raw: Buffer, ctx: ApiContext): ApiReply {
  const body = parseBody(raw);
  if (!body.ok) return failureBody(body.failure);
  const request = checkStatusRequest(body.value, ctx.credentials);
  if (!request.ok) return failureBody(request.failure);
  const batch = ctx.store.get(request.value);
  if (!batch) return failureBody(failure(62));

  const customers: Record<string, unknown>[] = batch.customers.map((customer) => {
    const paymentStatus = ctx.store.paymentStatus(batch, customer);
    if (!paymentStatus || !customer.transactionId) {
      return { msisdn: customer.msisdn, message: 'Transaction not generated' };
    }
    return {
      msisdn: customer.msisdn,
      payment_status: paymentStatus,
      transaction_id: customer.transactionId,
    };
  });
  customers.push({ non_chillr_customers: nonChillrCustomers(batch) });
  return {
    status: 'success',
    status_code: 0,
    data: {
      batch_id: batch.batchId,
      batch_status: ctx.store.batchStatus(batch),
      customers,
    },
  };
}

/** Requested `batch_id` of a status-check body, for per-batch call counts; never throws. */
export function requestedBatchId(raw: Buffer): string | undefined {
  const body = parseBody(raw);
  if (!body.ok) return undefined;
  const id = Object.hasOwn(body.value, 'batch_id') ? body.value.batch_id : undefined;
  return typeof id === 'string' ? id : undefined;
}
