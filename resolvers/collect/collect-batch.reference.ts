import type { GraphQLContext } from '../context.js';
import type { CollectBatchView } from '../../src/chillr/view.js';

/**
 * `_entities` for CollectBatch. It goes through the same per-request DataLoader as
 * `Query.collectBatch`, so a router asking for 50 representations over 5 ids causes 5
 * upstream calls, not 50.
 */
export function resolveCollectBatchReference(
  reference: { id: string },
  context: GraphQLContext,
): Promise<CollectBatchView | null> {
  return context.loaders.collectBatch.load(reference.id);
}
