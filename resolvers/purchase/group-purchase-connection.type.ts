import { Field, ObjectType } from 'type-graphql';
import { PageInfo } from '../live/group-purchase-change.type.js';
import { GroupPurchase } from './group-purchase.type.js';

@ObjectType({ description: 'One purchase of a groupPurchasesConnection page' })
export class GroupPurchaseEdge {
  @Field(() => String, { description: 'pass it as `after` to continue after this purchase' })
  cursor!: string;

  @Field(() => GroupPurchase)
  node!: GroupPurchase;
}

@ObjectType({
  description: 'A page of purchases, newest createdAt first (undated last), then by purchaseId',
})
export class GroupPurchaseConnection {
  @Field(() => [GroupPurchaseEdge])
  edges!: GroupPurchaseEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
