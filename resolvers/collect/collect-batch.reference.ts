import type { GraphQLResolveInfo } from 'graphql';
import type { CollectBatchView } from '../../src/chillr/view.js';
import { hintBatch } from '../common/cache-control.js';
import type { GraphQLContext } from '../context.js';

/**
 * `_entities` for CollectBatch. It goes through the same per-request DataLoader as
 * `Query.collectBatch`, so a router asking for 50 representations over 5 ids causes 5
 * upstream calls, not 50. Each representation narrows the `_entities` field's cache hint: the
 * answer is cacheable only when every batch in it is terminal.
 */
export async function resolveCollectBatchReference(
  reference: { id: string },
  context: GraphQLContext,
  info: GraphQLResolveInfo,
): Promise<CollectBatchView | null> {
  const batch = await context.loaders.collectBatch.load(reference.id);
  hintBatch(info, batch);
  return batch;
}
