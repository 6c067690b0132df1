import { Field, ObjectType } from 'type-graphql';
import { UserError } from '../common/user-error.type.js';
import { GroupPurchase } from './group-purchase.type.js';

@ObjectType()
export class PurchaseActionPayload {
  @Field()
  accepted!: boolean;

  @Field(() => GroupPurchase, {
    nullable: true,
    description: 'read fresh from PayByGroup after the action',
  })
  purchase!: GroupPurchase | null;

  @Field(() => [UserError])
  userErrors!: UserError[];
}
