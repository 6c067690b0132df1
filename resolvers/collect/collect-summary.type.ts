import { Directive, Field, Int, ObjectType } from 'type-graphql';
import { INHERIT_MAX_AGE } from '../common/cache-control.js';
import { Money } from '../common/money.type.js';

@ObjectType({ description: "Counts and sums over a batch's payments" })
// Computed from its batch: it changes exactly when the batch does.
@Directive(INHERIT_MAX_AGE)
export class CollectSummary {
  @Field(() => Int)
  total!: number;

  @Field(() => Int)
  paid!: number;

  @Field(() => Int)
  pending!: number;

  @Field(() => Int)
  failed!: number;

  @Field(() => Int)
  expired!: number;

  @Field(() => Int)
  notGenerated!: number;

  @Field(() => Money, {
    nullable: true,
    description:
      'sum over the requests Chillr generated; null when the batch was not created through this service',
  })
  amountRequested!: Money | null;

  @Field(() => Money, { nullable: true })
  amountPaid!: Money | null;
}
