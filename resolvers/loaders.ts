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
  return new LazyLoaders(services, metrics);
}

/**
 * Each loader is made when first used: an operation reads one or two of the three, and a
 * DataLoader per request that nothing calls is only garbage. A class with its getters on the
 * prototype: an object literal with three getters made six closures per request, which showed
 * as 1 % of the pending batch read's CPU (docs/behaviour.md, "Reads and caching").
 */
class LazyLoaders implements Loaders {
  #collectBatch: Loaders['collectBatch'] | undefined = undefined;
  #groupPurchase: Loaders['groupPurchase'] | undefined = undefined;
  #offer: Loaders['offer'] | undefined = undefined;

  constructor(
    private readonly services: Services,
    private readonly metrics: Metrics | undefined,
  ) {}

  get collectBatch(): Loaders['collectBatch'] {
    return (this.#collectBatch ??= new DataLoader(
      this.sized('collectBatch', (ids) => this.services.collect.getBatches(ids)),
    ));
  }

  get groupPurchase(): Loaders['groupPurchase'] {
    return (this.#groupPurchase ??= new DataLoader(
      this.sized('groupPurchase', (ids) => this.services.purchases.getPurchases(ids)),
    ));
  }

  get offer(): Loaders['offer'] {
    return (this.#offer ??= new DataLoader(
      this.sized('offer', (ids) => this.services.offers.getMany(ids)),
    ));
  }

  /** Each batch's size goes to `payments_dataloader_batch_size{loader}`. */
  private sized<V>(
    loader: string,
    load: (ids: readonly string[]) => Promise<ArrayLike<V | Error>>,
  ): (ids: readonly string[]) => Promise<ArrayLike<V | Error>> {
    return (ids) => {
      this.metrics?.dataloaderBatchSize.observe({ loader }, ids.length);
      return load(ids);
    };
  }
}
