import { Arg, Ctx, Directive, ID, Mutation, Query, Resolver } from 'type-graphql';
import { AUTHENTICATED, cost, COST, REQUIRES_READ, REQUIRES_WRITE } from '../common/directives.js';
import type { PurchaseOffer as Offer } from '../../src/pbg/offers.js';
import type { GraphQLContext } from '../context.js';
import { PurchaseOfferInput } from './purchase.inputs.js';
import { PurchaseOffer } from './purchase-offer.type.js';

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
}
