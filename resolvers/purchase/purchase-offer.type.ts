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

@ObjectType({
  description:
    "Optional offer fields set once for every purchase; a purchase's own offer overrides each one it sets",
})
export class PurchaseOfferDefaults {
  @Field(() => String, { nullable: true, description: 'purchase_name when an offer has none' })
  name!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'purchase_description when an offer has none',
  })
  description!: string | null;

  @Field(() => String, { nullable: true, description: 'purchase_link_url when an offer has none' })
  linkUrl!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'merchant_org_email when an offer has none',
  })
  merchantOrgEmail!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'when the defaults were last set' })
  updatedAt!: string | null;
}
