import {
  Arg,
  Directive,
  ID,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import { AUTHENTICATED, cost, COST, REQUIRES_READ } from '../common/directives.js';
import type { CollectBatchView } from '../../src/chillr/view.js';
import {
  GROUP_PURCHASE_CHANGED,
  type GroupPurchaseChange as Change,
} from '../../src/events/pubsub.js';
import { CollectBatch } from '../collect/collect-batch.type.js';
import type { GraphQLContext } from '../context.js';
import { GroupPurchaseChange, GroupPurchaseChangeFilter } from './group-purchase-change.type.js';

@Resolver()
export class LiveResolver {
  /**
   * Served from the pushed event itself: no PayByGroup call per event per subscriber. The
   * filter runs per subscriber on each published change.
   */
  @Subscription(() => GroupPurchaseChange, {
    topics: GROUP_PURCHASE_CHANGED,
    filter: ({
      payload,
      args,
    }: {
      payload: Change;
      args: { filter?: GroupPurchaseChangeFilter | null };
    }) => matches(payload, args.filter ?? null),
    description: 'PayByGroup change pushes, as they arrive',
  })
  @Directive(AUTHENTICATED)
  @Directive(REQUIRES_READ)
  @Directive(cost(COST.inMemory))
  groupPurchaseChanged(
    @Root() change: Change,
    @Arg('filter', () => GroupPurchaseChangeFilter, { nullable: true })
    _filter: GroupPurchaseChangeFilter | null,
  ): Change {
    return change;
  }

  @Subscription(() => CollectBatch, {
    subscribe: ({
      args,
      context,
    }: SubscribeResolverData<unknown, { id: string }, GraphQLContext>) =>
      context.services.batchWatcher.watch(args.id),
    description: 'polls Chillr; emits on change; completes when the batch is terminal',
  })
  @Directive(AUTHENTICATED)
  @Directive(REQUIRES_READ)
  // One shared poller per batch id, however many subscribers: priced as one upstream call.
  @Directive(cost(COST.upstreamCall))
  collectBatchUpdated(
    @Root() batch: CollectBatchView,
    @Arg('id', () => ID) _id: string,
  ): CollectBatchView {
    return batch;
  }
}

export function matches(change: Change, filter: GroupPurchaseChangeFilter | null): boolean {
  if (!filter) return true;
  const { purchase } = change;
  if (filter.purchaseIds?.length && !filter.purchaseIds.includes(purchase.purchaseId)) return false;
  if (filter.merchantId && purchase.merchantId !== filter.merchantId) return false;
  if (filter.statuses?.length && !filter.statuses.includes(purchase.status)) return false;
  return true;
}
