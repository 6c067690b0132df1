import {
  ErrorCode,
  keyReusedIssue,
  keyRequiredIssue,
  ServiceError,
  UserErrorCode,
  type UserIssue,
} from '../errors.js';
import type { Idempotency } from '../idempotency/claims.js';
import { fingerprintOf, type UnknownAttempt } from '../idempotency/records.js';
import type { Metrics } from '../observability/metrics.js';
import type { Logger } from '../logger.js';
import { SingleFlight } from '../upstream/single-flight.js';
import { STATUS_AFTER_ACTION } from './lifecycle.js';
import type { PbgClient } from '../pbg/client.js';
import type { PurchaseStateStore } from './state.js';
import { GroupPurchaseChangeSource } from './stored.js';
import {
  PurchaseAction,
  type GroupPurchaseRecord,
  type GroupPurchaseStatus,
  type PurchaseQuery,
} from '../pbg/types.js';

export interface PurchaseServiceOptions {
  /** Counts purchase-state cache hits and misses (`payments_cache_requests_total`). @default none */
  metrics?: Metrics;
  client: PbgClient;
  idempotency: Idempotency;
  /** An action without an idempotencyKey is a userError (REQUIRE_IDEMPOTENCY_KEY). @default false */
  requireIdempotencyKey?: boolean;
  /** The merchant this service acts for; queries default to it. */
  merchantId: string;
  /** The owner of purchase state: every read is observed through it. */
  state: PurchaseStateStore;
  /**
   * The change log, where a read-back looks for an action's effect that the purchase no longer
   * shows (collected, then refunded by someone else).
   * @default none (only the purchase's current status is looked at)
   */
  changes?: EffectLog;
  /**
   * How long a known state is served to `groupPurchase`/`_entities` without asking PBG again.
   * PBG pushes every change of status, deadline and group size, so the window only bounds how
   * stale the other fields can be. 0 = always ask PBG.
   * @default 0
   */
  cacheTtlMs?: number;
  /** @default Date.now */
  now?: () => number;
  /**
   * Shares identical purchase reads in flight across requests (see `sharedRead`). Never used
   * for the read-back of a lost action.
   * @default a SingleFlight of this service's own, not counted in metrics
   */
  flights?: SingleFlight;
  logger: Logger;
}

/** The part of the change feed a read-back needs. */
export interface EffectLog {
  /** The change-log head now: kept with an action's idempotency claim. */
  head(): Promise<string>;
  /** Whether a change after `after` shows `purchaseId` in `status`. */
  reached(purchaseId: string, status: GroupPurchaseStatus, after: string): Promise<boolean>;
}

/** What performAction answers; also what an idempotency record keeps. */
export interface ActionOutcome {
  accepted: boolean;
  purchaseId: string;
  issues: UserIssue[];
}

/**
 * The PayByGroup use cases on the merchant side: read purchases (by id through the DataLoader,
 * or by filter) and act on them. Nothing here knows GraphQL.
 */
export class PurchaseService {
  private readonly flights: SingleFlight;

  constructor(private readonly options: PurchaseServiceOptions) {
    this.flights = options.flights ?? new SingleFlight({ upstream: 'pbg' });
  }

  /**
   * Purchases by id, one PBG query per distinct id (PBG filters on a single purchase_id; the
   * DataLoader de-duplicates and batches). Each id gets its own outcome — the purchase, null
   * when PBG does not know it, or an Error — so one failure does not fail its siblings.
   */
  async getPurchases(ids: readonly string[]): Promise<Array<GroupPurchaseRecord | null | Error>> {
    return Promise.all(
      ids.map((id) =>
        this.getPurchase(id).catch((error: unknown) =>
          error instanceof Error ? error : new Error(String(error)),
        ),
      ),
    );
  }

  private async getPurchase(id: string): Promise<GroupPurchaseRecord | null> {
    const ttl = this.options.cacheTtlMs ?? 0;
    if (ttl > 0) {
      const known = await this.options.state.fresh(id, ttl, this.now());
      // The state holds what any observation saw, other merchants' purchases included; serve
      // only what the PBG query below would return (it filters on our merchant). A pushed event
      // without merchant_id is ours: PBG pushes to this merchant's URL.
      const hit =
        known !== undefined &&
        known !== null &&
        (known.merchantId === null || known.merchantId === this.options.merchantId);
      this.options.metrics?.cache('purchase_state', hit);
      if (hit) return known;
    }
    const query = { merchantId: this.options.merchantId, purchaseId: id };
    return this.sharedRead('purchase', query, async (stamp) => {
      const found = await this.options.client.query(query);
      const purchase = found.find((p) => p.purchaseId === id) ?? found[0] ?? null;
      if (!purchase) return null;
      const [served] = await this.observeRead([purchase], stamp);
      return served ?? purchase;
    });
  }

