import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChillrSimulator } from '../src/sandbox/chillr/index.js';
import type { PbgSimulator } from '../src/sandbox/pbg/index.js';
import {
  startTestChillr,
  startTestPbg,
  startTestApp,
  TEST_SECRETS,
  type TestApp,
} from './helpers/app.js';
import { connectWs, push, subscribe } from './helpers/ws.js';

interface LimitError {
  message: string;
  extensions: { code: string; limit: string; max: number };
}

/** `{ a0: collectBatch(id: "B0") { id } a1: … }`: one Chillr call per alias if it ran. */
function aliases(count: number): string {
  const fields = Array.from({ length: count }, (_, i) => `a${i}: collectBatch(id: "B${i}") { id }`);
  return `{ ${fields.join(' ')} }`;
}

function upstreamCalls(app: TestApp): number {
  const chillr = app.sandbox.chillr!.calls;
  const pbg = app.sandbox.pbg!.calls;
  return chillr.checkCollectStatus + chillr.collect + pbg.query + pbg.action;
}

/** The refusal naming `limit` (others may come with it: 10,000 aliases also cost too much). */
function limitErrorOf(json: { errors?: readonly unknown[] }, limit: string): LimitError {
  const errors = (json.errors ?? []) as LimitError[];
  const error = errors.find((e) => e.extensions?.limit === limit);
  expect(error, JSON.stringify(json).slice(0, 2000)).toBeDefined();
  for (const e of errors) expect(e.extensions.code).toBe('OPERATION_LIMIT_EXCEEDED');
  return error!;
}

/** Thirteen levels, through introspection types (this schema has no cycles to nest in). */
const DEEP = `{ __type(name: "Query") { fields { type { ofType { ofType { ofType { ofType {
  ofType { ofType { ofType { ofType { name } } } } } } } } } } } }`;

