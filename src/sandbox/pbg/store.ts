import type { JsonObject } from './http.js';

/**
 * A group purchase exactly as PBG sends it: wire field names, wire formats, plus whatever extra
 * fields the merchant or a test put there. Keeping the wire shape (not a typed model) is what
 * lets updatePurchase garble any field and the query answer show it unchanged.
 */
export type Purchase = JsonObject;

/** Fields whose change makes PBG send a Change Push (the document's "important values"). */
export const PUSH_TRIGGERS = ['status', 'commit_deadline', 'num_people'] as const;

/** What survives a restart (see `PurchaseStore.snapshot`). */
export interface SavedPurchases {
  version: 1;
  nextPbgNumber: number;
  purchases: Purchase[];
}

export function isSavedPurchases(value: unknown): value is SavedPurchases {
  const v = value as Partial<SavedPurchases> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.version === 1 &&
    Number.isSafeInteger(v.nextPbgNumber) &&
    Array.isArray(v.purchases) &&
    v.purchases.every(
      (p) => typeof p === 'object' && p !== null && typeof p.purchase_id === 'string',
    )
  );
}

/** In-memory purchases keyed by the merchant's purchase_id, in creation order. */
export class PurchaseStore {
  private readonly byId = new Map<string, Purchase>();
  /** PBG's own ids are sequential, like a Rails primary key. */
  private nextPbgNumber = 100_001;

  add(purchase: Purchase): Purchase {
    const id = purchase.purchase_id;
    if (typeof id !== 'string') throw new Error('a purchase needs a string purchase_id');
    const stored: Purchase = { ...purchase };
    if (stored.pbg_purchase_id === undefined) {
      // Keep pbg_purchase_id second in the object so answers read like the document's examples.
      const { purchase_id, ...rest } = stored;
      this.byId.set(id, {
        purchase_id,
        pbg_purchase_id: `PBG-${this.nextPbgNumber++}`,
        ...rest,
      });
    } else {
      this.byId.set(id, stored);
    }
    return this.byId.get(id) as Purchase;
  }

  /** Everything needed to rebuild this store after a restart. */
  snapshot(): SavedPurchases {
    return { version: 1, nextPbgNumber: this.nextPbgNumber, purchases: this.all().map(snapshot) };
  }

  /** Replaces the contents with a snapshot taken by `snapshot()`. */
  restore(saved: SavedPurchases): void {
    this.byId.clear();
    this.nextPbgNumber = saved.nextPbgNumber;
    for (const purchase of saved.purchases) this.add(purchase);
  }

  get(purchaseId: string): Purchase | undefined {
    return this.byId.get(purchaseId);
  }

  has(purchaseId: string): boolean {
    return this.byId.has(purchaseId);
  }

  all(): Purchase[] {
    return [...this.byId.values()];
  }
}

/**
 * A deep copy for answers, pushes and callers: nobody outside may hold a live reference, or a
 * test mutating a returned object would change what the next query answers.
 */
export function snapshot(purchase: Purchase): Purchase {
  return structuredClone(purchase);
}

/** Whether any push-trigger field differs between two versions of a purchase. */
export function triggersPush(before: Purchase, after: Purchase): boolean {
  return PUSH_TRIGGERS.some((f) => JSON.stringify(before[f]) !== JSON.stringify(after[f]));
}