  /** Purchases matching every given constraint; the merchant defaults to ours. */
  async list(filter: PurchaseQuery): Promise<GroupPurchaseRecord[]> {
    const query = { ...filter, merchantId: filter.merchantId ?? this.options.merchantId };
    return this.sharedRead('purchases', query, async (stamp) =>
      this.observeRead(await this.options.client.query(query), stamp),
    );
  }

  /**
   * A PBG query shared with identical ones in flight, its answer already observed (recorded in
   * the purchase state) inside the flight, so every caller gets what the service knows after
   * that read. The change-log stamp is part of the key, and it is taken before the read is
   * sent: callers share a read only when nothing was logged between their stamps, so
   *
   * - the read is observed with the stamp of the flight's own request, taken before it was
   *   sent — a read sent before a push can never be applied after it (src/purchase/state.ts's
   *   isStale), whoever joined it;
   * - a caller never joins a read older than a change it could already know of: after its own
   *   accepted action (an ACTION change) or a push it saw, the head has moved, so it sends a
   *   read of its own.
   *
   * The merchant is in `query`, so in the key: no caller is answered with another merchant's
   * question.
   */
  private async sharedRead<T>(
    operation: string,
    query: PurchaseQuery,
    read: (stamp: string) => Promise<T>,
  ): Promise<T> {
    const stamp = await this.options.state.readStamp();
    return this.flights.run(operation, { ...query, stamp }, () => read(stamp));
  }

  /**
   * Records what a read brought back (a change no push announced becomes a RECONCILIATION
   * change) and answers with what the service now knows: the read, or — when a newer state was
   * stored while the read was in flight, or the read would move a purchase backwards — the
   * stored one. `stamp` is `state.readStamp()` taken before the read was sent.
   */
  async observeRead(
    purchases: readonly GroupPurchaseRecord[],
    stamp: string,
  ): Promise<GroupPurchaseRecord[]> {
    const outcomes = await this.options.state.observe(
      purchases,
      GroupPurchaseChangeSource.RECONCILIATION,
      { readStamp: stamp },
    );
    // A known purchase that moved without a push: what `payments_reconciliation_changes_total`
    // counts (a purchase seen for the first time is not a missed push).
    const missed = outcomes.filter((o) => o.kind === 'change' && o.change.previousStatus !== null);
    if (missed.length > 0) this.options.metrics?.reconciliationFound(missed.length);
    return purchases.map((purchase, i) => {
      const outcome = outcomes[i]!;
      return outcome.kind === 'stale' || outcome.kind === 'repeat' ? outcome.current : purchase;
    });
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * Sends an action at most once per idempotency key: claim → PayByGroup → record the outcome
   * → bookkeeping (purchase state) → answer. PBG's `{"result": false}` (wrong state, unknown
   * purchase) is an ACTION_REJECTED userError, remembered under the key like an acceptance:
   * asking again with the same key must not act later, when the state may have changed.
   *
   * An answer lost on the way back (timeout, 5xx, reset, garbage) leaves the key unknown; the
   * next retry with the key resolves it by reading the purchase back ({@link resolveByReadBack}).
   */
  async performAction(
    purchaseId: string,
    action: PurchaseAction,
    idempotencyKey?: string | null,
  ): Promise<ActionOutcome> {
    const id = purchaseId.trim();
    if (id === '') return refused(purchaseId, emptyIdIssue());
    if (!idempotencyKey && this.options.requireIdempotencyKey) {
      return refused(id, keyRequiredIssue());
    }
    const act = () => this.sendAction(id, action);
    if (!idempotencyKey) {
      const outcome = await this.options.idempotency.runWithoutKey(act);
      await this.afterAccepted(outcome, action);
      return outcome;
    }
    const run = await this.options.idempotency.run({
      operation: 'performPurchaseAction',
      key: idempotencyKey,
      fingerprint: fingerprintOf('performPurchaseAction', { purchaseId: id, action }),
      act,
      resolveUnknown: (attempt) => this.resolveByReadBack(id, action, attempt),
      describe: (outcome) => outcome.purchaseId,
      ...(this.options.changes ? { mark: () => this.options.changes!.head() } : {}),
    });
    if (run.kind === 'reused') return refused(id, keyReusedIssue());
    if (!run.replayed) await this.afterAccepted(run.result, action);
    return run.result;
  }

  /** The one PBG action call, as a domain outcome. */
  private async sendAction(id: string, action: PurchaseAction): Promise<ActionOutcome> {
    const accepted = await this.options.client.action(id, action);
    this.options.logger.info({ purchaseId: id, action, accepted }, 'purchase action sent');
    if (accepted) return { accepted, purchaseId: id, issues: [] };
    return refused(id, {
      code: UserErrorCode.ACTION_REJECTED,
      field: ['action'],
      message: `PayByGroup refused ${action} on purchase ${id}: the purchase is unknown or its status does not allow it.`,
    });
  }

