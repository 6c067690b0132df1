import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GroupPurchaseDocument,
  UpsertPurchaseOfferDocument,
  type PurchaseOfferInput,
} from './generated/graphql.js';
import { recordingApps, TEST_SECRETS, type TestApp } from './helpers/app.js';

const AUTH = TEST_SECRETS.PBG_MERCHANT_AUTH;
/** 32 printable characters, like a real token, but not ours. */
const WRONG_AUTH = 'wrong-merchant-auth-Zq81Lm0Xy7Wv';
const ENDPOINTS = ['/pbg/purchase_create.json', '/pbg/inventory_status.json', '/pbg'] as const;

/** Every app this file starts, and every response body it received (checked for secrets). */
const { apps, closeAll, responseBodies, start, gql } = recordingApps();

/** POSTs to a callback path as PayByGroup does (with ?merchant_id=), JSON or raw text. */
async function callback(
  app: TestApp,
  path: string,
  body: unknown,
  options: { raw?: boolean } = {},
) {
  const response = await fetch(`${app.url}${path}?merchant_id=ABC`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: options.raw ? (body as string) : JSON.stringify(body),
  });
  const text = await response.text();
  responseBodies.push(text);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json: json as Record<string, unknown>, text };
}

const offer = (
  purchaseId: string,
  extra: Partial<PurchaseOfferInput> = {},
): PurchaseOfferInput => ({
  purchaseId,
  purchaseCost: '1250.00',
  currency: 'USD',
  imageUrl: 'https://merchant.example/img/house.png',
  name: '1600 Whitmarsh Avenue',
  description: 'Four nights for the whole group',
  linkUrl: 'https://merchant.example/stays/whitmarsh',
  merchantOrgEmail: 'groups@merchant.example',
  ...extra,
});

async function upsert(app: TestApp, input: PurchaseOfferInput): Promise<void> {
  const result = await gql(app, UpsertPurchaseOfferDocument, { input });
  expect(result.errors).toBeUndefined();
}

afterAll(async () => {
  await closeAll();
});

