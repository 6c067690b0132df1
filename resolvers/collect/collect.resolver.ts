import {
  Arg,
  Ctx,
  Directive,
  FieldResolver,
  ID,
  Info,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { AUTHENTICATED, cost, COST, REQUIRES_READ, REQUIRES_WRITE } from '../common/directives.js';
import { hintBatch } from '../common/cache-control.js';
import type { CreateBatchOutcome } from '../../src/chillr/service.js';
import type { CollectBatchView } from '../../src/chillr/view.js';
import { UserError } from '../common/user-error.type.js';
import type { GraphQLContext } from '../context.js';
import { CollectBatch } from './collect-batch.type.js';
import { CreateCollectBatchInput } from './collect.inputs.js';
import { CreateCollectBatchPayload } from './create-collect-batch.payload.js';

@Resolver(() => CollectBatch)
export class CollectBatchResolver {
  @Query(() => CollectBatch, {
    nullable: true,
    description: 'A Chillr batch by id; null when Chillr does not know it',
  })
  @Directive(AUTHENTICATED)
  @Directive(REQUIRES_READ)
  @Directive(cost(COST.upstreamCall))
  async collectBatch(
    @Arg('id', () => ID) id: string,
    @Ctx() context: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<CollectBatchView | null> {
    const batch = await context.loaders.collectBatch.load(id);
    hintBatch(info, batch);
    return batch;
  }

  @Mutation(() => CreateCollectBatchPayload, {
    description: 'Sends bill-collect requests to many numbers at once (one Chillr batch)',
  })
  @Directive(REQUIRES_WRITE)
  @Directive(cost(COST.moneyMutation))
  createCollectBatch(
    @Arg('input', () => CreateCollectBatchInput) input: CreateCollectBatchInput,
    @Ctx() context: GraphQLContext,
  ): Promise<CreateBatchOutcome> {
    return context.services.collect.createBatch(
      { name: input.name, expiryDate: input.expiryDate, customers: input.customers },
      input.idempotencyKey,
    );
  }
}

@Resolver(() => CreateCollectBatchPayload)
export class CreateCollectBatchPayloadResolver {
  /** Read through the loader only when asked for, so `{ userErrors }` costs no status call. */
  @FieldResolver(() => CollectBatch, { nullable: true })
  batch(
    @Root() outcome: CreateBatchOutcome,
    @Ctx() context: GraphQLContext,
  ): Promise<CollectBatchView | null> | null {
    return outcome.batchId === null ? null : context.loaders.collectBatch.load(outcome.batchId);
  }

  @FieldResolver(() => [UserError])
  userErrors(@Root() outcome: CreateBatchOutcome): CreateBatchOutcome['issues'] {
    return outcome.issues;
  }
}
