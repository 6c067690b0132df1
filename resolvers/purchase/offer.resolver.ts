import { Arg, Ctx, Directive, ID, Mutation, Query, Resolver } from 'type-graphql';
import { AUTHENTICATED, cost, COST, REQUIRES_READ, REQUIRES_WRITE } from '../common/directives.js';
import type {
  PurchaseOffer as Offer,
  PurchaseOfferDefaults as Defaults,
} from '../../src/purchase/offers.js';
import type { GraphQLContext } from '../context.js';
import { PurchaseOfferDefaultsInput, PurchaseOfferInput } from './purchase.inputs.js';
import { PurchaseOffer, PurchaseOfferDefaults } from './purchase-offer.type.js';

@Resolver(() => PurchaseOffer)
export class PurchaseOfferResolver {
  @Query(() => PurchaseOffer, { nullable: true })
  @Directive(AUTHENTICATED)
  @Directive(REQUIRES_READ)
  @Directive(cost(COST.storeRead))
  purchaseOffer(
    @Arg('purchaseId', () => ID) purchaseId: string,
    @Ctx() context: GraphQLContext,
  ): Promise<Offer | null> {
    return context.loaders.offer.load(purchaseId);
  }

  @Mutation(() => PurchaseOffer, {
    description:
      'Creates or replaces the offer PayByGroup is told about when a group purchase starts',
  })
  @Directive(REQUIRES_WRITE)
  @Directive(cost(COST.storeWrite))
  upsertPurchaseOffer(
    @Arg('input', () => PurchaseOfferInput) input: PurchaseOfferInput,
    @Ctx() context: GraphQLContext,
  ): Promise<Offer> {
    return context.services.offers.upsert(input);
  }

  @Query(() => PurchaseOfferDefaults, {
    nullable: true,
    description: 'the merchant-wide offer defaults; null until they are first set',
  })
  @Directive(AUTHENTICATED)
  @Directive(REQUIRES_READ)
  @Directive(cost(COST.storeRead))
  async purchaseOfferDefaults(@Ctx() context: GraphQLContext): Promise<Defaults | null> {
    return (await context.services.offers.getDefaults()) ?? null;
  }

  @Mutation(() => PurchaseOfferDefaults, {
    description:
      "sets the merchant-wide defaults PayByGroup's purchase_create answers fall back to",
  })
  @Directive(REQUIRES_WRITE)
  @Directive(cost(COST.storeWrite))
  setPurchaseOfferDefaults(
    @Arg('input', () => PurchaseOfferDefaultsInput) input: PurchaseOfferDefaultsInput,
    @Ctx() context: GraphQLContext,
  ): Promise<Defaults> {
    return context.services.offers.setDefaults(input);
  }
}
