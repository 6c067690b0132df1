import { readFile } from 'node:fs/promises';
import { composeServices as composeApollo } from '@apollo/composition';
import { composeServices as composeGuild } from '@theguild/federation-composition';
import { federateSubgraphs } from '@wundergraph/composition';
import { buildSchema, parse, printSchema, type DocumentNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { BILLING_SDL } from './helpers/billing-subgraph.js';

/**
 * schema.graphql as generic tools and every major router's composition load it: graphql-js
 * `buildSchema` (the directive definitions are in the file), and composition with a second
 * subgraph that references CollectBatch and GroupPurchase under Apollo's, The Guild's and
 * WunderGraph Cosmo's composition — so a directive one of them reads more strictly cannot slip
 * in unnoticed (graphql-eslint's schema rules run over the same file in `npm run lint`).
 */

const schemaFile = new URL('../schema.graphql', import.meta.url);

interface Subgraph {
  name: string;
  url: string;
  typeDefs: DocumentNode;
}

async function subgraphs(): Promise<Subgraph[]> {
  const sdl = await readFile(schemaFile, 'utf8');
  return [
    { name: 'payments', url: 'http://payments.test/graphql', typeDefs: parse(sdl) },
    { name: 'billing', url: 'http://billing.test/graphql', typeDefs: parse(BILLING_SDL) },
  ];
}

/** What each composition answers: its error messages and the supergraph it printed. */
const compositions: Record<string, (s: Subgraph[]) => { errors: string[]; supergraph: string }> = {
  'Apollo (@apollo/composition)': (s) => {
    const result = composeApollo(s);
    return {
      errors: (result.errors ?? []).map((e) => e.message),
      supergraph: result.supergraphSdl ?? '',
    };
  },
  'The Guild (@theguild/federation-composition)': (s) => {
    const result = composeGuild(s);
    return 'errors' in result && result.errors
      ? { errors: result.errors.map((e) => e.message), supergraph: '' }
      : { errors: [], supergraph: result.supergraphSdl };
  },
  'WunderGraph Cosmo (@wundergraph/composition)': (s) => {
    const result = federateSubgraphs({
      subgraphs: s.map(({ name, url, typeDefs }) => ({ name, url, definitions: typeDefs })),
    });
    return result.success
      ? { errors: [], supergraph: printSchema(result.federatedGraphClientSchema) }
      : { errors: result.errors.map((e) => e.message), supergraph: '' };
  },
};

describe('schema.graphql under generic tools and every router composition', () => {
  it('should load in graphql-js buildSchema as it is, directive definitions included', async () => {
    const sdl = await readFile(schemaFile, 'utf8');
    const schema = buildSchema(sdl);
    for (const name of ['link', 'key', 'authenticated', 'requiresScopes', 'cost', 'listSize']) {
      expect(schema.getDirective(name), `@${name}`).toBeDefined();
    }
    expect(schema.getQueryType()?.getFields().groupPurchasesConnection).toBeDefined();
  });

  it("should carry the public contract's time window, list view and offer defaults", async () => {
    const schema = buildSchema(await readFile(schemaFile, 'utf8'));
    const typeOf = (type: string, field: string): string | undefined => {
      const found = schema.getType(type);
      const fields = found && 'getFields' in found ? found.getFields() : {};
      return fields[field] ? String(fields[field].type) : undefined;
    };
    const contract: Array<[string, string, string]> = [
      ['GroupPurchaseChangeFilter', 'receivedAfter', 'DateTime'],
      ['GroupPurchaseChangeFilter', 'receivedBefore', 'DateTime'],
      ['Query', 'groupPurchasesConnection', 'GroupPurchaseConnection!'],
      ['GroupPurchaseConnection', 'edges', '[GroupPurchaseEdge!]!'],
      ['GroupPurchaseConnection', 'pageInfo', 'PageInfo!'],
      ['GroupPurchaseEdge', 'cursor', 'String!'],
      ['GroupPurchaseEdge', 'node', 'GroupPurchase!'],
      ['Query', 'purchaseOfferDefaults', 'PurchaseOfferDefaults'],
      ['Mutation', 'setPurchaseOfferDefaults', 'PurchaseOfferDefaults!'],
      ['PurchaseOfferDefaults', 'name', 'String'],
      ['PurchaseOfferDefaults', 'description', 'String'],
      ['PurchaseOfferDefaults', 'linkUrl', 'String'],
      ['PurchaseOfferDefaults', 'merchantOrgEmail', 'String'],
      ['PurchaseOfferDefaults', 'updatedAt', 'DateTime'],
      ['PurchaseOfferDefaultsInput', 'merchantOrgEmail', 'String'],
    ];
    for (const [type, field, expected] of contract) {
      expect(typeOf(type, field), `${type}.${field}`).toBe(expected);
    }
    const connection = schema.getQueryType()!.getFields().groupPurchasesConnection!;
    expect(connection.args.map((a) => `${a.name}: ${String(a.type)}`)).toEqual([
      'filter: GroupPurchaseFilter',
      'first: Int',
      'after: String',
    ]);
  });

  for (const [name, compose] of Object.entries(compositions)) {
    it(`should compose with a subgraph that references CollectBatch and GroupPurchase under ${name}`, async () => {
      const { errors, supergraph } = compose(await subgraphs());
      expect(errors).toEqual([]);
      for (const field of ['invoices', 'groupPurchaseChanges', 'groupPurchasesConnection']) {
        expect(supergraph).toContain(field);
      }
    });
  }

  it('should notice what Cosmo refuses: a slicing argument with a default beside assumedSize', async () => {
    const [payments, billing] = await subgraphs();
    const sdl = (await readFile(schemaFile, 'utf8')).replace(
      /(groupPurchaseChanges\([\s\S]*?first: Int)/,
      '$1 = 50',
    );
    expect(sdl).toContain('first: Int = 50');
    const broken = { ...payments!, typeDefs: parse(sdl) };
    const cosmo = compositions['WunderGraph Cosmo (@wundergraph/composition)']!([broken, billing!]);
    expect(cosmo.errors.join('\n')).toMatch(/slicing argument "first" has a default value/);
  });
});
