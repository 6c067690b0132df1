import { Directive, Field, ObjectType } from 'type-graphql';
import { cost, COST, LIST_SIZE, listSize } from '../common/directives.js';
import { UserError } from '../common/user-error.type.js';
import { GroupPurchase } from './group-purchase.type.js';

@ObjectType({
  description:
    'What performPurchaseAction did: whether PayByGroup accepted it, and the purchase after it',
})
export class PurchaseActionPayload {
  @Field()
  accepted!: boolean;

  @Field(() => GroupPurchase, {
    nullable: true,
    description: 'read fresh from PayByGroup after the action',
  })
  // Read fresh from PayByGroup after the action: one upstream call.
  @Directive(cost(COST.upstreamCall))
  purchase!: GroupPurchase | null;

  @Field(() => [UserError])
  @Directive(listSize(LIST_SIZE.userErrors))
  userErrors!: UserError[];
}
