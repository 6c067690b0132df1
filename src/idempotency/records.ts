import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import { ErrorCode, ServiceError } from '../errors.js';

/**
 * What an idempotency key's record holds in the store, and the small pure helpers that read a
 * failure into one: the claim (pending, with the deadline its owner must finish by), the
 * outcome (done, or unknown when the upstream may have acted), and the errors a replay
 * answers with. The order of steps around them is claims.ts's.
 */

/**
 * An attempt whose upstream outcome is unknown. `settledAt`: when that attempt is surely over
 * upstream — at once for a failure the upstream answered (a 5xx), the claim deadline for a
 * timeout or a reset (the upstream may still be working on it). Acting again before then
 * could race the first attempt.
 */
export type UnknownRecord = {
  state: 'unknown';
  fingerprint: string;
  message: string;
  cause: string;
  settledAt: number;
  mark?: string;
};
export type PendingRecord = {
  state: 'pending';
  fingerprint: string;
  deadline: number;
  mark?: string;
};
export type StoredRecord<T> =
  PendingRecord | { state: 'done'; fingerprint: string; result: T } | UnknownRecord;

/** False only for failures that certainly happened before the upstream could act. */
export function mayHaveActed(error: unknown): boolean {
  return !(error instanceof ServiceError) || error.outcomeUnknown;
}

export function causeOf(error: unknown): string {
  return error instanceof ServiceError ? error.code : ErrorCode.INTERNAL_SERVER_ERROR;
}

export function describeFailure(error: unknown): string {
  // A bug's own text stays in the log; the caller gets a plain account.
  return error instanceof ServiceError
    ? error.message
    : 'The request failed inside this service after it was sent upstream.';
}

/** A pending claim past its deadline: the process holding it died or lost its store. */
export function ownerDied(record: PendingRecord): UnknownRecord {
  return {
    state: 'unknown',
    fingerprint: record.fingerprint,
    settledAt: record.deadline,
    ...(record.mark === undefined ? {} : { mark: record.mark }),
    message:
      'The request holding this idempotencyKey stopped before it recorded what the upstream did (its process may have died).',
    cause: 'CLAIM_EXPIRED',
  };
}

export function unknownError(message: string, cause: string, replayed: boolean): ServiceError {
  const how = replayed
    ? 'Replayed: the first request with this idempotencyKey ended this way.'
    : 'The upstream may or may not have acted.';
  return new ServiceError(
    ErrorCode.UPSTREAM_OUTCOME_UNKNOWN,
    `${message} ${how} Do not retry with a new key before checking what happened; see the service's docs/money-safety.md.`,
    { details: { upstreamFailure: cause } },
  );
}

export function storeBusy(): ServiceError {
  return new ServiceError(
    ErrorCode.STORE_UNAVAILABLE,
    'The service store is unavailable; retry this idempotencyKey shortly.',
  );
}

/** A stable digest of an operation's input, for comparing requests that share a key. */
export function fingerprintOf(operation: string, input: unknown): string {
  return createHash('sha256')
    .update(`${operation}\n${canonicalJson(input)}`)
    .digest('hex');
}
