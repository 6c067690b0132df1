import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalJson } from './canonical-json.js';
import { ErrorCode, ServiceError } from './errors.js';
import type { Store } from './store/index.js';

/**
 * Idempotency keys with Stripe's semantics, for mutations that move money:
 *
 * - same key, same input → the first result again, without a second upstream call;
 * - same key, other input → `reused` (the caller reports IDEMPOTENCY_KEY_REUSED);
 * - concurrent duplicates → exactly one runs the work, the others wait for its result;
 * - records are kept for 24 hours.
 *
 * The claim is an atomic create-if-absent in the store (`Store.setIfAbsent`), so duplicates
 * that arrive at different instances sharing one store cannot both win. Within one process,
 * duplicates also share the winner's promise, so they do not have to poll the store.
 *
 * What is remembered: a result the work marks as final (a created batch, or an upstream
 * rejection of the input, which would be rejected again) and a failure whose outcome upstream
 * is unknown (`ServiceError.outcomeUnknown`: a timeout, a 5xx, an unreadable answer — the
 * batch may exist, so repeating the call could bill every customer twice). A failure that
 * certainly changed nothing (refused connection, bad credentials) releases the key so the
 * same request can be retried.
 */

const NAMESPACE = 'idempotency';

export interface IdempotencyOptions {
  /** How long a finished record is kept. @default 86_400_000 (24 h) */
  ttlMs?: number;
  /**
   * How long a claim may stay unfinished before another request may take it over — the
   * bound on a process dying mid-call. Keep it above the upstream timeout.
   * @default 60_000
   */
  pendingTtlMs?: number;
  /** How long a duplicate waits for the first request before IDEMPOTENCY_IN_PROGRESS. @default 30_000 */
  waitMs?: number;
  /** Store polling interval while a duplicate waits on another instance. @default 50 */
  pollMs?: number;
}

type StoredRecord<T> =
  | { state: 'pending'; fingerprint: string }
  | { state: 'done'; fingerprint: string; result: T }
  | { state: 'failed'; fingerprint: string; code: ErrorCode; message: string };

export type IdempotentOutcome<T> =
  { kind: 'result'; result: T; replayed: boolean } | { kind: 'reused' };

export class Idempotency {
  private readonly inflight = new Map<string, { fingerprint: string; promise: Promise<unknown> }>();
  private readonly ttlMs: number;
  private readonly pendingTtlMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly store: Store,
    options: IdempotencyOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 86_400_000;
    this.pendingTtlMs = options.pendingTtlMs ?? 60_000;
    this.waitMs = options.waitMs ?? 30_000;
    this.pollMs = options.pollMs ?? 50;
  }

  /**
   * Runs `work` once per key. `work` returns `{ result, final }`; a result that is not final
   * (e.g. a local validation failure) is returned but not remembered.
   */
  async run<T>(
    key: string,
    fingerprint: string,
    work: () => Promise<{ result: T; final: boolean }>,
  ): Promise<IdempotentOutcome<T>> {
    const local = this.inflight.get(key);
    if (local) {
      if (local.fingerprint !== fingerprint) return { kind: 'reused' };
      const outcome = (await local.promise) as IdempotentOutcome<T>;
      return outcome.kind === 'result' ? { ...outcome, replayed: true } : outcome;
    }
    const promise = this.claimAndRun(key, fingerprint, work);
    this.inflight.set(key, { fingerprint, promise });
    try {
      return await promise;
    } finally {
      this.inflight.delete(key);
    }
  }

  private async claimAndRun<T>(
    key: string,
    fingerprint: string,
    work: () => Promise<{ result: T; final: boolean }>,
  ): Promise<IdempotentOutcome<T>> {
    const records = this.store.namespace<StoredRecord<T>>(NAMESPACE);
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const pending: StoredRecord<T> = { state: 'pending', fingerprint };
      if (await this.store.setIfAbsent(NAMESPACE, key, pending, this.pendingTtlMs)) {
        return this.runClaimed(key, fingerprint, work);
      }
      const existing = await records.get(key);
      if (existing === undefined) continue; // expired between the claim and the read
      if (existing.fingerprint !== fingerprint) return { kind: 'reused' };
      if (existing.state === 'done')
        return { kind: 'result', result: existing.result, replayed: true };
      if (existing.state === 'failed')
        throw new ServiceError(existing.code, replayedFailure(existing.message));
      if (Date.now() > deadline) {
        throw new ServiceError(
          ErrorCode.IDEMPOTENCY_IN_PROGRESS,
          'A request with this idempotencyKey is still being processed; retry in a few seconds.',
        );
      }
      await sleep(this.pollMs);
    }
  }

  private async runClaimed<T>(
    key: string,
    fingerprint: string,
    work: () => Promise<{ result: T; final: boolean }>,
  ): Promise<IdempotentOutcome<T>> {
    const records = this.store.namespace<StoredRecord<T>>(NAMESPACE);
    let outcome: { result: T; final: boolean };
    try {
      outcome = await work();
    } catch (error) {
      if (error instanceof ServiceError && error.outcomeUnknown) {
        await records.set(
          key,
          { state: 'failed', fingerprint, code: error.code, message: error.message },
          this.ttlMs,
        );
      } else {
        await records.delete(key);
      }
      throw error;
    }
    if (outcome.final)
      await records.set(key, { state: 'done', fingerprint, result: outcome.result }, this.ttlMs);
    else await records.delete(key);
    return { kind: 'result', result: outcome.result, replayed: false };
  }
}

function replayedFailure(message: string): string {
  return `${message} (Replayed: the first request with this idempotencyKey ended this way and its effect upstream is unknown. Check before retrying with a new key.)`;
}

/** A stable digest of an operation's input, for comparing requests that share a key. */
export function fingerprintOf(operation: string, input: unknown): string {
  return createHash('sha256')
    .update(`${operation}\n${canonicalJson(input)}`)
    .digest('hex');
}
