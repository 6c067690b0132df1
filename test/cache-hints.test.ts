import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import {
  BATCH_QUERY,
  createActiveBatch,
  ENTITIES_QUERY,
  post,
  TERMINAL_BATCH,
} from './helpers/response-cache.js';

/**
 * The `Cache-Control` header Apollo Server computes from the schema's `@cacheControl` hints and
 * the resolvers' dynamic ones: what routers and CDNs see. The response cache is off here, so
 * every answer is a fresh execution's.
 */
describe('Cache-Control hints', () => {
  let app: TestApp;
  let active: string;
  const IMMUTABLE = 'max-age=86400, private';

  beforeAll(async () => {
    app = await startTestApp({ RESPONSE_CACHE_ENABLED: 'false' });
    active = await createActiveBatch(app, 'hints');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('should let a terminal batch be kept for a day, privately', async () => {
    const reply = await post(app, BATCH_QUERY, { id: TERMINAL_BATCH });
    expect(reply.json.errors, reply.body).toBeUndefined();
    expect(reply.json.data).toMatchObject({ collectBatch: { status: 'EXPIRED' } });
    expect(reply.headers.get('cache-control')).toBe(IMMUTABLE);
  });

  it('should not let an active batch, an unknown one or a list be stored', async () => {
    const pending = await post(app, BATCH_QUERY, { id: active });
    expect(pending.json.data).toMatchObject({ collectBatch: { status: 'ACTIVE' } });
    expect(pending.headers.get('cache-control')).toBe('no-store');
    // Not found → null: a batch that may exist later.
    const unknown = await post(app, BATCH_QUERY, { id: 'ffffffffffffffffffffffff' });
    expect(unknown.json.data).toEqual({ collectBatch: null });
    expect(unknown.headers.get('cache-control')).toBe('no-store');
    const list = await post(app, '{ groupPurchases { purchaseId status } }');
    expect(list.json.errors, list.body).toBeUndefined();
    expect(list.headers.get('cache-control')).toBe('no-store');
  });

  it('should make the whole answer no-store when one field is active, and for a mutation', async () => {
    const mixed = await post(
      app,
      `query Mixed($a: ID!, $b: ID!) { a: collectBatch(id: $a) { status } b: collectBatch(id: $b) { status } }`,
      { a: TERMINAL_BATCH, b: active },
    );
    expect(mixed.json.data).toEqual({ a: { status: 'EXPIRED' }, b: { status: 'ACTIVE' } });
    expect(mixed.headers.get('cache-control')).toBe('no-store');
    const mutation = await post(
      app,
      `mutation { upsertPurchaseOffer(input: { purchaseId: "HINT_1", purchaseCost: "1.00", currency: "USD", imageUrl: "https://example.com/x.png" }) { purchaseId } }`,
    );
    expect(mutation.json.errors, mutation.body).toBeUndefined();
    expect(mutation.headers.get('cache-control')).toBe('no-store');
  });

  it('should make an answer with an error no-store, even beside a terminal batch', async () => {
    app.sandbox.chillr!.injectFault({
      endpoint: 'check_collect_status',
      kind: 'http500',
      times: 3,
    });
    const partial = await post(
      app,
      `query Partial($a: ID!, $b: ID!) { a: collectBatch(id: $a) { status } b: collectBatch(id: $b) { status } }`,
      { a: TERMINAL_BATCH, b: active },
    );
    expect(partial.json.data).toEqual({ a: { status: 'EXPIRED' }, b: null });
    expect(partial.json.errors).toHaveLength(1);
    expect(partial.headers.get('cache-control')).toBe('no-store');
  });

  it('should hint purchases by status: final for a day, anything else no-store', async () => {
    const query = `query P($id: ID!) { groupPurchase(purchaseId: $id) { purchaseId status numPeople purchaseCost { amount } } }`;
    for (const [id, status] of [
      ['ABC_20002', 'EXPIRED'],
      ['ABC_20003', 'CANCELLED'],
      ['ABC_20004', 'REFUNDED'],
    ] as const) {
      const final = await post(app, query, { id });
      expect(final.json.data, final.body).toMatchObject({ groupPurchase: { status } });
      expect(final.headers.get('cache-control'), id).toBe(IMMUTABLE);
    }
    for (const id of ['ABC_12345', 'ABC_98765', 'ABC_20001', 'ABC_20005']) {
      const open = await post(app, query, { id });
      expect(open.json.errors, open.body).toBeUndefined();
      expect(open.headers.get('cache-control'), id).toBe('no-store');
    }
  });

  it("should never let a purchase's inventoryState be stored: the offer catalog changes by mutation", async () => {
    const reply = await post(
      app,
      `{ groupPurchase(purchaseId: "ABC_20004") { status inventoryState } }`,
    );
    expect(reply.json.errors, reply.body).toBeUndefined();
    expect(reply.headers.get('cache-control')).toBe('no-store');
  });

  it('should hint _entities like the root fields: cacheable only when every entity is immutable', async () => {
    const terminal = await post(app, ENTITIES_QUERY, {
      r: [
        { __typename: 'CollectBatch', id: TERMINAL_BATCH },
        { __typename: 'GroupPurchase', purchaseId: 'ABC_20004' },
      ],
    });
    expect(terminal.json.errors, terminal.body).toBeUndefined();
    expect(terminal.headers.get('cache-control')).toBe(IMMUTABLE);
    for (const open of [
      { __typename: 'CollectBatch', id: active },
      { __typename: 'GroupPurchase', purchaseId: 'ABC_12345' },
    ]) {
      // The open entity first and last: `restrict`, not `replace`, whatever the order.
      for (const r of [
        [open, { __typename: 'CollectBatch', id: TERMINAL_BATCH }],
        [{ __typename: 'CollectBatch', id: TERMINAL_BATCH }, open],
      ]) {
        const reply = await post(app, ENTITIES_QUERY, { r });
        expect(reply.json.errors, reply.body).toBeUndefined();
        expect(reply.headers.get('cache-control'), JSON.stringify(r)).toBe('no-store');
      }
    }
  });

  it('should declare @cacheControl in the SDL the router reads', async () => {
    const reply = await post(app, '{ _service { sdl } }');
    const sdl = (reply.json.data!._service as { sdl: string }).sdl;
    expect(sdl).toContain('directive @cacheControl(');
    expect(sdl).toMatch(/enum CacheControlScope\s*\{\s*PUBLIC\s+PRIVATE\s*\}/);
    expect(sdl).toMatch(/type CollectBatch [^{]*@cacheControl\(scope: PRIVATE\)/);
    expect(sdl).toMatch(/inventoryState: InventoryState [^\n]*@cacheControl\(maxAge: 0\)/);
  });
});
