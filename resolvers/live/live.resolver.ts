import {
  Arg,
  Ctx,
  Directive,
  ID,
  Int,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscribeResolverData,
} from 'type-graphql';
import type { CollectBatchView } from '../../src/chillr/view.js';
import { ErrorCode, ServiceError } from '../../src/errors.js';
import type { ChangeFeed } from '../../src/purchase/change-feed.js';
import type { GroupPurchaseChange as Change } from '../../src/purchase/stored.js';
import { CollectBatch } from '../collect/collect-batch.type.js';
import { AUTHENTICATED, cost, COST, pagedListSize, REQUIRES_READ } from '../common/directives.js';
import type { GraphQLContext } from '../context.js';
import { createLoaders } from '../loaders.js';
import {
  GroupPurchaseChange,
  GroupPurchaseChangeConnection,
  GroupPurchaseChangeFilter,
} from './group-purchase-change.type.js';

/** Most changes one `groupPurchaseChanges` page returns. */
export const MAX_CHANGES_PAGE = 500;

interface ChangedArgs {
  filter?: GroupPurchaseChangeFilter | null;
  after?: string | null;
}

@Resolver()
export class LiveResolver {
  /**
   * A follower of the change log (src/purchase/change-feed.ts): with `after`, the changes logged
   * after that cursor first, then live ones, in log order — no PayByGroup call per event per
   * subscriber, and no gap or repeat at the seam.
   */
  @Subscription(() => GroupPurchaseChange, {
    subscribe: async ({
      args,
      context,
    }: SubscribeResolverData<unknown, ChangedArgs, GraphQLContext>) => {
      const feed = context.services.changeFeed;
      const after = args.after ?? undefined;
      await assertReadable(feed, after);
      return feed.follow(args.filter ?? null, after);
    },
    description: 'with after: replays the change log after that cursor, then continues live',
  })
  @Directive(AUTHENTICATED)
  @Directive(REQUIRES_READ)
  @Directive(cost(COST.inMemory))
  groupPurchaseChanged(
    @Root() change: Change,
    @Ctx() context: GraphQLContext,
    @Arg('after', () => String, { nullable: true }) _after: string | null,
    @Arg('filter', () => GroupPurchaseChangeFilter, { nullable: true })
    _filter: GroupPurchaseChangeFilter | null,
  ): Change {
    // A subscription's context lives as long as the subscription. Fresh loaders per event keep
    // fields like inventoryState as they are at delivery time, and keep the loaders' caches
    // from growing with every purchase the subscription ever saw. Events of one subscription
    // are resolved one after another, so replacing them here cannot disturb an earlier event.
    context.loaders = createLoaders(context.services);
    return change;
  }

  @Query(() => GroupPurchaseChangeConnection, {
    description:
      'the change log, oldest first, after a cursor (from the start of retention without one)',
  })
  @Directive(AUTHENTICATED)
  @Directive(REQUIRES_READ)
  // One store read per page; the router multiplies the edges by `first`, or by 50 without it.
  // `first` has no default value in the schema: WunderGraph Cosmo's composition refuses a
  // slicing argument with a default beside assumedSize. The resolver applies the 50.
  @Directive(cost(COST.storeRead))
  @Directive(pagedListSize('first', 'edges', 50))
  async groupPurchaseChanges(
    @Ctx() context: GraphQLContext,
    // Declared last to first: type-graphql prints parameters in reverse, and the contract's order
    // is (filter, after, first).
    @Arg('first', () => Int, {
      nullable: true,
      description: `page size, 1 to ${MAX_CHANGES_PAGE}; 50 when not given`,
    })
    first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('filter', () => GroupPurchaseChangeFilter, { nullable: true })
    filter: GroupPurchaseChangeFilter | null,
  ): Promise<GroupPurchaseChangeConnection> {
    const size = first ?? 50;
    if (!Number.isInteger(size) || size < 1 || size > MAX_CHANGES_PAGE) {
      throw new ServiceError(
        ErrorCode.BAD_USER_INPUT,
        `first must be from 1 to ${MAX_CHANGES_PAGE} (MAX_CHANGES_PAGE); got ${first}.`,
        { details: { field: 'first', limit: MAX_CHANGES_PAGE } },
      );
    }
    const feed = context.services.changeFeed;
    await assertReadable(feed, after ?? undefined);
    const page = await feed.page(filter, after ?? undefined, size);
    return {
      edges: page.changes.map((node) => ({ cursor: node.cursor, node: node as never })),
      pageInfo: { endCursor: page.endCursor ?? after ?? null, hasNextPage: page.hasNextPage },
    };
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

/** A cursor that is malformed or past retention is the caller's error, said plainly. */
async function assertReadable(feed: ChangeFeed, after: string | undefined): Promise<void> {
  const problem = await feed.check(after);
  if (problem) {
    throw new ServiceError(ErrorCode.BAD_USER_INPUT, problem.message, {
      details: { field: 'after', reason: `CURSOR_${problem.problem}` },
    });
  }
}
