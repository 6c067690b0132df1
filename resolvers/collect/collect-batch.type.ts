import { Directive, Field, ID, ObjectType } from 'type-graphql';
import {
  AUTHENTICATED,
  cost,
  COST,
  LIST_SIZE,
  listSize,
  REQUIRES_READ,
} from '../common/directives.js';
import { PRIVATE_SCOPE } from '../common/cache-control.js';
import { CollectBatchStatus } from '../common/enums.js';
import { DateScalar } from '../common/scalars.js';
import { CollectSummary } from './collect-summary.type.js';
import { CustomerPayment } from './customer-payment.type.js';

@ObjectType({
  description: 'A Chillr mass-collect batch: bill requests sent to many numbers at once',
})
@Directive('@key(fields: "id")')
@Directive(AUTHENTICATED)
@Directive(REQUIRES_READ)
// Resolving one (a query, a payload's batch, `_entities`) is one Chillr status call.
@Directive(cost(COST.upstreamCall))
// maxAge is decided per batch by the resolvers (terminal: a day; active: 0); scope is PRIVATE.
@Directive(PRIVATE_SCOPE)
export class CollectBatch {
  @Field(() => ID)
  id!: string;

  @Field(() => String, {
    nullable: true,
    description: 'known when the batch was created through this service',
  })
  name!: string | null;

  @Field(() => DateScalar, { nullable: true })
  expiryDate!: string | null;

  @Field(() => CollectBatchStatus)
  status!: CollectBatchStatus;

  @Field(() => String, { nullable: true, description: "Chillr's own word for the status" })
  rawStatus!: string | null;

  @Field(() => [CustomerPayment])
  @Directive(listSize(LIST_SIZE.batchCustomers))
  payments!: CustomerPayment[];

  @Field(() => [String])
  @Directive(listSize(LIST_SIZE.batchCustomers))
  nonChillrCustomers!: string[];

  @Field(() => CollectSummary)
  summary!: CollectSummary;
}