describe('PayByGroup callbacks', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await start();
    await upsert(app, offer('CB_TOTAL'));
    await upsert(
      app,
      offer('CB_EACH', {
        purchaseCost: null,
        costPerPerson: '45',
        currency: 'EUR',
        name: null,
        description: null,
        linkUrl: null,
        merchantOrgEmail: null,
      }),
    );
    await upsert(app, offer('CB_GONE', { inventoryState: 'UNAVAILABLE' }));
    await upsert(app, offer('CB_MAYBE', { inventoryState: 'UNKNOWN' }));
  });

  describe('purchase_create.json', () => {
    it('should answer with the offer in PayByGroup’s format (purchase_cost)', async () => {
      const answer = await callback(app, '/pbg/purchase_create.json', {
        merchant_auth: AUTH,
        purchase_id: 'CB_TOTAL',
      });
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({
        purchase_cost: '1250.00 USD',
        purchase_image_url: 'https://merchant.example/img/house.png',
        purchase_name: '1600 Whitmarsh Avenue',
        purchase_description: 'Four nights for the whole group',
        purchase_link_url: 'https://merchant.example/stays/whitmarsh',
        merchant_org_email: 'groups@merchant.example',
      });
    });

    it('should answer cost_per_person alone for a per-person offer and omit unset fields', async () => {
      const answer = await callback(app, '/pbg/purchase_create.json', {
        merchant_auth: AUTH,
        purchase_id: 'CB_EACH',
      });
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({
        cost_per_person: '45.00 EUR',
        purchase_image_url: 'https://merchant.example/img/house.png',
      });
    });
  });

  describe('inventory status', () => {
    const states = [
      ['CB_TOTAL', 'available'],
      ['CB_GONE', 'unavailable'],
      ['CB_MAYBE', 'unknown'],
    ] as const;
    for (const path of ['/pbg/inventory_status.json', '/pbg'] as const) {
      it(`should answer ${path} with {"result": available|unavailable|unknown}`, async () => {
        for (const [purchaseId, state] of states) {
          const answer = await callback(app, path, {
            merchant_auth: AUTH,
            purchase_id: purchaseId,
          });
          expect(answer.status).toBe(200);
          expect(answer.json).toEqual({ result: state });
        }
      });
    }

    it('should follow an offer’s new inventory state', async () => {
      await upsert(app, offer('CB_FLIP'));
      const before = await callback(app, '/pbg', { merchant_auth: AUTH, purchase_id: 'CB_FLIP' });
      expect(before.json).toEqual({ result: 'available' });
      await upsert(app, offer('CB_FLIP', { inventoryState: 'UNAVAILABLE' }));
      const after = await callback(app, '/pbg', { merchant_auth: AUTH, purchase_id: 'CB_FLIP' });
      expect(after.json).toEqual({ result: 'unavailable' });
    });
  });

  describe('refusals', () => {
    for (const path of ENDPOINTS) {
      it(`should refuse a wrong, missing or non-string merchant_auth on ${path} with 401 {"result": false}`, async () => {
        for (const auth of [WRONG_AUTH, undefined, 12345, AUTH.slice(0, 31), `${AUTH} `]) {
          const answer = await callback(app, path, {
            merchant_auth: auth,
            purchase_id: 'CB_TOTAL',
          });
          expect(answer.status).toBe(401);
          expect(answer.json).toEqual({ result: false });
        }
        // A wrong token learns nothing about which purchases exist.
        const unknown = await callback(app, path, {
          merchant_auth: WRONG_AUTH,
          purchase_id: 'NOPE_1',
        });
        expect(unknown.status).toBe(401);
        expect(unknown.json).toEqual({ result: false });
      });

      it(`should answer malformed JSON on ${path} with 400 naming the problem`, async () => {
        const answer = await callback(app, path, `{"merchant_auth": "${AUTH}", "purchase_id": `, {
          raw: true,
        });
        expect(answer.status).toBe(400);
        expect(answer.json.result).toBe(false);
        expect(String(answer.json.error)).toMatch(/JSON/);
        expect(answer.text).not.toContain(AUTH);
      });

      it(`should answer an unknown purchase on ${path} with 404`, async () => {
        const answer = await callback(app, path, { merchant_auth: AUTH, purchase_id: 'NOPE_1' });
        expect(answer.status).toBe(404);
        expect(answer.json.result).toBe(false);
        expect(String(answer.json.error)).toMatch(/NOPE_1/);
      });
    }

    it('should refuse a body that is not an object, as it carries no merchant_auth, with 401', async () => {
      for (const path of ['/pbg/purchase_create.json', '/pbg/inventory_status.json']) {
        const answer = await callback(app, path, [AUTH, 'CB_TOTAL']);
        expect(answer.status).toBe(401);
        expect(answer.json).toEqual({ result: false });
        expect(answer.text).not.toContain(AUTH);
      }
    });

    it('should answer an authenticated body that is not valid JSON with 400', async () => {
      const response = await fetch(`${app.url}/pbg/inventory_status.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"merchant_auth": ${JSON.stringify(AUTH)}, "purchase_id": `,
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        result: false,
        error: 'The body is not valid JSON.',
      });
    });

    it('should answer a missing purchase_id with 400 naming it', async () => {
      for (const path of ['/pbg/purchase_create.json', '/pbg/inventory_status.json']) {
        const answer = await callback(app, path, { merchant_auth: AUTH });
        expect(answer.status).toBe(400);
        expect(String(answer.json.error)).toMatch(/purchase_id/);
      }
      // POST /pbg cannot tell what a body without events or purchase_id is.
      const shared = await callback(app, '/pbg', { merchant_auth: AUTH });
      expect(shared.status).toBe(400);
      expect(String(shared.json.error)).toMatch(/purchase_id/);
    });

    it('should never log the merchant_auth a caller sent', () => {
      expect(app.logs.some((line) => line.includes('wrong merchant_auth'))).toBe(true);
      for (const token of [WRONG_AUTH, AUTH, AUTH.slice(0, 31)]) {
        expect(app.logs.filter((line) => line.includes(token))).toEqual([]);
      }
    });
  });

  describe('the simulator’s own flow', () => {
    it('should start a purchase from our purchase_create.json and show our cost', async () => {
      await upsert(app, offer('NEW_1', { name: 'Lake cabin' }));
      const before = app.sandbox.pbg!.callbacks.length;
      await app.sandbox.pbg!.startPurchase({ purchaseId: 'NEW_1', numPeople: 2 });
      const calls = app.sandbox.pbg!.callbacks.slice(before);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({
        path: '/pbg/purchase_create.json',
        body: { merchant_auth: AUTH, purchase_id: 'NEW_1' },
        status: 200,
        response: {
          purchase_cost: '1250.00 USD',
          purchase_image_url: 'https://merchant.example/img/house.png',
          purchase_name: 'Lake cabin',
        },
      });
      expect(calls[0]!.error).toBeUndefined();

      const read = await gql(app, GroupPurchaseDocument, { purchaseId: 'NEW_1' });
      expect(read.errors).toBeUndefined();
      expect(read.data!.groupPurchase).toMatchObject({
        purchaseId: 'NEW_1',
        merchantId: 'ABC',
        status: 'PENDING',
        name: 'Lake cabin',
        imageUrl: 'https://merchant.example/img/house.png',
        purchaseCost: { amount: '1250.00', currency: 'USD' },
        costPerPerson: null,
        numPeople: 2,
        inventoryState: 'AVAILABLE',
      });
    });

    it('should start a per-person purchase with our cost_per_person', async () => {
      await upsert(
        app,
        offer('NEW_2', { purchaseCost: null, costPerPerson: '45.00', name: 'Chalet spot' }),
      );
      await app.sandbox.pbg!.startPurchase({ purchaseId: 'NEW_2', numPeople: 3 });
      const read = await gql(app, GroupPurchaseDocument, { purchaseId: 'NEW_2' });
      expect(read.data!.groupPurchase).toMatchObject({
        status: 'PENDING',
        purchaseCost: null,
        costPerPerson: { amount: '45.00', currency: 'USD' },
        numPeople: 3,
        name: 'Chalet spot',
      });
    });

    it('should not start a purchase the merchant has no offer for', async () => {
      const before = app.sandbox.pbg!.callbacks.length;
      await expect(
        app.sandbox.pbg!.startPurchase({ purchaseId: 'NO_OFFER_1', numPeople: 2 }),
      ).rejects.toThrow(/404/);
      expect(app.sandbox.pbg!.callbacks.slice(before)).toEqual([
        expect.objectContaining({ path: '/pbg/purchase_create.json', status: 404 }),
      ]);
      const read = await gql(app, GroupPurchaseDocument, { purchaseId: 'NO_OFFER_1' });
      expect(read.errors).toBeUndefined();
      expect(read.data!.groupPurchase).toBeNull();
    });

    it('should answer payShare’s inventory question, and an UNAVAILABLE offer makes the purchase UNAVAILABLE', async () => {
      const pbg = app.sandbox.pbg!;
      let before = pbg.callbacks.length;
      await pbg.payShare('NEW_1');
      expect(pbg.callbacks.slice(before)).toEqual([
        expect.objectContaining({
          path: '/pbg/inventory_status.json',
          body: { merchant_auth: AUTH, purchase_id: 'NEW_1' },
          status: 200,
          response: { result: 'available' },
        }),
      ]);
      const paid = await gql(app, GroupPurchaseDocument, { purchaseId: 'NEW_1' });
      expect(paid.data!.groupPurchase).toMatchObject({ status: 'PENDING' });
      expect(paid.data!.groupPurchase!.attributes.num_paid).toBe(1);

      await upsert(app, offer('NEW_1', { name: 'Lake cabin', inventoryState: 'UNAVAILABLE' }));
      before = pbg.callbacks.length;
      await pbg.payShare('NEW_1');
      expect(pbg.callbacks.slice(before)).toEqual([
        expect.objectContaining({ status: 200, response: { result: 'unavailable' } }),
      ]);
      const gone = await gql(app, GroupPurchaseDocument, { purchaseId: 'NEW_1' });
      expect(gone.data!.groupPurchase).toMatchObject({
        status: 'UNAVAILABLE',
        rawStatus: 'unavailable',
        inventoryState: 'UNAVAILABLE',
      });
      expect(gone.data!.groupPurchase!.attributes.num_paid).toBe(1);
    });

    it('should complete a purchase once every share is paid', async () => {
      const pbg = app.sandbox.pbg!;
      await pbg.payShare('NEW_2');
      await pbg.payShare('NEW_2');
      await pbg.payShare('NEW_2');
      const read = await gql(app, GroupPurchaseDocument, { purchaseId: 'NEW_2' });
      expect(read.data!.groupPurchase).toMatchObject({ status: 'PAYMENT_COMPLETED' });
    });
  });
});

