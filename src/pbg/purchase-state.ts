import { guardStore } from '../store/guard.js';
import type { Store } from '../store/index.js';
import type { GroupPurchaseRecord } from './types.js';

interface StateEntry {
  record: GroupPurchaseRecord;
  /** Epoch ms the record was read from PBG or pushed by it; 0 once known to be stale. */
  fetchedAt: number;
}

/**
 * The last known state of each purchase, from whichever came last: a read from PBG or a
 * change push. Pushes diff against it (changedFields, previousStatus), and reads within the
 * freshness window are served from it — so a pushed change is what the next query shows.
 * Kept in the store, so every instance sharing it agrees.
 */
export class PurchaseStateStore {
  private readonly entries;

  constructor(store: Store) {
    this.entries = store.namespace<StateEntry>('purchases');
  }

  async get(purchaseId: string): Promise<StateEntry | undefined> {
    return guardStore(() => this.entries.get(purchaseId));
  }

  async put(record: GroupPurchaseRecord, fetchedAt = Date.now()): Promise<void> {
    await guardStore(() => this.entries.set(record.purchaseId, { record, fetchedAt }));
  }

  /** Keeps the state for diffs but stops serving it (after an action changed the purchase). */
  async markStale(purchaseId: string): Promise<void> {
    const entry = await this.get(purchaseId);
    if (entry) await guardStore(() => this.entries.set(purchaseId, { ...entry, fetchedAt: 0 }));
  }
}
