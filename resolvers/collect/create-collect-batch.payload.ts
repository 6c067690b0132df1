import { Directive, Field, ID, ObjectType } from 'type-graphql';
import { cost, COST, LIST_SIZE, listSize } from '../common/directives.js';
import { UserError } from '../common/user-error.type.js';
import { CollectBatch } from './collect-batch.type.js';

@ObjectType({
  description: 'What createCollectBatch did: the batch Chillr accepted, or why it did not',
})
export class CreateCollectBatchPayload {
  @Field(() => ID, {
    nullable: true,
    description:
      "Chillr's id of the batch, set whenever Chillr accepted it — even when the status read behind `batch` fails",
  })
  batchId!: string | null;

  @Field(() => CollectBatch, { nullable: true })
  // Read on demand through the request's loader: one Chillr status call.
  @Directive(cost(COST.upstreamCall))
  batch!: CollectBatch | null;

  @Field(() => [String])
  @Directive(listSize(LIST_SIZE.batchCustomers))
  nonChillrCustomers!: string[];

  @Field(() => [UserError])
  @Directive(listSize(LIST_SIZE.userErrors))
  userErrors!: UserError[];
}
