import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpsertPurchaseOfferDocument } from './generated/graphql.js';
import { startTestApp, type TestApp } from './helpers/app.js';

/**
 * groupPurchasesConnection over real HTTP against the PayByGroup sandbox: pages of `first`
 * through every purchase the plain groupPurchases list holds, each exactly once.
 */

const PAGE = `query Page($first: Int, $after: String, $filter: GroupPurchaseFilter) {
  groupPurchasesConnection(filter: $filter, first: $first, after: $after) {
    edges { cursor node { purchaseId createdAt } }
    pageInfo { endCursor hasNextPage }
  }
}`;

interface Page {
  edges: Array<{ cursor: string; node: { purchaseId: string; createdAt: string | null } }>;
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

describe('groupPurchasesConnection', () => {
  let app: TestApp;

  beforeAll(async () => {
    // Every page reads PayByGroup afresh: a purchase started between pages is seen.
    app = await startTestApp({ PBG_CACHE_TTL_MS: '0' });
  });
  afterAll(async () => {
    await app?.close();
  });

  const page = async (variables: Record<string, unknown>): Promise<Page> => {
    const result = await app.raw(PAGE, variables);
    expect(result.json.errors).toBeUndefined();
    return (result.json.data as { groupPurchasesConnection: Page }).groupPurchasesConnection;
  };
  const start = async (purchaseId: string) => {
    const offer = await app.gql(UpsertPurchaseOfferDocument, {
      input: {
        purchaseId,
        purchaseCost: '40.00',
        currency: 'USD',
        imageUrl: 'https://merchant.example/p.png',
      },
    });
    expect(offer.errors).toBeUndefined();
    await app.sandbox.pbg!.startPurchase({ purchaseId });
  };

  it('should page with first: 2 through every purchase once, also when one starts meanwhile', async () => {
    for (let i = 0; i < 3; i++) await start(`CONN_${i}_${randomUUID()}`);
    const list = await app.raw('{ groupPurchases { purchaseId } }');
    const all = (list.json.data as { groupPurchases: Array<{ purchaseId: string }> }).groupPurchases
      .map((p) => p.purchaseId)
      .sort();
    expect(all.length).toBeGreaterThanOrEqual(5);

    const seen: string[] = [];
    const sizes: number[] = [];
    const dated: Array<{ createdAt: number }> = [];
    let after: string | undefined;
    let late: string | undefined;
    for (let n = 0; n < 1000; n++) {
      const { edges, pageInfo } = await page({ first: 2, after });
      sizes.push(edges.length);
      seen.push(...edges.map((e) => e.node.purchaseId));
      for (const e of edges) {
        if (e.node.createdAt) dated.push({ createdAt: Date.parse(e.node.createdAt) });
      }
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? after ?? null);
      if (n === 0) {
        // Started between pages: listed once or not at all (PayByGroup dates to the minute, so
        // where it sorts depends on its id), never a reason to skip or repeat another one.
        late = `CONN_LATE_${randomUUID()}`;
        await start(late);
      }
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor!;
    }
    expect(sizes.slice(0, -1).every((size) => size === 2)).toBe(true);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].filter((id) => id !== late).sort()).toEqual(all);
    const times = dated.map((d) => d.createdAt);
    expect(times).toEqual([...times].sort((x, y) => y - x));
  });

  it('should refuse a page beyond its limit and a cursor it never gave, naming each', async () => {
    const big = await app.raw(PAGE, { first: 201 });
    expect(big.json.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/first must be from 1 to 200 \(MAX_PURCHASES_PAGE\)/),
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const zero = await app.raw(PAGE, { first: 0 });
    expect(zero.json.errors?.[0]?.message).toMatch(/MAX_PURCHASES_PAGE/);
    const garbled = await app.raw(PAGE, { after: 'not-a-cursor' });
    expect(garbled.json.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/not a groupPurchasesConnection cursor/),
      extensions: { code: 'BAD_USER_INPUT', reason: 'CURSOR_MALFORMED' },
    });
  });
});