  /**
   * What an earlier attempt whose answer was lost did. PayByGroup has no lookup by request,
   * but an action's effect is visible on the purchase — now, or in the change log after the
   * claim was taken (`attempt.mark`) when someone moved the purchase on since (collected, then
   * refunded under another key): either way the action happened.
   *
   * When neither shows it and the earlier attempt is surely over (`settled`), the action is sent
   * again: PayByGroup moves a purchase through each of these states once, so money cannot move
   * twice, and an acceptance is the key's answer. A refusal proves nothing after an attempt
   * whose outcome is unknown — that attempt may be the reason (it moved the purchase on, or a
   * gateway answered 502 while PayByGroup went on and applied it) — so the key stays unknown,
   * with what is known in the error's details, and is never answered ACTION_REJECTED. Before
   * `settled`, a timed-out attempt may still be under way at PayByGroup: only look.
   */
  private async resolveByReadBack(
    id: string,
    action: PurchaseAction,
    attempt: UnknownAttempt,
  ): Promise<ActionOutcome> {
    const target = STATUS_AFTER_ACTION[action];
    const status = await this.readBack(id);
    const log = { purchaseId: id, action, status };
    if (status === target || (await this.reachedSince(id, target, attempt.mark))) {
      this.options.logger.info(log, 'lost action answer resolved: the purchase shows its effect');
      return { accepted: true, purchaseId: id, issues: [] };
    }
    if (!attempt.settled) {
      const after = new Date(attempt.settledAt).toISOString();
      throw new ServiceError(
        ErrorCode.UPSTREAM_OUTCOME_UNKNOWN,
        `PayByGroup does not show the ${action} on purchase ${id} yet, and the first attempt may still be under way there. Retry with the same idempotencyKey after ${after}.`,
        { details: { upstreamFailure: 'NOT_SETTLED', retryAfter: after, purchaseStatus: status } },
      );
    }
    this.options.logger.info(log, 'lost action answer: no effect shown; sending the action again');
    const resent = await this.sendAction(id, action);
    if (resent.accepted) return resent;
    this.options.logger.warn(log, 'lost action answer: the action sent again was refused');
    throw new ServiceError(
      ErrorCode.UPSTREAM_OUTCOME_UNKNOWN,
      `PayByGroup refused the ${action} on purchase ${id} when it was sent again. That proves nothing: the first attempt, whose outcome is unknown, may have moved the purchase on (its status is now ${status ?? 'unknown to PayByGroup'}). Check the purchase before acting on it again.`,
      { details: { upstreamFailure: 'RESENT_AND_REFUSED', purchaseStatus: status } },
    );
  }

  /**
   * The purchase's status as PayByGroup shows it now (null: not found), recorded as an
   * observation. Never through the single flight (nor a cache): this read judges whether an
   * attempt that is already over happened, so it must be *sent* after that attempt. A read that
   * was in flight before it could show the purchase before the action and re-send it.
   */
  private async readBack(id: string): Promise<GroupPurchaseStatus | null> {
    const stamp = await this.options.state.readStamp();
    const found = await this.options.client.query({
      merchantId: this.options.merchantId,
      purchaseId: id,
    });
    const purchase = found.find((p) => p.purchaseId === id);
    // What the read-back saw is an observation like any read; failing to record it is
    // bookkeeping and must not stand in the way of the answer.
    if (purchase) {
      await this.observeRead([purchase], stamp).catch((error: unknown) => {
        this.options.logger.warn({ purchaseId: id, err: error }, 'read-back not recorded');
      });
    }
    return purchase?.status ?? null;
  }

  /** Whether the change log shows the purchase in `status` after the claim's mark. */
  private async reachedSince(
    id: string,
    status: GroupPurchaseStatus,
    mark: string | undefined,
  ): Promise<boolean> {
    if (mark === undefined || !this.options.changes) return false;
    return this.options.changes.reached(id, status, mark);
  }

  /** Bookkeeping: a store hiccup here must not fail an action PayByGroup has carried out. */
  private async afterAccepted(outcome: ActionOutcome, action: PurchaseAction): Promise<void> {
    if (!outcome.accepted) return;
    await this.options.state.actionAccepted(outcome.purchaseId, action).catch((error: unknown) => {
      this.options.logger.warn(
        { purchaseId: outcome.purchaseId, action, err: error },
        'action accepted, but the purchase state could not be updated',
      );
    });
  }
}

function refused(purchaseId: string, issue: UserIssue): ActionOutcome {
  return { accepted: false, purchaseId, issues: [issue] };
}

function emptyIdIssue(): UserIssue {
  return {
    code: UserErrorCode.INVALID_INPUT,
    field: ['purchaseId'],
    message: 'purchaseId must not be empty.',
  };
}
