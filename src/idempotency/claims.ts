import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, ServiceError } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Logger } from '../logger.js';
import type { Outbox, OutboxWrite } from './outbox.js';
import { guardStore } from '../store/guard.js';
import type { Store } from '../store/index.js';
import {
  causeOf,
  describeFailure,
  mayHaveActed,
  ownerDied,
  storeBusy,
  unknownError,
  type IdempotentOutcome,
  type IdempotentRequest,
  type PendingRecord,
  type StoredRecord,
  type UnknownRecord,
} from './records.js';

/**
 * Idempotency keys for mutations that move money, with Stripe's semantics and one promise on
 * top: **once the upstream may have acted, the key is never released.**
 *
 * The order for every request with a key:
 *   claim the key (atomic create-if-absent in the store) → call the upstream → record the
 *   upstream's outcome under the key → (the caller's bookkeeping) → answer.
 *
 * - Same key, same input → the recorded outcome again, without a second upstream call.
 * - Same key, other input → `reused` (the caller reports IDEMPOTENCY_KEY_REUSED).
 * - Concurrent duplicates → one runs; in this process the others share its promise, on other
 *   instances they poll the store until the outcome is there.
 * - Keys are scoped by operation: one string used for two mutations names two requests.
 *
 * What releases a key: only a failure that certainly happened before the request left this
 * process — a store failure at the claim (no upstream call), or a {@link ServiceError} the
 * client marks as not acted on (refused connection, rejected credentials, a refusal the
 * upstream sent back). Everything else after the call started — a timeout, a 5xx, a reset, an
 * unreadable answer, a bug — is recorded as *unknown*: the upstream may have acted.
 *
 * When the store cannot take the outcome, it goes to the {@link Outbox}, which rewrites it
 * until the store accepts it; retries on this instance are answered from there, and the claim
 * keeps other instances from calling the upstream again. A claim whose owner died (pending
 * past its deadline) is read as unknown — never as a free key.
 *
 * An unknown outcome is replayed as UPSTREAM_OUTCOME_UNKNOWN, unless the operation can find
 * out what happened (`resolveUnknown`, e.g. reading the purchase back from PayByGroup): then
 * one retry at a time, across instances, resolves it and records the answer.
 */

const NAMESPACE = 'idempotency';

export interface IdempotencyOptions {
  store: Store;
  outbox: Outbox;
  logger: Logger;
  /** How long a key and its outcome are kept. @default 86_400_000 (24 h) */
  ttlMs?: number;
  /**
   * How long after a claim its owner must have recorded an outcome; past it, the claim is read
   * as a request whose owner died, and its outcome is unknown. Keep it above the upstream
   * timeout (src/app.ts uses 2 × UPSTREAM_TIMEOUT_MS + 5 s).
   * @default 60_000
   */
  claimDeadlineMs?: number;
  /** How long a duplicate waits for the first request before IDEMPOTENCY_IN_PROGRESS. @default 30_000 */
  waitMs?: number;
  /** Store polling interval while a duplicate waits on another instance. @default 50 */
  pollMs?: number;
  /** @default Date.now */
  now?: () => number;
  /** Counts each keyed run's outcome (`payments_idempotency_total`). @default none */
  metrics?: Metrics;
}

export class Idempotency {
  private readonly inflight = new Map<string, { fingerprint: string; promise: Promise<unknown> }>();
  private readonly records;
  private readonly ttlMs: number;
  private readonly claimDeadlineMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(private readonly options: IdempotencyOptions) {
    this.records = options.store.namespace<StoredRecord<unknown>>(NAMESPACE);
    this.ttlMs = options.ttlMs ?? 86_400_000;
    this.claimDeadlineMs = options.claimDeadlineMs ?? 60_000;
    this.waitMs = options.waitMs ?? 30_000;
    this.pollMs = options.pollMs ?? 50;
  }

  /** Runs `request.act` at most once per operation and key; see the module comment. */
  async run<T>(request: IdempotentRequest<T>): Promise<IdempotentOutcome<T>> {
    const metrics = this.options.metrics;
    try {
      const outcome = await this.runOnce(request);
      metrics?.idempotencyOutcome(
        outcome.kind === 'reused' ? 'reused' : outcome.replayed ? 'replayed' : 'first',
      );
      return outcome;
    } catch (error) {
      const code = error instanceof ServiceError ? error.code : undefined;
      if (code === ErrorCode.IDEMPOTENCY_IN_PROGRESS) metrics?.idempotencyOutcome('in_progress');
      if (code === ErrorCode.UPSTREAM_OUTCOME_UNKNOWN) {
        metrics?.idempotencyOutcome('outcome_unknown');
      }
      throw error;
    }
  }

