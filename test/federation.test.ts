import { readFile } from 'node:fs/promises';
import { composeServices } from '@apollo/composition';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateCollectBatchErrorsOnlyDocument } from './generated/graphql.js';
import { isoDateInDays, startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { BILLING_SDL, startBillingSubgraph } from './helpers/billing-subgraph.js';
import { introspectAndComposeForGateway } from './helpers/supergraph.js';

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

  it('should compose schema.graphql with a subgraph that references GroupPurchase', async () => {
    const sdl = await readFile(schemaFile, 'utf8');
    expect(BILLING_SDL).toMatch(
      /type GroupPurchase @key\(fields: "purchaseId", resolvable: false\) \{\s*purchaseId: ID!\s*\}/,
    );
    const result = composeServices([
      { name: 'payments', typeDefs: parse(sdl), url: 'http://payments' },
      { name: 'billing', typeDefs: parse(BILLING_SDL), url: 'http://billing' },
    ]);
    expect(result.errors ?? []).toEqual([]);
    const supergraph = result.supergraphSdl ?? '';
    const groupPurchase = /type GroupPurchase\s[^{]*/.exec(supergraph)?.[0] ?? '';
    expect(groupPurchase).toContain(
      '@join__type(graph: BILLING, key: "purchaseId", resolvable: false)',
    );
    expect(groupPurchase).toContain('@join__type(graph: PAYMENTS, key: "purchaseId")');
    const invoice = /type Invoice\s[^}]*\}/.exec(supergraph)?.[0] ?? '';
    expect(invoice).toContain('@join__type(graph: BILLING, key: "number")');
    expect(invoice).toContain('groupPurchase: GroupPurchase');
  });

  it('should contain every contract type and field this slice covers', async () => {
    const sdl = await readFile(schemaFile, 'utf8');
    // The public contract's names for this slice, as the contract spells them.
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
      // PayByGroup
      'scalar DateTime',
      'scalar JSONObject',
      'enum GroupPurchaseStatus',
      'enum PurchaseAction',
      'enum InventoryState',
      'type GroupPurchase @key(fields: "purchaseId")',
      'attributes: JSONObject!',
      'input GroupPurchaseFilter',
      'input PurchaseActionInput',
      'type PurchaseActionPayload',
      'type PurchaseOffer',
      'input PurchaseOfferInput',
      'groupPurchase(purchaseId: ID!): GroupPurchase',
      'groupPurchases(filter: GroupPurchaseFilter): [GroupPurchase!]!',
      'purchaseOffer(purchaseId: ID!): PurchaseOffer',
      'performPurchaseAction(input: PurchaseActionInput!): PurchaseActionPayload!',
      'upsertPurchaseOffer(input: PurchaseOfferInput!): PurchaseOffer!',
    ];
    for (const name of names) expect(sdl).toContain(name);
  });

  describe('through a real gateway', () => {
    let app: TestApp;
    let billing: Awaited<ReturnType<typeof startBillingSubgraph>>;
    let gateway: ApolloServer;
    let gatewayUrl: string;
    const ids: string[] = [];
    const PURCHASE_IDS = ['ABC_12345', 'ABC_98765', 'ABC_20006', 'NOPE_404'];

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
      // 12 invoices over 3 batches, and over 4 purchases (one PayByGroup does not know).
      billing = await startBillingSubgraph(
        Array.from({ length: 12 }, (_, i) => ids[i % 3]!),
        Array.from({ length: 12 }, (_, i) => PURCHASE_IDS[i % 4]!),
      );
      gateway = new ApolloServer({
        gateway: new ApolloGateway({
          supergraphSdl: introspectAndComposeForGateway([
            { name: 'payments', url: `${app.url}/graphql` },
            { name: 'billing', url: billing.url },
          ]),
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

    it('should resolve GroupPurchase fields for another subgraph with one query call per purchase', async () => {
      app.sandbox.pbg!.resetCalls();
      const response = await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query:
            '{ invoices { number groupPurchase { purchaseId status rawStatus commitDeadline purchaseCost { amount currency } costPerPerson { amount currency } } } }',
        }),
      });
      const text = await response.text();
      const body = JSON.parse(text) as {
        data?: {
          invoices: Array<{ number: string; groupPurchase: Record<string, unknown> | null }>;
        };
        errors?: unknown;
      };
      expect(body.errors).toBeUndefined();
      const invoices = body.data!.invoices;
      expect(invoices).toHaveLength(12);
      expect(invoices[4]).toEqual({
        number: 'INV-4',
        groupPurchase: {
          purchaseId: 'ABC_12345',
          status: 'PENDING',
          rawStatus: 'pending',
          commitDeadline: '2026-05-27T23:59:00-08:00',
          purchaseCost: { amount: '1250.00', currency: 'USD' },
          costPerPerson: null,
        },
      });
      expect(invoices[6]!.groupPurchase).toMatchObject({
        purchaseId: 'ABC_20006',
        status: 'PENDING',
        purchaseCost: null,
        costPerPerson: { amount: '45.00', currency: 'USD' },
      });
      expect(invoices[5]!.groupPurchase).toMatchObject({
        purchaseId: 'ABC_98765',
        status: 'PAYMENT_COMPLETED',
      });
      // PayByGroup does not know NOPE_404: null, not an error.
      expect(invoices[3]!.groupPurchase).toBeNull();
      expect(invoices[7]!.groupPurchase).toBeNull();
      expect(app.sandbox.pbg!.calls.query).toBe(4);
      const asked = app.sandbox.pbg!.calls.queryBodies.map(
        (b) => (b as { purchase_id?: string }).purchase_id,
      );
      expect(asked.sort()).toEqual([...PURCHASE_IDS].sort());
      for (const secret of Object.values(TEST_SECRETS)) expect(text).not.toContain(secret);
    });
  });
});
