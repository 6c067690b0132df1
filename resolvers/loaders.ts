import DataLoader from 'dataloader';
import type { CollectBatchView } from '../src/chillr/view.js';
import type { PurchaseOffer } from '../src/pbg/offers.js';
import type { GroupPurchaseRecord } from '../src/pbg/types.js';
import type { Services } from '../src/services.js';

/**
 * One DataLoader per entity and request. A query with twenty aliases over three batch ids,
 * or a router's `_entities` call with fifty representations over five ids, collapses to one
 * upstream read per distinct id; the loader is dropped with the request, so nothing stale
 * outlives it (cross-request caching of terminal states lives in the services, where it can
 * be reasoned about).
 */
export interface Loaders {
  collectBatch: DataLoader<string, CollectBatchView | null>;
  groupPurchase: DataLoader<string, GroupPurchaseRecord | null>;
  /** Offers from the store: one batched read for every purchase's inventoryState. */
  offer: DataLoader<string, PurchaseOffer | null>;
}

export function createLoaders(services: Services): Loaders {
  return {
    collectBatch: new DataLoader((ids) => services.collect.getBatches(ids)),
    groupPurchase: new DataLoader((ids) => services.purchases.getPurchases(ids)),
    offer: new DataLoader((ids) => services.offers.getMany(ids)),
  };
}
