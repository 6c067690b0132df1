import { Directive, Field, ObjectType } from 'type-graphql';
import { INHERIT_MAX_AGE } from '../common/cache-control.js';
import { PaymentStatus } from '../common/enums.js';
import { Money } from '../common/money.type.js';

@ObjectType({ description: "One customer's bill-collect request in a batch" })
// Part of its batch: it changes exactly when the batch does.
@Directive(INHERIT_MAX_AGE)
export class CustomerPayment {
  @Field({ description: '10-digit mobile number' })
  msisdn!: string;

  @Field(() => Money, {
    nullable: true,
    description: 'known when the batch was created through this service',
  })
  amount!: Money | null;

  @Field(() => PaymentStatus)
  status!: PaymentStatus;

  @Field(() => String, { nullable: true, description: "Chillr's own word for the status" })
  rawStatus!: string | null;

  @Field(() => String, { nullable: true })
  transactionId!: string | null;

  @Field(() => String, { nullable: true, description: 'e.g. "Transaction not generated"' })
  message!: string | null;
}
