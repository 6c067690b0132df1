import { Directive, Field, ID, InputType, ObjectType } from 'type-graphql';
import { cost, COST, LIST_SIZE, listSize } from '../common/directives.js';
import { GroupPurchaseStatus } from '../common/enums.js';
import { DateTimeScalar } from '../common/scalars.js';
import { GroupPurchase } from '../purchase/group-purchase.type.js';

@ObjectType({ description: 'One change PayByGroup pushed for a purchase' })
export class GroupPurchaseChange {
  @Field(() => ID, { description: 'stable for the same event, so a client can drop repeats' })
  eventId!: string;

  @Field(() => GroupPurchase, { description: 'the purchase as pushed' })
  // Served from the pushed event, not read from PayByGroup.
  @Directive(cost(COST.inMemory))
  purchase!: GroupPurchase;

  @Directive(listSize(LIST_SIZE.changedFields))
  @Field(() => [String], {
    description: 'which of status, commitDeadline, numPeople changed since the last known state',
  })
  changedFields!: string[];

  @Field(() => GroupPurchaseStatus, { nullable: true })
  previousStatus!: GroupPurchaseStatus | null;

  @Field(() => DateTimeScalar)
  receivedAt!: string;
}

@InputType({ description: 'All given constraints must hold' })
export class GroupPurchaseChangeFilter {
  @Field(() => [ID], { nullable: true })
  purchaseIds?: string[] | null;

  @Field(() => String, { nullable: true })
  merchantId?: string | null;

  @Field(() => [GroupPurchaseStatus], {
    nullable: true,
    description: 'the new status is one of these',
  })
  statuses?: GroupPurchaseStatus[] | null;
}
