import type { CollectService } from './chillr/service.js';
import type { BatchWatcher } from './chillr/batch-watcher.js';
import type { ChangeFeed } from './purchase/change-feed.js';
import type { OfferCatalog } from './purchase/offers.js';
import type { PurchaseService } from './purchase/service.js';

/** The service objects the graph calls. Built once by the composition root (src/app.ts). */
export interface Services {
  collect: CollectService;
  purchases: PurchaseService;
  offers: OfferCatalog;
  /** The purchase change log, for groupPurchaseChanges and groupPurchaseChanged. */
  changeFeed: ChangeFeed;
  /** Shared pollers behind collectBatchUpdated. */
  batchWatcher: BatchWatcher;
}
