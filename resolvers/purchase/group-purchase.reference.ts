import type { GraphQLResolveInfo } from 'graphql';
import type { GroupPurchaseRecord } from '../../src/pbg/types.js';
import { hintPurchase } from '../common/cache-control.js';
import type { GraphQLContext } from '../context.js';

/**
 * `_entities` for GroupPurchase, through the same per-request DataLoader as
 * `Query.groupPurchase`: one PBG query per distinct purchase id. Each representation narrows
 * the `_entities` field's cache hint: cacheable only when every purchase in it is final.
 */
export async function resolveGroupPurchaseReference(
  reference: { purchaseId: string },
  context: GraphQLContext,
  info: GraphQLResolveInfo,
): Promise<GroupPurchaseRecord | null> {
  const purchase = await context.loaders.groupPurchase.load(reference.purchaseId);
  hintPurchase(info, purchase);
  return purchase;
}
