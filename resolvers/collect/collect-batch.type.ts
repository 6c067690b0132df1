import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { CollectBatchStatus } from '../common/enums.js';
import { DateScalar } from '../common/scalars.js';
import { CollectSummary } from './collect-summary.type.js';
import { CustomerPayment } from './customer-payment.type.js';

@ObjectType({
  description: 'A Chillr mass-collect batch: bill requests sent to many numbers at once',
})
@Directive('@key(fields: "id")')
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
  payments!: CustomerPayment[];

  @Field(() => [String])
  nonChillrCustomers!: string[];

  @Field(() => CollectSummary)
  summary!: CollectSummary;
}
