import { keyReusedIssue, UserErrorCode, type UserIssue } from '../errors.js';
import { fingerprintOf, type Idempotency } from '../idempotency.js';
import type { Logger } from '../logger.js';
import type { PbgClient } from './client.js';
import type { PurchaseStateStore } from './purchase-state.js';
import {
  GroupPurchaseChangeSource,
  type GroupPurchaseRecord,
  type PurchaseAction,
  type PurchaseQuery,
} from './types.js';

export interface PurchaseServiceOptions {
  client: PbgClient;
  idempotency: Idempotency;
  /** The merchant this service acts for; queries default to it. */
  merchantId: string;
  /** The owner of purchase state: every read is observed through it. */
  state: PurchaseStateStore;
  /**
   * How long a known state is served to `groupPurchase`/`_entities` without asking PBG again.
   * PBG pushes every change of status, deadline and group size, so the window only bounds how
   * stale the other fields can be. 0 = always ask PBG.
   * @default 0
   */
  cacheTtlMs?: number;
  /** @default Date.now */
  now?: () => number;
  logger: Logger;
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
  constructor(private readonly options: PurchaseServiceOptions) {}

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
      if (known && (known.merchantId === null || known.merchantId === this.options.merchantId)) {
        return known;
      }
    }
    const stamp = await this.options.state.readStamp();
    const found = await this.options.client.query({
      merchantId: this.options.merchantId,
      purchaseId: id,
    });
    const purchase = found.find((p) => p.purchaseId === id) ?? found[0] ?? null;
    if (!purchase) return null;
    const [served] = await this.observeRead([purchase], stamp);
    return served ?? purchase;
  }

  /** Purchases matching every given constraint; the merchant defaults to ours. */
  async list(filter: PurchaseQuery): Promise<GroupPurchaseRecord[]> {
    const stamp = await this.options.state.readStamp();
    const purchases = await this.options.client.query({
      ...filter,
      merchantId: filter.merchantId ?? this.options.merchantId,
    });
    return this.observeRead(purchases, stamp);
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
    return purchases.map((purchase, i) => {
      const outcome = outcomes[i]!;
      return outcome.kind === 'stale' || outcome.kind === 'repeat' ? outcome.current : purchase;
    });
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * Sends an action once. PBG's `{"result": false}` (wrong state, unknown purchase) is an
   * ACTION_REJECTED userError, remembered under the idempotency key like an acceptance: asking
   * again with the same key must not act later, when the state may have changed.
   */
  async performAction(
    purchaseId: string,
    action: PurchaseAction,
    idempotencyKey?: string | null,
  ): Promise<ActionOutcome> {
    const id = purchaseId.trim();
    if (id === '') {
      return {
        accepted: false,
        purchaseId,
        issues: [
          {
            code: UserErrorCode.INVALID_INPUT,
            field: ['purchaseId'],
            message: 'purchaseId must not be empty.',
          },
        ],
      };
    }
    const act = async () => {
      const accepted = await this.options.client.action(id, action);
      // Bookkeeping: the purchase is now in the action's status (an ACTION change).
      // A store hiccup here must not fail an action PBG has carried out.
      if (accepted) {
        await this.options.state.actionAccepted(id, action).catch((error: unknown) => {
          this.options.logger.warn(
            { purchaseId: id, err: error },
            'could not record the accepted action in the purchase state',
          );
        });
      }
      this.options.logger.info({ purchaseId: id, action, accepted }, 'purchase action sent');
      const outcome: ActionOutcome = {
        accepted,
        purchaseId: id,
        issues: accepted
          ? []
          : [
              {
                code: UserErrorCode.ACTION_REJECTED,
                field: ['action'],
                message: `PayByGroup refused ${action} on purchase ${id}: the purchase is unknown or its status does not allow it.`,
              },
            ],
      };
      return { result: outcome, final: true };
    };
    if (!idempotencyKey) return (await act()).result;
    const outcome = await this.options.idempotency.run(
      idempotencyKey,
      fingerprintOf('performPurchaseAction', { purchaseId: id, action }),
      act,
    );
    if (outcome.kind === 'reused')
      return { accepted: false, purchaseId: id, issues: [keyReusedIssue()] };
    return outcome.result;
  }
}
