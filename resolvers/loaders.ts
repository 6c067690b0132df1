import DataLoader from 'dataloader';
import type { CollectBatchView } from '../src/chillr/view.js';
import type { PurchaseOffer } from '../src/purchase/offers.js';
import type { GroupPurchaseRecord } from '../src/pbg/types.js';
import type { Metrics } from '../src/observability/metrics.js';
import type { Services } from '../src/services.js';

/**
 * One DataLoader per entity and request. A query with twenty aliases over three batch ids,
 * or a router's `_entities` call with fifty representations over five ids, collapses to one
 * upstream read per distinct id; the loader is dropped with the request, so nothing stale
 * outlives it. What crosses requests lives in the services, where it can be reasoned about:
 * the caches with a stated staleness, and the single flight that lets identical reads in
 * flight at the same moment share one call (docs/behaviour.md "Reads and caching").
 */
export interface Loaders {
  collectBatch: DataLoader<string, CollectBatchView | null>;
  groupPurchase: DataLoader<string, GroupPurchaseRecord | null>;
  /** Offers from the store: one batched read for every purchase's inventoryState. */
  offer: DataLoader<string, PurchaseOffer | null>;
}

export function createLoaders(services: Services, metrics?: Metrics): Loaders {
  /** Each batch's size goes to `payments_dataloader_batch_size{loader}`. */
  const sized =
    <V>(loader: string, load: (ids: readonly string[]) => Promise<ArrayLike<V | Error>>) =>
    (ids: readonly string[]) => {
      metrics?.dataloaderBatchSize.observe({ loader }, ids.length);
      return load(ids);
    };
  // Each loader is made when first used: an operation reads one or two of the three, and a
  // DataLoader per request that nothing calls is only garbage.
  let collectBatch: Loaders['collectBatch'] | undefined;
  let groupPurchase: Loaders['groupPurchase'] | undefined;
  let offer: Loaders['offer'] | undefined;
  return {
    get collectBatch() {
      return (collectBatch ??= new DataLoader(
        sized('collectBatch', (ids) => services.collect.getBatches(ids)),
      ));
    },
    get groupPurchase() {
      return (groupPurchase ??= new DataLoader(
        sized('groupPurchase', (ids) => services.purchases.getPurchases(ids)),
      ));
    },
    get offer() {
      return (offer ??= new DataLoader(sized('offer', (ids) => services.offers.getMany(ids))));
    },
  };
}