describe('operation limits', () => {
  let app: TestApp;
  let roomy: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
    // Enough tokens for 10,000 aliases to reach the alias limit.
    roomy = await startTestApp({ GRAPHQL_MAX_TOKENS: '500000', GRAPHQL_MAX_DEPTH: '3' });
  });
  afterAll(async () => {
    await app?.close();
    await roomy?.close();
  });

  it('should refuse 10,000 aliases by the token limit, naming it, before any upstream call', async () => {
    app.sandbox.chillr!.resetCalls();
    app.sandbox.pbg!.resetCalls();
    const { status, json, body } = await app.raw(aliases(10_000));
    expect(status, body).toBe(400);
    const error = limitErrorOf(json, 'GRAPHQL_MAX_TOKENS');
    expect(error.extensions).toMatchObject({
      code: 'OPERATION_LIMIT_EXCEEDED',
      limit: 'GRAPHQL_MAX_TOKENS',
      max: 5000,
    });
    expect(error.message).toContain('GRAPHQL_MAX_TOKENS=5000');
    expect(upstreamCalls(app)).toBe(0);
  });

  it('should refuse 10,000 aliases by the alias limit when tokens allow them, naming it and the count', async () => {
    roomy.sandbox.chillr!.resetCalls();
    const { status, json } = await roomy.raw(aliases(10_000));
    expect(status).toBe(400);
    const error = limitErrorOf(json, 'GRAPHQL_MAX_ALIASES');
    expect(error.extensions).toMatchObject({ limit: 'GRAPHQL_MAX_ALIASES', max: 30 });
    expect(error.message).toBe(
      'Operation refused before execution: Aliases limit of 30 exceeded, found 10000. The limit is GRAPHQL_MAX_ALIASES=30.',
    );
    expect(upstreamCalls(roomy)).toBe(0);
  });

  it('should serve 30 aliases and refuse 31', async () => {
    const offers = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `o${i}: purchaseOffer(purchaseId: "P${i}") { purchaseId }`).join(' ')} }`;
    const served = await app.raw(offers(30));
    expect(served.json.errors).toBeUndefined();
    const refused = await app.raw(offers(31));
    expect(limitErrorOf(refused.json, 'GRAPHQL_MAX_ALIASES').extensions.max).toBe(30);
  });

  it('should refuse a query deeper than GRAPHQL_MAX_DEPTH (default 10)', async () => {
    const { status, json } = await app.raw(DEEP);
    expect(status).toBe(400);
    const error = limitErrorOf(json, 'GRAPHQL_MAX_DEPTH');
    expect(error.extensions).toMatchObject({ limit: 'GRAPHQL_MAX_DEPTH', max: 10 });
    expect(error.message).toMatch(/Query depth limit of 10 exceeded, found 1\d\./);
  });

  it('should refuse a configured depth before any upstream call', async () => {
    roomy.sandbox.chillr!.resetCalls();
    const { json } = await roomy.raw(
      '{ collectBatch(id: "B1") { summary { amountPaid { amount } } } }',
    );
    expect(limitErrorOf(json, 'GRAPHQL_MAX_DEPTH').message).toContain('GRAPHQL_MAX_DEPTH=3');
    expect(upstreamCalls(roomy)).toBe(0);
  });

  it('should refuse an operation over GRAPHQL_MAX_COST', async () => {
    const costly = await startTestApp({ GRAPHQL_MAX_COST: '10' });
    try {
      const { json } = await costly.raw(
        '{ groupPurchases { purchaseId status rawStatus name purchaseCost { amount currency } } }',
      );
      const error = limitErrorOf(json, 'GRAPHQL_MAX_COST');
      expect(error.extensions).toMatchObject({ max: 10 });
      expect(error.message).toMatch(/Query Cost limit of 10 exceeded, found \d+/);
      expect(upstreamCalls(costly)).toBe(0);
    } finally {
      await costly.close();
    }
  });

  it("should serve a router's _entities call with GRAPHQL_MAX_ENTITIES (1,000) distinct representations", async () => {
    // The purchases arrive by change push, so their state is fresh in the store and the call
    // measures this service (limits, parsing, 2,000 entity resolutions), not 2,000 sandbox
    // round trips; how many upstream calls may be in flight is the bulkhead's business.
    const router = await startTestApp({ PBG_CACHE_TTL_MS: '600000' });
    try {
      const ids = Array.from({ length: 1000 }, (_, i) => `ENT_${i}`);
      const pushed = await push(router, {
        merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH,
        events: ids.map((id) => ({ purchase_id: id, status: 'pending', num_people: 2 })),
      });
      expect(pushed.json).toEqual({ result: true });
      router.sandbox.pbg!.resetCalls();
      const { status, json, body } = await router.raw(
        'query Entities($r: [_Any!]!) { _entities(representations: $r) { ... on GroupPurchase { purchaseId status } } }',
        { r: ids.map((purchaseId) => ({ __typename: 'GroupPurchase', purchaseId })) },
      );
      expect(json.errors, body.slice(0, 500)).toBeUndefined();
      expect(status).toBe(200);
      const entities = (json.data as { _entities: Array<{ purchaseId: string }> })._entities;
      expect(entities.map((e) => e.purchaseId)).toEqual(ids);
      expect(router.sandbox.pbg!.calls.query).toBe(0);
    } finally {
      await router.close();
    }
  });

  it('should refuse _entities with 5,000 representations, naming GRAPHQL_MAX_ENTITIES, with no upstream call', async () => {
    app.sandbox.chillr!.resetCalls();
    app.sandbox.pbg!.resetCalls();
    const representations = Array.from({ length: 5000 }, (_, i) => ({
      __typename: 'CollectBatch',
      id: `5743fcb2636869${String(i).padStart(10, '0')}`,
    }));
    const { status, json } = await app.raw(
      'query Entities($r: [_Any!]!) { _entities(representations: $r) { ... on CollectBatch { id status } } }',
      { r: representations },
    );
    expect(status).toBe(400);
    const error = limitErrorOf(json, 'GRAPHQL_MAX_ENTITIES');
    expect(error.extensions).toMatchObject({ limit: 'GRAPHQL_MAX_ENTITIES', max: 1000 });
    expect(error.message).toBe(
      'Operation refused before execution: _entities asked for 5000 representations. The limit is GRAPHQL_MAX_ENTITIES=1000.',
    );
    // Split over two aliased fields, inline, and over graphql-ws: the same sum, the same refusal.
    const split = await app.raw(
      `query($a: [_Any!]!) { a: _entities(representations: $a) { __typename }
        ... on Query { b: _entities(representations: [${'{ __typename: "CollectBatch", id: "X" } '.repeat(2)}]) { __typename } } }`,
      { a: representations.slice(0, 999) },
    );
    expect(limitErrorOf(split.json, 'GRAPHQL_MAX_ENTITIES').message).toContain('asked for 1001');
    const client: Client = connectWs(app.url);
    try {
      const overWs = subscribe(
        client,
        'query Entities($r: [_Any!]!) { _entities(representations: $r) { __typename } }',
        { r: representations },
      );
      await overWs.done;
      expect(JSON.stringify(overWs.errors)).toContain('GRAPHQL_MAX_ENTITIES=1000');
    } finally {
      await client.dispose();
    }
    expect(upstreamCalls(app)).toBe(0);
  });

  it('should apply the same limits to operations over graphql-ws', async () => {
    const client: Client = connectWs(roomy.url);
    try {
      roomy.sandbox.chillr!.resetCalls();
      const live = subscribe(
        client,
        'subscription { collectBatchUpdated(id: "B1") { summary { amountPaid { amount } } } }',
      );
      await live.done;
      expect(JSON.stringify(live.errors)).toContain('GRAPHQL_MAX_DEPTH=3');
      const aliased = subscribe(client, aliases(100));
      await aliased.done;
      expect(JSON.stringify(aliased.errors)).toContain('GRAPHQL_MAX_ALIASES=30');
      expect(upstreamCalls(roomy)).toBe(0);
    } finally {
      await client.dispose();
    }
  });
});

describe('field suggestions', () => {
  const PROBES = [
    '{ collectBach(id: "1") { id } }',
    '{ collectBatch(ids: "1") { id } }',
    '{ groupPurchases(filter: { status: [PENDIN] }) { purchaseId } }',
    '{ collectBatch(id: "1") { stauts } }',
  ];
  const VARIABLE_PROBE = {
    query:
      'query Q($s: [GroupPurchaseStatus!]) { groupPurchases(filter: { status: $s }) { purchaseId } }',
    variables: { s: ['PENDIN'] },
  };

  it('should suggest outside production (so the production check below means something)', async () => {
    const dev = await startTestApp();
    try {
      const { body } = await dev.raw(PROBES[0]!);
      expect(body).toContain('Did you mean');
    } finally {
      await dev.close();
    }
  });

  describe('in production', () => {
    let chillr: ChillrSimulator;
    let pbg: PbgSimulator;
    let prod: TestApp;
    beforeAll(async () => {
      chillr = await startTestChillr();
      pbg = await startTestPbg();
      prod = await startTestApp({
        NODE_ENV: 'production',
        CHILLR_BASE_URL: chillr.url,
        PBG_BASE_URL: pbg.url,
        PBG_MERCHANT_ID: 'ABC',
        // The network guarantees router-only access in this test (see ROUTER_SECRET).
        ALLOW_UNAUTHENTICATED_ROUTER: 'true',
        SUBSCRIPTION_CALLBACK_ENABLED: 'false',
      });
    });
    afterAll(async () => {
      await prod?.close();
      await chillr?.close();
      await pbg?.close();
    });

    it('should answer no "Did you mean" over HTTP', async () => {
      for (const probe of PROBES) {
        const { body, json } = await prod.raw(probe);
        expect(json.errors?.length, body).toBeGreaterThan(0);
        expect(body).not.toMatch(/did you mean/i);
      }
      const { body, json } = await prod.raw(VARIABLE_PROBE.query, VARIABLE_PROBE.variables);
      expect(json.errors?.length, body).toBeGreaterThan(0);
      expect(body).not.toMatch(/did you mean/i);
    });

    it('should answer no "Did you mean" over graphql-ws', async () => {
      const client = connectWs(prod.url);
      try {
        const probes = [
          'subscription { collectBatchUpdatd(id: "1") { id } }',
          'subscription { groupPurchaseChanged(filter: { statuses: [PENDIN] }) { eventId } }',
          ...PROBES,
        ];
        for (const probe of probes) {
          const live = subscribe(client, probe);
          await live.done;
          expect(live.errors.length, probe).toBeGreaterThan(0);
          expect(JSON.stringify(live.errors)).not.toMatch(/did you mean/i);
        }
        const live = subscribe(
          client,
          'subscription S($s: [GroupPurchaseStatus!]) { groupPurchaseChanged(filter: { statuses: $s }) { eventId } }',
          { s: ['PENDIN'] },
        );
        await live.done;
        expect(live.errors.length).toBeGreaterThan(0);
        expect(JSON.stringify(live.errors)).not.toMatch(/did you mean/i);
      } finally {
        await client.dispose();
      }
    });
  });
});
