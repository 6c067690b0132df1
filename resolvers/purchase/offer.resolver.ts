import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { PurchaseOffer as Offer } from '../../src/pbg/offers.js';
import type { GraphQLContext } from '../context.js';
import { PurchaseOfferInput } from './purchase.inputs.js';
import { PurchaseOffer } from './purchase-offer.type.js';

@Resolver(() => PurchaseOffer)
export class PurchaseOfferResolver {
  @Query(() => PurchaseOffer, { nullable: true })
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
  upsertPurchaseOffer(
    @Arg('input', () => PurchaseOfferInput) input: PurchaseOfferInput,
    @Ctx() context: GraphQLContext,
  ): Promise<Offer> {
    return context.services.offers.upsert(input);
  }
}
