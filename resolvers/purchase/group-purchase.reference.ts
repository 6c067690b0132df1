import type { GroupPurchaseRecord } from '../../src/pbg/types.js';
import type { GraphQLContext } from '../context.js';

/**
 * `_entities` for GroupPurchase, through the same per-request DataLoader as
 * `Query.groupPurchase`: one PBG query per distinct purchase id.
 */
export function resolveGroupPurchaseReference(
  reference: { purchaseId: string },
  context: GraphQLContext,
): Promise<GroupPurchaseRecord | null> {
  return context.loaders.groupPurchase.load(reference.purchaseId);
}
