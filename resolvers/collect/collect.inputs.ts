import { Field, InputType } from 'type-graphql';
import { DateScalar, DecimalScalar } from '../common/scalars.js';

@InputType({ description: 'One customer of a batch and the amount asked of them' })
export class CollectCustomerInput {
  @Field({ description: '10-digit Indian mobile number; +91, 91 or 0 in front are accepted' })
  msisdn!: string;

  @Field(() => DecimalScalar, { description: 'rupees, > 0, at most 2 decimals, as a string' })
  amount!: string;
}

@InputType({ description: 'A Chillr mass-collect batch to create' })
export class CreateCollectBatchInput {
  @Field()
  name!: string;

  @Field(() => DateScalar)
  expiryDate!: string;

  @Field(() => [CollectCustomerInput])
  customers!: CollectCustomerInput[];

  @Field(() => String, {
    nullable: true,
    description:
      'same key + same input within 24 h returns the first result without a second batch; scoped to this mutation; required when the server sets REQUIRE_IDEMPOTENCY_KEY',
  })
  idempotencyKey?: string | null;
}
