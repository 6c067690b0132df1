import { Directive, Field, ID, InputType, ObjectType } from 'type-graphql';
import { cost, COST, LIST_SIZE, listSize } from '../common/directives.js';
import { GroupPurchaseChangeSource, GroupPurchaseStatus } from '../common/enums.js';
import { DateTimeScalar } from '../common/scalars.js';
import { GroupPurchase } from '../purchase/group-purchase.type.js';

@ObjectType({ description: 'One change of a purchase, as kept in the change log' })
export class GroupPurchaseChange {
  @Field(() => ID, {
    description: 'stable for the same change (it is the cursor), so a client can drop repeats',
  })
  eventId!: string;

  @Field(() => String, {
    description:
      'orders this change after every earlier one; resume a subscription or a page after it',
  })
  cursor!: string;

  @Field(() => GroupPurchaseChangeSource)
  source!: GroupPurchaseChangeSource;

  @Field(() => GroupPurchase, { description: 'the purchase as observed' })
  // Served from the change log, not read from PayByGroup.
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

  @Field(() => DateTimeScalar, {
    nullable: true,
    description:
      'received at or after this instant (inclusive): with statuses, the purchases that reached a status in a time window. Received = when this service learned of the change (push, action or reconciliation)',
  })
  receivedAfter?: string | null;

  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'received before this instant (exclusive)',
  })
  receivedBefore?: string | null;
}

@ObjectType({ description: 'One change of a groupPurchaseChanges page' })
export class GroupPurchaseChangeEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => GroupPurchaseChange)
  node!: GroupPurchaseChange;
}

@ObjectType({ description: 'Where a page stopped, and whether more follows' })
export class PageInfo {
  @Field(() => String, {
    nullable: true,
    description: 'where this page stopped reading the log; pass it as `after` for the next page',
  })
  endCursor!: string | null;

  @Field(() => Boolean)
  hasNextPage!: boolean;
}

@ObjectType({ description: 'A page of the purchase change log, oldest first' })
export class GroupPurchaseChangeConnection {
  @Field(() => [GroupPurchaseChangeEdge])
  edges!: GroupPurchaseChangeEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