  private async runOnce<T>(request: IdempotentRequest<T>): Promise<IdempotentOutcome<T>> {
    const id = `${request.operation}:${request.key}`;
    const local = this.inflight.get(id);
    if (local) {
      if (local.fingerprint !== request.fingerprint) return { kind: 'reused' };
      const outcome = (await local.promise) as IdempotentOutcome<T>;
      return outcome.kind === 'result' ? { ...outcome, replayed: true } : outcome;
    }
    const promise = this.claimOrReplay(id, request);
    this.inflight.set(id, { fingerprint: request.fingerprint, promise });
    try {
      return await promise;
    } finally {
      this.inflight.delete(id);
    }
  }

  /**
   * Without a key there is nothing to remember, but the caller must still learn that the
   * upstream may have acted: such failures become UPSTREAM_OUTCOME_UNKNOWN.
   */
  async runWithoutKey<T>(act: () => Promise<T>): Promise<T> {
    try {
      return await act();
    } catch (error) {
      if (!mayHaveActed(error)) throw error;
      throw unknownError(describeFailure(error), causeOf(error), false);
    }
  }

  private async claimOrReplay<T>(
    id: string,
    request: IdempotentRequest<T>,
  ): Promise<IdempotentOutcome<T>> {
    const waiting = this.options.outbox.peek(NAMESPACE, id);
    if (waiting?.kind === 'set') return this.replay(id, waiting.value as StoredRecord<T>, request);
    if (waiting?.kind === 'delete') throw storeBusy();
    let claim: PendingRecord | null;
    try {
      claim = await this.claim(id, request);
    } catch (error) {
      // A store failure here happens before any upstream call: nothing taken. If another
      // process on this host journaled the key's outcome while the store was away, that is the
      // answer; else STORE_UNAVAILABLE.
      const shared = await this.options.outbox.peekShared(NAMESPACE, id);
      if (shared?.kind === 'set') return this.replay(id, shared.value as StoredRecord<T>, request);
      throw error;
    }
    if (claim === null) return this.awaitRecord(id, request);
    return this.actAndRecord(id, request, claim);
  }

  /** Takes the key: the claim written, or null when another request holds (or held) it. */
  private async claim<T>(id: string, request: IdempotentRequest<T>): Promise<PendingRecord | null> {
    const mark = request.mark ? await guardStore(request.mark) : undefined;
    const claim: PendingRecord = {
      state: 'pending',
      fingerprint: request.fingerprint,
      deadline: this.now() + this.claimDeadlineMs,
      ...(mark === undefined ? {} : { mark }),
    };
    const claimed = await guardStore(() =>
      this.options.store.setIfAbsent(NAMESPACE, id, claim, this.ttlMs),
    );
    return claimed ? claim : null;
  }

  /** Another request holds or held the key: replay its outcome, or wait for it. */
  private async awaitRecord<T>(
    id: string,
    request: IdempotentRequest<T>,
  ): Promise<IdempotentOutcome<T>> {
    const giveUpAt = this.now() + this.waitMs;
    for (;;) {
      const record = (await guardStore(() => this.records.get(id))) as StoredRecord<T> | undefined;
      if (record === undefined) return this.claimOrReplay(id, request); // released meanwhile
      if (record.state !== 'pending' || record.fingerprint !== request.fingerprint)
        return this.replay(id, record, request);
      if (this.now() > record.deadline) {
        return this.replay(id, ownerDied(record), request);
      }
      if (this.now() > giveUpAt) {
        throw new ServiceError(
          ErrorCode.IDEMPOTENCY_IN_PROGRESS,
          'A request with this idempotencyKey is still being processed; retry in a few seconds.',
        );
      }
      await sleep(this.pollMs);
    }
  }

  private async replay<T>(
    id: string,
    record: StoredRecord<T>,
    request: IdempotentRequest<T>,
  ): Promise<IdempotentOutcome<T>> {
    if (record.fingerprint !== request.fingerprint) return { kind: 'reused' };
    if (record.state === 'done') return { kind: 'result', result: record.result, replayed: true };
    if (record.state === 'pending') return this.awaitRecord(id, request);
    if (!request.resolveUnknown) throw unknownError(record.message, record.cause, true);
    return this.resolve(id, record, request, request.resolveUnknown);
  }

