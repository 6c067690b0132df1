import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupPurchaseChangedDocument, UpsertPurchaseOfferDocument } from './generated/graphql.js';
import { startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { connectWs, push, subscribe, untilLive } from './helpers/ws.js';

/**
 * Pushes that carry part of a purchase (PayByGroup's own example: purchase_id, status,
 * purchase_name, …) against reconciliation sweeps that read all of it, over real HTTP and
 * WebSockets with the PayByGroup sandbox: a field a push does not carry is not observed, so
 * neither side publishes a change the other then undoes.
 */

const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;

describe('partial pushes against reconciliation every 700 ms', () => {
  let app: TestApp;
  let client: Client;

  beforeAll(async () => {
    app = await startTestApp({ PBG_RECONCILE_INTERVAL_MS: '700', PBG_CACHE_TTL_MS: '60000' });
    client = connectWs(app.url);
  });
  afterAll(async () => {
    await client?.dispose();
    await app?.close();
  });

  /** Resolves after `count` more sweeps have queried the sandbox (a positive marker). */
  const sweeps = async (count: number) => {
    const pbg = app.sandbox.pbg!;
    const before = pbg.calls.query;
    await expect
      .poll(() => pbg.calls.query, { timeout: 700 * (count + 3), interval: 50 })
      .toBeGreaterThanOrEqual(before + count);
  };
  /** A push of four fields of the purchase, as PayByGroup's document shows one. */
  const partial = async (purchaseId: string, numPeople: number) =>
    expect(
      await push(app, {
        merchant_auth: auth,
        events: [
          {
            purchase_id: purchaseId,
            status: 'pending',
            purchase_name: 'Tent',
            num_people: numPeople,
          },
        ],
      }),
    ).toEqual({ status: 200, json: { result: true } });

  it('should publish 4 then 5 people as exactly 2 changes, none empty, and keep the fields pushes lack', async () => {
    const pbg = app.sandbox.pbg!;
    const id = `PART_${randomUUID()}`;
    const offer = await app.gql(UpsertPurchaseOfferDocument, {
      input: {
        purchaseId: id,
        purchaseCost: '90.00',
        currency: 'USD',
        imageUrl: 'https://merchant.example/tent.png',
        name: 'Tent',
      },
    });
    expect(offer.errors).toBeUndefined();
    await pbg.startPurchase({ purchaseId: id, numPeople: 3 });
    const read = await app.raw(
      `{ groupPurchase(purchaseId: "${id}") { numPeople commitDeadline } }`,
    );
    const deadline = (read.json.data as { groupPurchase: { commitDeadline: string } }).groupPurchase
      .commitDeadline;
    expect(deadline).toEqual(expect.any(String));

    const live = subscribe(client, GroupPurchaseChangedDocument, { filter: { purchaseIds: [id] } });
    await untilLive(client, app);
    for (const n of [4, 5]) {
      // PayByGroup's state moves first (no push of its own), then its partial push arrives.
      await pbg.updatePurchase(id, { num_people: n }, { push: false });
      await partial(id, n);
      await partial(id, n); // a repeat of the same push
      await sweeps(2);
    }
    // The barrier: a later change; anything published before it has been delivered by then.
    await pbg.updatePurchase(id, { status: 'collected' }, { push: false });
    await push(app, {
      merchant_auth: auth,
      events: [{ purchase_id: id, status: 'collected', purchase_name: 'Tent', num_people: 5 }],
    });
    const events = (await live.waitFor(3)).map((e) => e.groupPurchaseChanged);
    expect(events.map((e) => [e.purchase.numPeople, e.changedFields])).toEqual([
      [4, ['numPeople']],
      [5, ['numPeople']],
      [5, ['status']],
    ]);
    expect(events.every((e) => e.changedFields.length > 0)).toBe(true);
    // What no push carried is still the last value read.
    expect(events.map((e) => e.purchase.commitDeadline)).toEqual([deadline, deadline, deadline]);
    await sweeps(1);
    expect(live.events).toHaveLength(3);
    const now = await app.raw(
      `{ groupPurchase(purchaseId: "${id}") { numPeople commitDeadline name } }`,
    );
    expect(now.json.data).toEqual({
      groupPurchase: { numPeople: 5, commitDeadline: deadline, name: 'Tent' },
    });
    live.stop();
  });
});
