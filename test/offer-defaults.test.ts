import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpsertPurchaseOfferDocument } from './generated/graphql.js';
import { startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';

/**
 * Merchant-wide offer defaults over real HTTP: set once through the graph, merged field by field
 * under each purchase's own offer in the purchase_create.json answer PayByGroup receives — both
 * when this test calls it as PayByGroup does and when the PayByGroup sandbox starts a purchase.
 */

const SET = `mutation Set($input: PurchaseOfferDefaultsInput!) {
  setPurchaseOfferDefaults(input: $input) { name description linkUrl merchantOrgEmail updatedAt }
}`;

describe('purchase offer defaults', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  const upsert = async (purchaseId: string, extra: Record<string, unknown> = {}) => {
    const result = await app.gql(UpsertPurchaseOfferDocument, {
      input: {
        purchaseId,
        purchaseCost: '300.00',
        currency: 'USD',
        imageUrl: 'https://merchant.example/cabin.png',
        ...extra,
      },
    });
    expect(result.errors).toBeUndefined();
  };
  const purchaseCreate = async (purchaseId: string) => {
    const response = await fetch(`${app.url}/pbg/purchase_create.json?merchant_id=ABC`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH,
        purchase_id: purchaseId,
      }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  it('should answer null before any defaults are set', async () => {
    const none = await app.raw('{ purchaseOfferDefaults { merchantOrgEmail } }');
    expect(none.json).toEqual({ data: { purchaseOfferDefaults: null } });
  });

  it('should merge defaults set once under each offer, field by field', async () => {
    const set = await app.raw(SET, {
      input: { merchantOrgEmail: 'groups@merchant.example', description: 'Booked for the group' },
    });
    expect(set.json.errors).toBeUndefined();
    expect(set.json.data).toEqual({
      setPurchaseOfferDefaults: {
        name: null,
        description: 'Booked for the group',
        linkUrl: null,
        merchantOrgEmail: 'groups@merchant.example',
        updatedAt: expect.any(String),
      },
    });
    const read = await app.raw('{ purchaseOfferDefaults { description merchantOrgEmail } }');
    expect(read.json.data).toEqual({
      purchaseOfferDefaults: {
        description: 'Booked for the group',
        merchantOrgEmail: 'groups@merchant.example',
      },
    });

    await upsert('DEF_BARE');
    await upsert('DEF_OWN', { description: 'Our own words', name: 'Cabin' });
    expect(await purchaseCreate('DEF_BARE')).toEqual({
      status: 200,
      json: {
        purchase_cost: '300.00 USD',
        purchase_image_url: 'https://merchant.example/cabin.png',
        purchase_description: 'Booked for the group',
        merchant_org_email: 'groups@merchant.example',
      },
    });
    expect(await purchaseCreate('DEF_OWN')).toEqual({
      status: 200,
      json: {
        purchase_cost: '300.00 USD',
        purchase_image_url: 'https://merchant.example/cabin.png',
        purchase_name: 'Cabin',
        purchase_description: 'Our own words',
        merchant_org_email: 'groups@merchant.example',
      },
    });
  });

  it('should reach PayByGroup: a purchase the sandbox starts carries the default e-mail', async () => {
    const id = `DEF_${randomUUID()}`;
    await upsert(id, { description: 'Own' });
    const pbg = app.sandbox.pbg!;
    const started = (await pbg.startPurchase({ purchaseId: id })) as unknown as Record<
      string,
      unknown
    >;
    expect(started).toMatchObject({
      purchase_description: 'Own',
      merchant_org_email: 'groups@merchant.example',
    });
  });

  it('should replace every default on the next set, and refuse a bad field by name', async () => {
    const cleared = await app.raw(SET, { input: { name: 'Group stay' } });
    expect(cleared.json.errors).toBeUndefined();
    await upsert('DEF_AFTER');
    expect((await purchaseCreate('DEF_AFTER')).json).toEqual({
      purchase_cost: '300.00 USD',
      purchase_image_url: 'https://merchant.example/cabin.png',
      purchase_name: 'Group stay',
    });
    const bad = await app.raw(SET, { input: { merchantOrgEmail: 'not-an-address' } });
    expect(bad.json.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/merchantOrgEmail must be an e-mail address/),
      extensions: { code: 'BAD_USER_INPUT' },
    });
    const badLink = await app.raw(SET, { input: { linkUrl: 'ftp://x' } });
    expect(JSON.stringify(badLink.json.errors)).toMatch(
      /linkUrl must be an absolute http\(s\) URL/,
    );
    // The refused sets changed nothing.
    const read = await app.raw('{ purchaseOfferDefaults { name merchantOrgEmail } }');
    expect(read.json.data).toEqual({
      purchaseOfferDefaults: { name: 'Group stay', merchantOrgEmail: null },
    });
  });
});
