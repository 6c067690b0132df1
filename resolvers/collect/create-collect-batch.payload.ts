import { Field, ID, ObjectType } from 'type-graphql';
import { UserError } from '../common/user-error.type.js';
import { CollectBatch } from './collect-batch.type.js';

@ObjectType()
export class CreateCollectBatchPayload {
  @Field(() => ID, {
    nullable: true,
    description:
      "Chillr's id of the batch, set whenever Chillr accepted it — even when the status read behind `batch` fails",
  })
  batchId!: string | null;

  @Field(() => CollectBatch, { nullable: true })
  batch!: CollectBatch | null;

  @Field(() => [String])
  nonChillrCustomers!: string[];

  @Field(() => [UserError])
  userErrors!: UserError[];
}
