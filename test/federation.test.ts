import { readFile } from 'node:fs/promises';
import { composeServices } from '@apollo/composition';
import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateCollectBatchErrorsOnlyDocument } from './generated/graphql.js';
import { isoDateInDays, startTestApp, type TestApp } from './helpers/app.js';
import { BILLING_SDL, startBillingSubgraph } from './helpers/billing-subgraph.js';

const schemaFile = new URL('../schema.graphql', import.meta.url);

describe('federation', () => {
  it('should compose schema.graphql with a subgraph that references CollectBatch', async () => {
    const sdl = await readFile(schemaFile, 'utf8');
    const result = composeServices([
      { name: 'payments', typeDefs: parse(sdl), url: 'http://payments' },
      { name: 'billing', typeDefs: parse(BILLING_SDL), url: 'http://billing' },
    ]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.supergraphSdl).toContain('type CollectBatch');
  });

  it('should contain every contract type and field this slice covers', async () => {
    const sdl = await readFile(schemaFile, 'utf8');
    const contract = await readFile(
      new URL('../../shared/schema-contract.graphql', import.meta.url),
      'utf8',
    ).catch(() => null);
    // The contract lives beside the repo (shared/); on a machine without it, the names
    // below are the contract's own for this slice.
    const names = [
      'scalar Date',
      'scalar Decimal',
      'type Money @shareable',
      'type UserError',
      'enum UserErrorCode',
      'enum CollectBatchStatus',
      'enum PaymentStatus',
      'type CollectBatch @key(fields: "id")',
      'type CustomerPayment',
      'type CollectSummary',
      'input CollectCustomerInput',
      'input CreateCollectBatchInput',
      'type CreateCollectBatchPayload',
      'collectBatch(id: ID!): CollectBatch',
      'createCollectBatch(input: CreateCollectBatchInput!): CreateCollectBatchPayload!',
    ];
    for (const name of names) {
      if (contract !== null) expect(contract).toContain(name);
      expect(sdl).toContain(name);
    }
  });

  describe('through a real gateway', () => {
    let app: TestApp;
    let billing: Awaited<ReturnType<typeof startBillingSubgraph>>;
    let gateway: ApolloServer;
    let gatewayUrl: string;
    const ids: string[] = [];

    beforeAll(async () => {
      app = await startTestApp();
      for (let i = 0; i < 3; i++) {
        const created = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
          input: {
            name: `Invoice batch ${i}`,
            expiryDate: isoDateInDays(5),
            customers: [{ msisdn: '9447741462', amount: `${10 + i}` }],
          },
        });
        ids.push(created.data!.createCollectBatch.batch!.id);
      }
      // 12 invoices over 3 batches.
      billing = await startBillingSubgraph(Array.from({ length: 12 }, (_, i) => ids[i % 3]!));
      gateway = new ApolloServer({
        gateway: new ApolloGateway({
          supergraphSdl: new IntrospectAndCompose({
            subgraphs: [
              { name: 'payments', url: `${app.url}/graphql` },
              { name: 'billing', url: billing.url },
            ],
          }),
        }),
      });
      gatewayUrl = (
        await startStandaloneServer(gateway, { listen: { port: 0, host: '127.0.0.1' } })
      ).url;
    });
    afterAll(async () => {
      await gateway?.stop();
      await billing?.stop();
      await app?.close();
    });

    it('should resolve CollectBatch entities for another subgraph with one status call per batch', async () => {
      app.sandbox.chillr!.resetCalls();
      const response = await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query:
            '{ invoices { number collectBatch { id name status summary { amountRequested { amount currency } } } } }',
        }),
      });
      const body = (await response.json()) as {
        data?: {
          invoices: Array<{
            number: string;
            collectBatch: { id: string; name: string; status: string; summary: unknown };
          }>;
        };
        errors?: unknown;
      };
      expect(body.errors).toBeUndefined();
      expect(body.data!.invoices).toHaveLength(12);
      expect(body.data!.invoices[4]!.collectBatch).toEqual({
        id: ids[1],
        name: 'Invoice batch 1',
        status: 'ACTIVE',
        summary: { amountRequested: { amount: '11.00', currency: 'INR' } },
      });
      expect(app.sandbox.chillr!.calls.checkCollectStatus).toBe(3);
    });
  });
});
