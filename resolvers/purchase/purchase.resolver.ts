import {
  Arg,
  Ctx,
  Directive,
  FieldResolver,
  ID,
  Info,
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
  REQUIRES_READ,
  REQUIRES_WRITE,
} from '../common/directives.js';
import type { ActionOutcome } from '../../src/pbg/service.js';
import type { GroupPurchaseRecord, InventoryState } from '../../src/pbg/types.js';
import { InventoryState as InventoryStateEnum } from '../common/enums.js';
import { UserError } from '../common/user-error.type.js';
import type { GraphQLContext } from '../context.js';
import { GroupPurchase } from './group-purchase.type.js';
import { GroupPurchaseFilter, PurchaseActionInput } from './purchase.inputs.js';
import { PurchaseActionPayload } from './purchase-action.payload.js';

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
      "Purchases matching every given constraint; the merchant defaults to this service's",
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
    const purchases = await context.services.purchases.list({
      merchantId: filter?.merchantId ?? undefined,
      inventoryId: filter?.inventoryId ?? undefined,
      purchaseId: filter?.purchaseId ?? undefined,
      createdAfter: filter?.createdAfter ?? undefined,
      createdBefore: filter?.createdBefore ?? undefined,
      status: filter?.status ?? undefined,
    });
    // Later `groupPurchase(id)` or `_entities` in the same request reuse what the list read.
    for (const purchase of purchases)
      context.loaders.groupPurchase.prime(purchase.purchaseId, purchase);
    return purchases;
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
