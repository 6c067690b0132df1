import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { parse } from 'graphql';
import { serveParent } from '../ipc.js';

/**
 * L, the limit of this stack: Apollo Server 5 on express 5 with the project's own subgraph SDL
 * (schema.graphql), answering from constants. Whatever the project does beyond parsing,
 * validating, executing and serialising — loaders, stores, upstream calls, logging, limits —
 * shows as the distance to L.
 *
 * The constants are the project's own answers, captured by the bench before the rounds
 * (bench/rows/fixtures.ts), so both send the same bytes for the same query. Objects are keyed
 * by id, so `collectBatch(id:)`, aliases and `_entities` resolve through real resolvers.
 */

export interface LFixtures {
  /** Path of the SDL to serve. */
  schemaFile: string;
  /** CollectBatch objects by id (every field any bench query selects). */
  batches: Record<string, Record<string, unknown>>;
  /** What `groupPurchases` answers (whatever the filter: the bench sends one). */
  purchases: Array<Record<string, unknown>>;
}

let server: import('node:http').Server | undefined;

async function listen(fixtures: LFixtures): Promise<{ url: string }> {
  const batches = new Map(Object.entries(fixtures.batches));
  const purchases = new Map(fixtures.purchases.map((p) => [String(p.purchaseId), p]));
  const schema = buildSubgraphSchema([
    {
      typeDefs: parse(readFileSync(fixtures.schemaFile, 'utf8')),
      resolvers: {
        Query: {
          collectBatch: (_: unknown, args: { id: string }) => batches.get(args.id) ?? null,
          groupPurchases: () => fixtures.purchases,
          groupPurchase: (_: unknown, args: { purchaseId: string }) =>
            purchases.get(args.purchaseId) ?? null,
        },
        CollectBatch: {
          __resolveReference: (ref: { id: string }) => batches.get(ref.id) ?? null,
        },
        GroupPurchase: {
          __resolveReference: (ref: { purchaseId: string }) =>
            purchases.get(ref.purchaseId) ?? null,
        },
      } as never,
    },
  ]);
  // Quiet at info: Apollo announces inline tracing (on, as in the project) on stdout.
  const logger = { debug() {}, info() {}, warn: console.warn, error: console.error };
  const apollo = new ApolloServer({ schema, logger });
  await apollo.start();
  const app = express();
  app.use('/graphql', express.json({ limit: '1mb' }), expressMiddleware(apollo));
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

serveParent({}, { listen }, () => {
  server?.closeAllConnections();
});
