import { Field, ID, InputType } from 'type-graphql';
import { GroupPurchaseStatus, InventoryState, PurchaseAction } from '../common/enums.js';
import { DateScalar, DecimalScalar } from '../common/scalars.js';

@InputType({ description: 'All given constraints must hold' })
export class GroupPurchaseFilter {
  @Field(() => String, { nullable: true, description: "defaults to this service's merchant" })
  merchantId?: string | null;

  @Field(() => String, { nullable: true })
  inventoryId?: string | null;

  @Field(() => ID, { nullable: true })
  purchaseId?: string | null;

  @Field(() => DateScalar, { nullable: true, description: 'created on or after (inclusive)' })
  createdAfter?: string | null;

  @Field(() => DateScalar, { nullable: true, description: 'created before (exclusive)' })
  createdBefore?: string | null;

  @Field(() => [GroupPurchaseStatus], { nullable: true, description: 'any of these' })
  status?: GroupPurchaseStatus[] | null;
}

@InputType({ description: 'An action on one group purchase' })
export class PurchaseActionInput {
  @Field(() => ID)
  purchaseId!: string;

  @Field(() => PurchaseAction)
  action!: PurchaseAction;

  @Field(() => String, {
    nullable: true,
    description:
      'same key + same input within 24 h returns the first result without acting again; scoped to this mutation; required when the server sets REQUIRE_IDEMPOTENCY_KEY',
  })
  idempotencyKey?: string | null;
}

@InputType({
  description: 'The offer PayByGroup is told about when a group purchase with this id starts',
})
export class PurchaseOfferInput {
  @Field(() => ID)
  purchaseId!: string;

  @Field(() => DecimalScalar, {
    nullable: true,
    description: 'exactly one of purchaseCost and costPerPerson',
  })
  purchaseCost?: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  costPerPerson?: string | null;

  @Field({ description: 'ISO-4217, e.g. USD' })
  currency!: string;

  @Field()
  imageUrl!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true })
  linkUrl?: string | null;

  @Field(() => String, { nullable: true })
  merchantOrgEmail?: string | null;

  @Field(() => InventoryState, {
    nullable: true,
    description: 'AVAILABLE for a new offer when omitted',
  })
  inventoryState?: InventoryState | null;
}

@InputType({
  description:
    'Replaces every default: a field left out (or null) has no default afterwards. Checked like the same fields of PurchaseOfferInput',
})
export class PurchaseOfferDefaultsInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true, description: 'an absolute http(s) URL' })
  linkUrl?: string | null;

  @Field(() => String, { nullable: true })
  merchantOrgEmail?: string | null;
}
