import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

/**
 * A second subgraph, as another team would write it: invoices that reference this service's
 * entities (CollectBatch, GroupPurchase) by key only. Used to prove composition and
 * `_entities` through a real gateway.
 */
export const BILLING_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])

  type Invoice @key(fields: "number") {
    number: ID!
    collectBatch: CollectBatch
    groupPurchase: GroupPurchase
  }

  type CollectBatch @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type GroupPurchase @key(fields: "purchaseId", resolvable: false) {
    purchaseId: ID!
  }

  type Query {
    invoices: [Invoice!]!
  }
`;

/**
 * Invoice i references batch `batchIds[i]` and, when given, purchase `purchaseIds[i]`
 * (the longer list decides how many invoices there are).
 */
export async function startBillingSubgraph(
  batchIds: string[],
  purchaseIds: string[] = [],
): Promise<{ url: string; stop: () => Promise<void> }> {
  const count = Math.max(batchIds.length, purchaseIds.length);
  const invoices = Array.from({ length: count }, (_, i) => ({
    number: `INV-${i}`,
    collectBatch: batchIds[i] === undefined ? null : { id: batchIds[i] },
    groupPurchase: purchaseIds[i] === undefined ? null : { purchaseId: purchaseIds[i] },
  }));
  const server = new ApolloServer({
    schema: buildSubgraphSchema([
      { typeDefs: parse(BILLING_SDL), resolvers: { Query: { invoices: () => invoices } } },
    ]),
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
}
