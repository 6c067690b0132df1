import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import { ErrorCode, ServiceError } from '../errors.js';
import type { OutboxWrite } from './outbox.js';

/**
 * What an idempotency key's record holds in the store, and the small pure helpers that read a
 * failure into one: the claim (pending, with the deadline its owner must finish by), the
 * outcome (done, or unknown when the upstream may have acted), and the errors a replay
 * answers with. The order of steps around them is claims.ts's.
 */

/** One money-moving request under a key. */
export interface IdempotentRequest<T> {
  /** The mutation's name: keys are scoped by it. */
  operation: string;
  key: string;
  /** Digest of the input (see {@link fingerprintOf}); a key reused with other input is refused. */
  fingerprint: string;
  /** Calls the upstream once and returns its answer. */
  act: () => Promise<T>;
  /**
   * Finds out what an earlier, unknown attempt did — e.g. reads the purchase back and, when the
   * action's effect is absent, acts again (safe only where the upstream itself refuses a second
   * transition). `settled` says whether the earlier attempt is surely over upstream; before
   * that, acting again could race it, so the resolver should only look. Returns the outcome,
   * throws UPSTREAM_OUTCOME_UNKNOWN to leave the key as it is, or throws as `act` does.
   * Without it, unknown stays unknown.
   */
  resolveUnknown?: (attempt: UnknownAttempt) => Promise<T>;
  /**
   * Taken just before the claim and kept with it: where the caller's own history stood when the
   * request was claimed (PayByGroup actions: the change-log head), so that `resolveUnknown` can
   * look for the action's effect in everything that happened since. A failure here is a store
   * failure before any upstream call: STORE_UNAVAILABLE, nothing claimed.
   * @default none (attempt.mark is undefined)
   */
  mark?: () => Promise<string>;
  /**
   * Writes that belong with an outcome (the batch record of a created batch): stored with the
   * outcome under the key in one atomic step, so a crash cannot keep one without the other.
   * @default none
   */
  bookkeeping?: (result: T) => OutboxWrite[];
  /** The upstream's id in an outcome (a batch id), for logs and the outbox. */
  describe?: (result: T) => string | undefined;
}

/** What `resolveUnknown` is told of the earlier attempt. */
export interface UnknownAttempt {
  /** Whether the earlier attempt is surely over upstream (acting again cannot race it). */
  settled: boolean;
  /** When it is (or was) surely over, epoch ms. */
  settledAt: number;
  /** `IdempotentRequest.mark` as taken before the claim; undefined for records without one. */
  mark?: string;
}

export type IdempotentOutcome<T> =
  { kind: 'result'; result: T; replayed: boolean } | { kind: 'reused' };

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
