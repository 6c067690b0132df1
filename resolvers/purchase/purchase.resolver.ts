import {
  Arg,
  Ctx,
  Directive,
  FieldResolver,
  ID,
  Info,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { hintPurchase } from '../common/cache-control.js';
import {
  AUTHENTICATED,
  cost,
  COST,
  LIST_SIZE,
  listSize,
  pagedListSize,
  REQUIRES_READ,
  REQUIRES_WRITE,
} from '../common/directives.js';
import type { ActionOutcome } from '../../src/purchase/service.js';
import type { GroupPurchaseRecord, InventoryState } from '../../src/pbg/types.js';
import { InventoryState as InventoryStateEnum } from '../common/enums.js';
import { UserError } from '../common/user-error.type.js';
import type { GraphQLContext } from '../context.js';
import {
  DEFAULT_PURCHASES_PAGE,
  MAX_PURCHASES_PAGE,
  pagePurchases,
} from '../../src/purchase/pages.js';
import { GroupPurchase } from './group-purchase.type.js';
import { GroupPurchaseConnection } from './group-purchase-connection.type.js';
import { GroupPurchaseFilter, PurchaseActionInput } from './purchase.inputs.js';
import { PurchaseActionPayload } from './purchase-action.payload.js';

/** One PayByGroup query for the filter; later loads in the same request reuse what it read. */
async function listPurchases(
  context: GraphQLContext,
  filter: GroupPurchaseFilter | null,
): Promise<GroupPurchaseRecord[]> {
  const purchases = await context.services.purchases.list({
    merchantId: filter?.merchantId ?? undefined,
    inventoryId: filter?.inventoryId ?? undefined,
    purchaseId: filter?.purchaseId ?? undefined,
    createdAfter: filter?.createdAfter ?? undefined,
    createdBefore: filter?.createdBefore ?? undefined,
    status: filter?.status ?? undefined,
  });
  for (const purchase of purchases)
    context.loaders.groupPurchase.prime(purchase.purchaseId, purchase);
  return purchases;
}

@Resolver(() => GroupPurchase)
export class GroupPurchaseResolver {
  @Query(() => GroupPurchase, {
    nullable: true,
    description: 'A PayByGroup purchase by id; null when PayByGroup does not know it',
  })
  @Directive(AUTHENTICATED)
  @Directive(REQUIRES_READ)
  @Directive(cost(COST.upstreamCall))
  async groupPurchase(
    @Arg('purchaseId', () => ID) purchaseId: string,
    @Ctx() context: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<GroupPurchaseRecord | null> {
    const purchase = await context.loaders.groupPurchase.load(purchaseId);
    hintPurchase(info, purchase);
    return purchase;
  }

  @Query(() => [GroupPurchase], {
    description:
      "Purchases matching every given constraint, in one unpaginated list; the merchant defaults to this service's. Kept for existing clients; a list view should use groupPurchasesConnection (docs/decisions/020-group-purchases-list-deprecated.md)",
  })
  @Directive(AUTHENTICATED)
  @Directive(REQUIRES_READ)
  // One PayByGroup call for the whole list: each item is priced as in memory.
  @Directive(cost(COST.inMemory))
  @Directive(listSize(LIST_SIZE.groupPurchases))
  async groupPurchases(
    @Arg('filter', () => GroupPurchaseFilter, { nullable: true })
    filter: GroupPurchaseFilter | null,
    @Ctx() context: GraphQLContext,
  ): Promise<GroupPurchaseRecord[]> {
    return listPurchases(context, filter);
  }

  @Query(() => GroupPurchaseConnection, {
    description:
      "groupPurchases in pages (a frontend's list view), newest first; the plain list stays for existing clients",
  })
  @Directive(AUTHENTICATED)
  @Directive(REQUIRES_READ)
  // One PayByGroup call per page (shared between pages read together): each edge as in memory.
  @Directive(cost(COST.inMemory))
  @Directive(pagedListSize('first', 'edges', DEFAULT_PURCHASES_PAGE))
  async groupPurchasesConnection(
    @Ctx() context: GraphQLContext,
    // Declared last to first: type-graphql prints parameters in reverse, and the contract's order
    // is (filter, first, after).
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('first', () => Int, {
      nullable: true,
      description: `page size, 1 to ${MAX_PURCHASES_PAGE}; ${DEFAULT_PURCHASES_PAGE} when not given`,
    })
    first: number | null,
    @Arg('filter', () => GroupPurchaseFilter, { nullable: true })
    filter: GroupPurchaseFilter | null,
  ): Promise<GroupPurchaseConnection> {
    const page = pagePurchases(await listPurchases(context, filter), first, after);
    return {
      edges: page.items.map(({ cursor, purchase }) => ({ cursor, node: purchase as never })),
      pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage },
    };
  }

  @FieldResolver(() => InventoryStateEnum, { nullable: true })
  async inventoryState(
    @Root() purchase: GroupPurchaseRecord,
    @Ctx() context: GraphQLContext,
  ): Promise<InventoryState | null> {
    const offer = await context.loaders.offer.load(purchase.purchaseId);
    return offer?.inventoryState ?? null;
  }

  @Mutation(() => PurchaseActionPayload, {
    description: 'Collect funds, set unavailable, refund or cancel a group purchase',
  })
  @Directive(REQUIRES_WRITE)
  @Directive(cost(COST.moneyMutation))
  performPurchaseAction(
    @Arg('input', () => PurchaseActionInput) input: PurchaseActionInput,
    @Ctx() context: GraphQLContext,
  ): Promise<ActionOutcome> {
    return context.services.purchases.performAction(
      input.purchaseId,
      input.action,
      input.idempotencyKey,
    );
  }
}

@Resolver(() => PurchaseActionPayload)
export class PurchaseActionPayloadResolver {
  /**
   * Re-read from PayByGroup, never from this request's loader cache: the action has just
   * changed the purchase, and an earlier field of the same operation may have loaded it.
   */
  @FieldResolver(() => GroupPurchase, { nullable: true })
  purchase(
    @Root() outcome: ActionOutcome,
    @Ctx() context: GraphQLContext,
  ): Promise<GroupPurchaseRecord | null> | null {
    if (
      outcome.issues.some(
        (issue) => issue.field?.[0] === 'purchaseId' || issue.code === 'IDEMPOTENCY_KEY_REUSED',
      )
    )
      return null;
    return context.loaders.groupPurchase.clear(outcome.purchaseId).load(outcome.purchaseId);
  }

  @FieldResolver(() => [UserError])
  userErrors(@Root() outcome: ActionOutcome): ActionOutcome['issues'] {
    return outcome.issues;
  }
}
