import { Field, ObjectType } from 'type-graphql';
import { UserError } from '../common/user-error.type.js';
import { CollectBatch } from './collect-batch.type.js';

@ObjectType()
export class CreateCollectBatchPayload {
  @Field(() => CollectBatch, { nullable: true })
  batch!: CollectBatch | null;

  @Field(() => [String])
  nonChillrCustomers!: string[];

  @Field(() => [UserError])
  userErrors!: UserError[];
}
