import { Field, ID, ObjectType } from 'type-graphql';
import { InventoryState } from '../common/enums.js';
import { Money } from '../common/money.type.js';
import { DateTimeScalar } from '../common/scalars.js';

@ObjectType({
  description:
    'What this merchant answers when PBG asks about a purchase (purchase_create, inventory)',
})
export class PurchaseOffer {
  @Field(() => ID)
  purchaseId!: string;

  @Field(() => Money, { nullable: true })
  purchaseCost!: Money | null;

  @Field(() => Money, { nullable: true })
  costPerPerson!: Money | null;

  @Field()
  imageUrl!: string;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String, { nullable: true })
  linkUrl!: string | null;

  @Field(() => String, { nullable: true })
  merchantOrgEmail!: string | null;

  @Field(() => InventoryState)
  inventoryState!: InventoryState;

  @Field(() => DateTimeScalar)
  updatedAt!: string;
}