  /**
   * One resolver at a time per key, across instances: a second claim, under its own key, that
   * expires on its own (a resolver that dies leaves the outcome unknown, and the next retry
   * resolves again — the read-back comes first, so it sees what the dead one did). It lives
   * three claim deadlines: a read-back query may take its retries before the action is sent.
   * A failed resolution changes nothing: the key stays unknown for the next retry.
   */
  private async resolve<T>(
    id: string,
    record: UnknownRecord,
    request: IdempotentRequest<T>,
    resolveUnknown: NonNullable<IdempotentRequest<T>['resolveUnknown']>,
  ): Promise<IdempotentOutcome<T>> {
    const lock = `${id}#resolving`;
    const mine = await guardStore(() =>
      this.options.store.setIfAbsent(NAMESPACE, lock, { at: this.now() }, 3 * this.claimDeadlineMs),
    );
    if (!mine) return this.awaitResolution(id, lock, record, request);
    const settled = this.now() >= (record.settledAt ?? 0); // records from before settledAt: settled
    let result: T;
    try {
      result = await resolveUnknown({
        settled,
        settledAt: record.settledAt,
        ...(record.mark === undefined ? {} : { mark: record.mark }),
      });
    } catch (error) {
      throw await this.resolutionFailed(id, record, request, settled, error);
    } finally {
      await this.records.delete(lock).catch(() => undefined); // it also expires on its own
    }
    await this.record(
      id,
      request,
      { state: 'done', fingerprint: record.fingerprint, result },
      result,
    );
    this.options.logger.info(
      { operation: request.operation, key: request.key },
      'unknown upstream outcome resolved',
    );
    return { kind: 'result', result, replayed: false };
  }

  /**
   * The key stays unknown. If the resolver may have acted again (it was allowed to, and failed
   * after the call could have left), that new attempt must settle before the next one.
   */
  private async resolutionFailed<T>(
    id: string,
    record: UnknownRecord,
    request: IdempotentRequest<T>,
    settled: boolean,
    error: unknown,
  ): Promise<ServiceError> {
    if (error instanceof ServiceError && error.code === ErrorCode.UPSTREAM_OUTCOME_UNKNOWN) {
      return error; // the resolver's own account (e.g. "not settled yet; retry after …")
    }
    if (settled && mayHaveActed(error)) {
      const settledAt = this.now() + this.claimDeadlineMs;
      await this.record(id, request, { ...record, settledAt });
    }
    const failure = `${record.message} Checking what happened failed too: ${describeFailure(error)}`;
    return unknownError(failure, record.cause, true);
  }

  /** Another retry is resolving the key: wait for its answer, or for it to give up. */
  private async awaitResolution<T>(
    id: string,
    lock: string,
    record: UnknownRecord,
    request: IdempotentRequest<T>,
  ): Promise<IdempotentOutcome<T>> {
    const giveUpAt = this.now() + this.waitMs;
    for (;;) {
      await sleep(this.pollMs);
      const current = (await guardStore(() => this.records.get(id))) as StoredRecord<T> | undefined;
      if (current === undefined) return this.claimOrReplay(id, request);
      if (current.state === 'done') return this.replay(id, current, request);
      const resolving = await guardStore(() => this.records.get(lock));
      if (resolving === undefined || this.now() > giveUpAt) {
        throw unknownError(record.message, record.cause, true);
      }
    }
  }

  /** Calls the upstream once, then records what it did before answering. */
  private async actAndRecord<T>(
    id: string,
    request: IdempotentRequest<T>,
    claim: PendingRecord,
  ): Promise<IdempotentOutcome<T>> {
    const { fingerprint } = request;
    let result: T;
    try {
      result = await request.act();
    } catch (error) {
      if (!mayHaveActed(error)) {
        await this.options.outbox.delete(NAMESPACE, id, { key: request.key });
        throw error;
      }
      const message = describeFailure(error);
      const cause = causeOf(error);
      const answered = error instanceof ServiceError && error.upstreamAnswered;
      this.options.logger.warn(
        { operation: request.operation, key: request.key, cause },
        'money-moving call ended with its upstream outcome unknown; the key keeps it',
      );
      const settledAt = answered ? this.now() : claim.deadline;
      const mark = claim.mark === undefined ? {} : { mark: claim.mark };
      const unknown = {
        state: 'unknown',
        fingerprint,
        message,
        cause,
        settledAt,
        ...mark,
      } as const;
      await this.record(id, request, unknown);
      throw unknownError(message, cause, false);
    }
    await this.record(id, request, { state: 'done', fingerprint, result }, result);
    return { kind: 'result', result, replayed: false };
  }

  private async record<T>(
    id: string,
    request: IdempotentRequest<T>,
    record: StoredRecord<T>,
    result?: T,
  ): Promise<void> {
    const upstreamId = result === undefined ? undefined : request.describe?.(result);
    const outcome: OutboxWrite = {
      namespace: NAMESPACE,
      key: id,
      value: record,
      ttlMs: this.ttlMs,
    };
    const bookkeeping = result === undefined ? [] : (request.bookkeeping?.(result) ?? []);
    await this.options.outbox.writeAll([outcome, ...bookkeeping], {
      operation: request.operation,
      key: request.key,
      upstreamId,
    });
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}
