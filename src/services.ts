import type { CollectService } from './chillr/service.js';
import type { BatchWatcher } from './events/batch-watcher.js';
import type { ChangeFeed } from './pbg/change-feed.js';
import type { OfferCatalog } from './pbg/offers.js';
import type { PurchaseService } from './pbg/service.js';

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
