import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, print, visit, type DocumentNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CHANGES_PAGE } from '../resolvers/live/live.resolver.js';
import { loadConfig } from '../src/config.js';
import { createOperationLimits } from '../src/http/plugin/limits/index.js';
import { startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { ROOT } from './helpers/process.js';

/**
 * The limits the README promises hold with the README's own operations: every GraphQL
 * document in README.md and docs/*.md (```graphql blocks and the `<<'GRAPHQL'` bodies of its shell examples),
 * with every page-size argument raised to its documented maximum, passes the default
 * operation limits (tokens, aliases, depth, directives, entities, cost). The paged one is also
 * served over HTTP at that maximum with a full log behind it.
 */

/** The documented maximum of each field's `first:` (README "Limits"). */
const DOCUMENTED_MAX: Record<string, number> = {
  groupPurchaseChanges: MAX_CHANGES_PAGE,
};

const DOCUMENTS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

function readmeDocuments(): Array<{ line: string; source: string }> {
  return DOCUMENTS.flatMap((file) =>
    documentsIn(readFileSync(path.join(ROOT, file), 'utf8')).map((d) => ({
      line: `${file}:${d.line}`,
      source: d.source,
    })),
  );
}

function documentsIn(markdown: string): Array<{ line: number; source: string }> {
  const lines = markdown.split('\n');
  const found: Array<{ line: number; source: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const graphqlBlock = /^\s*```graphql\s*$/.test(lines[i]!);
    // A command line ending in the heredoc (not prose quoting one); `--url` ones go to the
    // supergraph gateway (other subgraphs' types): test/supergraph.test.ts runs those.
    const heredoc = /<<'GRAPHQL'\s*$/.test(lines[i]!) && !lines[i]!.includes('`');
    if (heredoc && lines[i]!.includes('--url')) continue;
    if (!graphqlBlock && !heredoc) continue;
    const end = graphqlBlock ? /^\s*```\s*$/ : /^\s*GRAPHQL\s*$/;
    let j = i + 1;
    while (j < lines.length && !end.test(lines[j]!)) j++;
    found.push({ line: i + 1, source: lines.slice(i + 1, j).join('\n') });
    i = j;
  }
  return found;
}

/** Every `first:` raised to its field's documented maximum; a field not in the table fails. */
function atDocumentedMaximum(document: DocumentNode): DocumentNode {
  return visit(document, {
    Field(node) {
      const first = node.arguments?.find((a) => a.name.value === 'first');
      if (!first) return undefined;
      const max = DOCUMENTED_MAX[node.name.value];
      expect(
        max,
        `README pages ${node.name.value}(first:) with no documented maximum`,
      ).toBeDefined();
      return {
        ...node,
        arguments: node.arguments!.map((a) =>
          a === first ? { ...a, value: { kind: Kind.INT, value: String(max) } } : a,
        ),
      };
    },
  });
}

const FULL_CHANGE_SELECTION = `edges { cursor node { eventId cursor source changedFields
  previousStatus receivedAt purchase { purchaseId merchantId inventoryId status rawStatus name
  description linkUrl imageUrl merchantOrgEmail purchaseCost { amount currency }
  costPerPerson { amount currency } numPeople commitDeadline createdAt inventoryState
  attributes } } } pageInfo { endCursor hasNextPage }`;

describe('README operations at their documented maximum, under the default limits', () => {
  const documents = readmeDocuments();
  const schema = buildSubgraphSchema([
    { typeDefs: parse(readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8')) },
  ]);
  const config = loadConfig({ NODE_ENV: 'test' });
  const limits = createOperationLimits({ ...config.graphqlLimits, hideSuggestions: false });

  it('should find the README operations, a paged one among them', () => {
    expect(documents.length).toBeGreaterThan(10);
    expect(documents.some((d) => d.source.includes('groupPurchaseChanges(first:'))).toBe(true);
  });

  for (const { line, source } of documents) {
    it(`should pass every limit: README line ${line}`, () => {
      const raised = print(atDocumentedMaximum(parse(source)));
      const checked = limits.check(schema, raised);
      expect(checked.errors?.map((e) => e.message) ?? []).toEqual([]);
      const refused =
        'document' in checked && limits.checkVariables(schema, checked.document, undefined, {});
      expect(refused || undefined, raised).toBeUndefined();
    });
  }

  describe('served over HTTP', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ PBG_CACHE_TTL_MS: '600000' });
      const events = Array.from({ length: MAX_CHANGES_PAGE + 20 }, (_, i) => ({
        purchase_id: `README_MAX_${i}`,
        status: 'pending',
        num_people: 2,
      }));
      const pushed = await fetch(`${app.url}/pbg/change_push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH, events }),
      });
      expect(await pushed.json()).toEqual({ result: true });
    });
    afterAll(async () => {
      await app?.close();
    });

    const paged = () => documents.find((d) => d.source.includes('groupPurchaseChanges(first:'))!;

    it(`should serve the README's groupPurchaseChanges at first: ${MAX_CHANGES_PAGE}`, async () => {
      const query = print(atDocumentedMaximum(parse(paged().source)));
      const { status, json, body } = await app.raw(query);
      expect(json.errors, body.slice(0, 500)).toBeUndefined();
      expect(status).toBe(200);
      const page = (json.data as { groupPurchaseChanges: { edges: unknown[] } })
        .groupPurchaseChanges;
      expect(page.edges).toHaveLength(MAX_CHANGES_PAGE);
    });

    it(`should serve groupPurchaseChanges(first: ${MAX_CHANGES_PAGE}) with every field selected, also as a variable`, async () => {
      const literal = await app.raw(
        `{ groupPurchaseChanges(first: ${MAX_CHANGES_PAGE}) { ${FULL_CHANGE_SELECTION} } }`,
      );
      expect(literal.json.errors, literal.body.slice(0, 500)).toBeUndefined();
      const byVariable = await app.raw(
        `query($n: Int) { groupPurchaseChanges(first: $n) { ${FULL_CHANGE_SELECTION} } }`,
        { n: MAX_CHANGES_PAGE },
      );
      expect(byVariable.json.errors, byVariable.body.slice(0, 500)).toBeUndefined();
      for (const { json } of [literal, byVariable]) {
        const page = (json.data as { groupPurchaseChanges: { edges: unknown[] } })
          .groupPurchaseChanges;
        expect(page.edges).toHaveLength(MAX_CHANGES_PAGE);
      }
    });

    it('should still refuse what the cost limit is for: the same page ten times over', async () => {
      const aliases = Array.from(
        { length: 10 },
        (_, i) => `p${i}: groupPurchaseChanges(first: $n) { ${FULL_CHANGE_SELECTION} }`,
      );
      const { status, json } = await app.raw(`query($n: Int) { ${aliases.join(' ')} }`, {
        n: MAX_CHANGES_PAGE,
      });
      expect(status).toBe(400);
      const error = json.errors?.[0] as unknown as {
        message: string;
        extensions: { limit: string };
      };
      expect(error.extensions.limit).toBe('GRAPHQL_MAX_COST');
      expect(error.message).toMatch(/Query Cost limit of 5000 exceeded, found \d+/);
    });
  });
});
