import { guardStore } from '../store/guard.js';
import type { Store } from '../store/index.js';
import type { GroupPurchaseRecord, PurchaseAction } from './types.js';

interface StateEntry {
  /** The latest state seen, from a read or a push; null when only an action is known. */
  record: GroupPurchaseRecord | null;
  /** Epoch ms `record` was read or pushed; 0 once it is known to be stale. */
  fetchedAt: number;
  /**
   * What the next change push is compared with (changedFields, previousStatus): the last
   * pushed state, or the last read one — except that reads made after one of our own actions
   * do not move it, because they already show the change the push will announce.
   */
  baseline: GroupPurchaseRecord | null;
  /** An action was accepted and its push has not arrived yet. */
  awaitingPush: boolean;
}

/**
 * The last known state of each purchase. Reads within the freshness window are served from it,
 * so a pushed change is what the next query shows; change pushes diff against its baseline.
 * Kept in the store, so every instance sharing the store agrees.
 */
export class PurchaseStateStore {
  private readonly entries;

  constructor(store: Store) {
    this.entries = store.namespace<StateEntry>('purchases');
  }

  private get(purchaseId: string): Promise<StateEntry | undefined> {
    return guardStore(() => this.entries.get(purchaseId));
  }

  private set(purchaseId: string, entry: StateEntry): Promise<boolean> {
    return guardStore(() => this.entries.set(purchaseId, entry));
  }

  /** The known state if it was read or pushed less than `ttlMs` ago. */
  async fresh(
    purchaseId: string,
    ttlMs: number,
    now = Date.now(),
  ): Promise<GroupPurchaseRecord | null> {
    const entry = await this.get(purchaseId);
    if (!entry?.record || entry.fetchedAt === 0 || now - entry.fetchedAt >= ttlMs) return null;
    return entry.record;
  }

  /** What a change push for this purchase is compared with. */
  async baseline(purchaseId: string): Promise<GroupPurchaseRecord | null> {
    return (await this.get(purchaseId))?.baseline ?? null;
  }

  /** A state read from PBG. */
  async putRead(record: GroupPurchaseRecord, now = Date.now()): Promise<void> {
    const entry = await this.get(record.purchaseId);
    const awaitingPush = entry?.awaitingPush ?? false;
    await this.set(record.purchaseId, {
      record,
      fetchedAt: now,
      baseline: awaitingPush ? (entry?.baseline ?? null) : record,
      awaitingPush,
    });
  }

  /** A state PBG pushed. */
  async putPushed(record: GroupPurchaseRecord, now = Date.now()): Promise<void> {
    await this.set(record.purchaseId, {
      record,
      fetchedAt: now,
      baseline: record,
      awaitingPush: false,
    });
  }

  /** One of our actions was accepted: stop serving the old state, keep the baseline for the push. */
  async actionAccepted(purchaseId: string, _action?: PurchaseAction): Promise<void> {
    const entry = await this.get(purchaseId);
    await this.set(purchaseId, {
      record: entry?.record ?? null,
      fetchedAt: 0,
      baseline: entry?.baseline ?? null,
      awaitingPush: true,
    });
  }
}