describe('PayByGroup callbacks behind PBG_ALLOWED_IPS', () => {
  it('should refuse callbacks from an address not in the list with 403', async () => {
    const app = await start({ PBG_ALLOWED_IPS: '10.9.9.9' });
    await upsert(app, offer('IP_1'));
    for (const path of ENDPOINTS) {
      const answer = await callback(app, path, { merchant_auth: AUTH, purchase_id: 'IP_1' });
      expect(answer.status).toBe(403);
      expect(answer.json.result).toBe(false);
      // Refused before the body is read: a malformed body is 403 too, not 400.
      const garbled = await callback(app, path, '{"merchant_auth": ', { raw: true });
      expect(garbled.status).toBe(403);
    }
    expect(app.logs.some((line) => line.includes('PBG_ALLOWED_IPS'))).toBe(true);
  });

  it('should accept callbacks from an address in the list', async () => {
    const app = await start({ PBG_ALLOWED_IPS: '10.9.9.9, 127.0.0.1' });
    await upsert(app, offer('IP_2', { inventoryState: 'UNKNOWN' }));
    const inventory = await callback(app, '/pbg/inventory_status.json', {
      merchant_auth: AUTH,
      purchase_id: 'IP_2',
    });
    expect(inventory.status).toBe(200);
    expect(inventory.json).toEqual({ result: 'unknown' });
    const create = await callback(app, '/pbg/purchase_create.json', {
      merchant_auth: AUTH,
      purchase_id: 'IP_2',
    });
    expect(create.status).toBe(200);
    expect(create.json.purchase_cost).toBe('1250.00 USD');
    // The allow-list does not replace the token.
    const wrong = await callback(app, '/pbg', { merchant_auth: WRONG_AUTH, purchase_id: 'IP_2' });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({ result: false });
  });
});

describe('PayByGroup callbacks and secrets', () => {
  it('should never put a configured secret in a response body or a log line', () => {
    expect(apps).toHaveLength(3);
    expect(responseBodies.length).toBeGreaterThan(40);
    for (const secret of Object.values(TEST_SECRETS)) {
      expect(responseBodies.filter((body) => body.includes(secret))).toEqual([]);
      for (const app of apps) {
        expect(app.logs.length).toBeGreaterThan(5);
        expect(app.logs.filter((line) => line.includes(secret))).toEqual([]);
      }
    }
    for (const app of apps) {
      expect(app.logs.filter((line) => line.includes(WRONG_AUTH))).toEqual([]);
    }
  });
});
