import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { NEVER_CACHE, PRIVATE_SCOPE } from '../common/cache-control.js';
import { AUTHENTICATED, cost, COST, REQUIRES_READ } from '../common/directives.js';
import { GroupPurchaseStatus, InventoryState } from '../common/enums.js';
import { Money } from '../common/money.type.js';
import { DateTimeScalar, JSONObjectScalar } from '../common/scalars.js';

@ObjectType({ description: 'A PayByGroup group purchase: one purchase split by a group' })
@Directive('@key(fields: "purchaseId")')
@Directive(AUTHENTICATED)
@Directive(REQUIRES_READ)
// Resolving one (a query, an action's fresh read, `_entities`) is one PayByGroup query.
@Directive(cost(COST.upstreamCall))
// maxAge is decided per purchase by the resolvers (final status: a day; else 0); scope PRIVATE.
@Directive(PRIVATE_SCOPE)
export class GroupPurchase {
  @Field(() => ID)
  purchaseId!: string;

  @Field(() => String, { nullable: true })
  merchantId!: string | null;

  @Field(() => String, { nullable: true })
  inventoryId!: string | null;

  @Field(() => GroupPurchaseStatus)
  status!: GroupPurchaseStatus;

  @Field({ description: "PayByGroup's own word for the status" })
  rawStatus!: string;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String, { nullable: true })
  linkUrl!: string | null;

  @Field(() => String, { nullable: true })
  imageUrl!: string | null;

  @Field(() => String, { nullable: true })
  merchantOrgEmail!: string | null;

  @Field(() => Money, {
    nullable: true,
    description: 'null when PayByGroup sent none or sent it garbled',
  })
  purchaseCost!: Money | null;

  @Field(() => Money, { nullable: true })
  costPerPerson!: Money | null;

  @Field(() => Int, { nullable: true })
  numPeople!: number | null;

  @Field(() => DateTimeScalar, { nullable: true })
  commitDeadline!: string | null;

  @Field(() => DateTimeScalar, { nullable: true })
  createdAt!: string | null;

  @Field(() => InventoryState, {
    nullable: true,
    description: "from this service's offer catalog, which answers PBG's inventory calls",
  })
  // A read from the offer store, batched per request.
  @Directive(cost(COST.storeRead))
  // The offer catalog changes by mutation (upsertPurchaseOffer) whatever the purchase's status.
  @Directive(NEVER_CACHE)
  inventoryState?: InventoryState | null;

  @Field(() => JSONObjectScalar, { description: 'every field PBG returned, as sent' })
  attributes!: Record<string, unknown>;
}
