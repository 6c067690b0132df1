import { createClient, type Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  CollectBatchUpdatedDocument,
  CreateCollectBatchErrorsOnlyDocument,
  GroupPurchaseChangedDocument,
  PerformPurchaseActionLiveDocument,
  UpsertPurchaseOfferDocument,
  type GroupPurchaseChangedSubscription,
} from './generated/graphql.js';
import { isoDateInDays, startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { subscribe, untilLive, type Live } from './helpers/ws.js';

describe('live status', () => {
  let app: TestApp;
  let client: Client;
  const push = (body: unknown, raw = false) =>
    fetch(`${app.url}/pbg/change_push?merchant_id=ABC`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw ? (body as string) : JSON.stringify(body),
    });
  const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;

  beforeAll(async () => {
    app = await startTestApp({ CHILLR_POLL_INTERVAL_MS: '100' });
    client = createClient({
      url: `${app.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      lazy: false,
    });
  });
  afterAll(async () => {
    await client?.dispose();
    await app?.close();
  });

  describe('groupPurchaseChanged', () => {
    let live: Live<GroupPurchaseChangedSubscription> | undefined;
    afterEach(() => live?.stop());

    it('should deliver exactly the matching events of a push with changedFields and previousStatus', async () => {
      live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: ['LIVE_1', 'LIVE_2'], statuses: ['COLLECTED', 'REFUNDED'] },
      });
      await untilLive(client, app);
      const first = await push({
        merchant_auth: auth,
        events: [
          {
            purchase_id: 'LIVE_1',
            merchant_id: 'ABC',
            status: 'payment_completed',
            num_people: 4,
            commit_deadline: '2026-05-27 23:59 PST',
          },
          { purchase_id: 'LIVE_2', merchant_id: 'ABC', status: 'collected', num_people: 2 },
          { purchase_id: 'LIVE_3', merchant_id: 'ABC', status: 'collected' },
        ],
      });
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ result: true });
      const second = await push({
        merchant_auth: auth,
        events: [
          {
            purchase_id: 'LIVE_1',
            merchant_id: 'ABC',
            status: 'collected',
            num_people: 4,
            commit_deadline: '2026-05-28 23:59 PST',
            purchase_cost: '1250.00 USD',
          },
        ],
      });
      expect(await second.json()).toEqual({ result: true });

      const [a, b] = await live.waitFor(2);
      expect(a!.groupPurchaseChanged).toMatchObject({
        changedFields: ['status', 'numPeople'],
        previousStatus: null,
        purchase: {
          purchaseId: 'LIVE_2',
          status: 'COLLECTED',
          rawStatus: 'collected',
          numPeople: 2,
        },
      });
      expect(b!.groupPurchaseChanged).toMatchObject({
        changedFields: ['status', 'commitDeadline'],
        previousStatus: 'PAYMENT_COMPLETED',
        purchase: {
          purchaseId: 'LIVE_1',
          status: 'COLLECTED',
          commitDeadline: '2026-05-28T23:59:00-08:00',
          purchaseCost: { amount: '1250.00', currency: 'USD' },
          attributes: expect.objectContaining({ purchase_cost: '1250.00 USD' }),
        },
      });
      // One change, one id: the eventId is the change's cursor, and cursors order the log.
      expect(b!.groupPurchaseChanged.eventId).toBe(b!.groupPurchaseChanged.cursor);
      expect(Number(b!.groupPurchaseChanged.cursor)).toBeGreaterThan(
        Number(a!.groupPurchaseChanged.cursor),
      );
      expect(b!.groupPurchaseChanged.source).toBe('PUSH');
      expect(live.events).toHaveLength(2);
    });

    it('should deliver the same push once however often it arrives', async () => {
      live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: ['DUP_1'] },
      });
      await untilLive(client, app);
      const body = {
        merchant_auth: auth,
        events: [{ purchase_id: 'DUP_1', status: 'pending', num_people: 3 }],
      };
      for (let i = 0; i < 3; i++) expect(await (await push(body)).json()).toEqual({ result: true });
      // Same content, keys in another order: still the same event.
      expect(
        await (
          await push({
            events: [{ num_people: 3, status: 'pending', purchase_id: 'DUP_1' }],
            merchant_auth: auth,
          })
        ).json(),
      ).toEqual({ result: true });
      // A different event is the barrier: once it arrives, a repeat would have arrived before it.
      await push({
        merchant_auth: auth,
        events: [{ purchase_id: 'DUP_1', status: 'cancelled', num_people: 3 }],
      });
      const events = await live.waitFor(2);
      expect(events.map((e) => e.groupPurchaseChanged.purchase.status)).toEqual([
        'PENDING',
        'CANCELLED',
      ]);
      expect(events[1]!.groupPurchaseChanged).toMatchObject({
        previousStatus: 'PENDING',
        changedFields: ['status'],
      });
    });

    it('should refuse bad pushes with a 4xx and publish nothing', async () => {
      live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: ['BAD_1', 'BARRIER_1'] },
      });
      await untilLive(client, app);
      const event = { purchase_id: 'BAD_1', status: 'collected' };

      const wrongAuth = await push({ merchant_auth: 'x'.repeat(32), events: [event] });
      expect(wrongAuth.status).toBe(401);
      expect(await wrongAuth.json()).toEqual({ result: false });

      const malformed = await push('{"merchant_auth": "' + auth + '", "events": [', true);
      expect(malformed.status).toBe(400);
      expect(((await malformed.json()) as { error: string }).error).toMatch(/not valid JSON/);

      const oversize = await push({
        merchant_auth: auth,
        events: [event],
        padding: 'x'.repeat(11 * 1024 * 1024),
      });
      expect(oversize.status).toBe(413);

      const noIds = await push({
        merchant_auth: auth,
        events: [{ status: 'collected' }, { purchase_id: '' }, 'junk'],
      });
      expect(noIds.status).toBe(400);
      expect(((await noIds.json()) as { refused: unknown[] }).refused).toHaveLength(3);

      const notArray = await push({ merchant_auth: auth, events: { purchase_id: 'BAD_1' } });
      expect(notArray.status).toBe(400);

      await push({
        merchant_auth: auth,
        events: [{ purchase_id: 'BARRIER_1', status: 'pending' }],
      });
      const events = await live.waitFor(1);
      expect(events[0]!.groupPurchaseChanged.purchase.purchaseId).toBe('BARRIER_1');
      expect(live.events).toHaveLength(1);
      expect(app.logs.some((line) => line.includes('x'.repeat(32)))).toBe(false);
    });

    it('should store the good events of a partly bad push and say which were refused', async () => {
      live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: ['PART_1'] },
      });
      await untilLive(client, app);
      const response = await push({
        merchant_auth: auth,
        events: [{ status: 'x' }, { purchase_id: 'PART_1', status: 'expired' }],
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        result: true,
        refused: [{ index: 0, reason: expect.stringContaining('purchase_id') }],
      });
      const [event] = await live.waitFor(1);
      expect(event!.groupPurchaseChanged.purchase.status).toBe('EXPIRED');
    });

    it('should handle a burst of 5,000 events in one push', async () => {
      live = subscribe(client, GroupPurchaseChangedDocument, { filter: { merchantId: 'BURST' } });
      await untilLive(client, app);
      const events = Array.from({ length: 5000 }, (_, i) => ({
        purchase_id: `BURST_${i}`,
        merchant_id: 'BURST',
        status: 'pending',
        num_people: i % 7,
      }));
      const response = await push({ merchant_auth: auth, events });
      expect(await response.json()).toEqual({ result: true });
      const received = await live.waitFor(5000, 60_000);
      expect(new Set(received.map((e) => e.groupPurchaseChanged.purchase.purchaseId)).size).toBe(
        5000,
      );
    });

    it('should resolve inventoryState per event, as the catalog is at delivery', async () => {
      const upsert = (inventoryState: 'AVAILABLE' | 'UNAVAILABLE') =>
        app.gql(UpsertPurchaseOfferDocument, {
          input: {
            purchaseId: 'INV_1',
            purchaseCost: '100.00',
            currency: 'USD',
            imageUrl: 'https://merchant.example/inv.png',
            inventoryState,
          },
        });
      expect((await upsert('AVAILABLE')).errors).toBeUndefined();
      const inventory = subscribe<{
        groupPurchaseChanged: { purchase: { numPeople: number; inventoryState: string } };
      }>(
        client,
        `subscription { groupPurchaseChanged(filter: { purchaseIds: ["INV_1"] }) {
          purchase { numPeople inventoryState } } }`,
      );
      await untilLive(client, app);
      await push({
        merchant_auth: auth,
        events: [{ purchase_id: 'INV_1', status: 'pending', num_people: 1 }],
      });
      await inventory.waitFor(1);
      expect((await upsert('UNAVAILABLE')).errors).toBeUndefined();
      await push({
        merchant_auth: auth,
        events: [{ purchase_id: 'INV_1', status: 'pending', num_people: 2 }],
      });
      const events = await inventory.waitFor(2);
      expect(events.map((e) => e.groupPurchaseChanged.purchase)).toEqual([
        { numPeople: 1, inventoryState: 'AVAILABLE' },
        { numPeople: 2, inventoryState: 'UNAVAILABLE' },
      ]);
      inventory.stop();
    });

    it('should log a reconciliation sweep that PayByGroup fails, and find the change at a later one', async () => {
      const sweeping = await startTestApp({ PBG_RECONCILE_INTERVAL_MS: '100' });
      const ws = createClient({
        url: `${sweeping.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
      });
      try {
        const pbg = sweeping.sandbox.pbg!;
        await sweeping.raw('{ groupPurchase(purchaseId: "ABC_20006") { status } }');
        const live = subscribe(ws, GroupPurchaseChangedDocument, {
          filter: { purchaseIds: ['ABC_20006'] },
        });
        await untilLive(ws, sweeping);
        // Every attempt of the next query fails (the client tries three times): that sweep fails.
        pbg.injectFault({ endpoint: 'query', kind: 'http500', times: 3 });
        await pbg.updatePurchase('ABC_20006', { num_people: 12 }, { push: false });
        const [found] = await live.waitFor(1);
        expect(found!.groupPurchaseChanged).toMatchObject({
          source: 'RECONCILIATION',
          purchase: { numPeople: 12 },
        });
        expect(sweeping.logs.some((line) => line.includes('reconciliation sweep failed'))).toBe(
          true,
        );
        live.stop();
      } finally {
        await ws.dispose();
        await sweeping.close();
      }
    });

    it('should refresh the state queries read from a push', async () => {
      const cached = await startTestApp({ PBG_CACHE_TTL_MS: '60000' });
      try {
        const query = '{ groupPurchase(purchaseId: "ABC_12345") { status numPeople } }';
        expect((await cached.raw(query)).json.data).toEqual({
          groupPurchase: { status: 'PENDING', numPeople: 5 },
        });
        cached.sandbox.pbg!.resetCalls();
        const response = await fetch(`${cached.url}/pbg/change_push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            merchant_auth: auth,
            events: [{ purchase_id: 'ABC_12345', status: 'payment_completed', num_people: 6 }],
          }),
        });
        expect(await response.json()).toEqual({ result: true });
        expect((await cached.raw(query)).json.data).toEqual({
          groupPurchase: { status: 'PAYMENT_COMPLETED', numPeople: 6 },
        });
        expect(cached.sandbox.pbg!.calls.query).toBe(0);
      } finally {
        await cached.close();
      }
    });

    it('should acknowledge nothing when the store fails mid-request', async () => {
      const broken = await startTestApp();
      const ws = createClient({
        url: `${broken.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
      });
      try {
        const watching = subscribe(ws, GroupPurchaseChangedDocument, {
          filter: { purchaseIds: ['LOST_1'] },
        });
        await untilLive(ws, broken);
        const observed = broken.purchaseState.stats();
        await broken.store.close();
        const response = await fetch(`${broken.url}/pbg/change_push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            merchant_auth: auth,
            events: [{ purchase_id: 'LOST_1', status: 'collected' }],
          }),
        });
        expect(response.status).toBe(503);
        expect(await response.json()).toEqual({
          result: false,
          error: expect.stringContaining('push again'),
        });
        // Followers hear of a change only through the wake-up announced after it is stored, and
        // the push's observation had ended (in failure) before its answer: nothing was stored,
        // so nothing was announced and no event can still be on its way.
        expect(broken.purchaseState.stats()).toEqual(observed);
        expect(watching.events).toEqual([]);
        watching.stop();
      } finally {
        await ws.dispose();
        await broken.close();
      }
    });
  });

  describe('collectBatchUpdated', () => {
    it('should share one poller among 3 subscribers, emit on change and complete when the batch expires', async () => {
      const chillr = app.sandbox.chillr!;
      const created = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
        input: {
          name: 'live',
          expiryDate: isoDateInDays(2),
          customers: [
            { msisdn: '9447741462', amount: '100' },
            { msisdn: '9876543210', amount: '50' },
          ],
        },
      });
      const id = created.data!.createCollectBatch.batch!.id;
      chillr.resetCalls();
      const before = app.services.batchWatcher.stats().polls;
      const subscribers = [0, 1, 2].map(() =>
        subscribe(client, CollectBatchUpdatedDocument, { id }),
      );
      await Promise.all(subscribers.map((s) => s.waitFor(1)));
      expect(app.services.batchWatcher.stats().pollers).toBe(1);

      chillr.setPaymentStatus(id, '9447741462', 'paid');
      await Promise.all(subscribers.map((s) => s.waitFor(2)));
      chillr.expireBatch(id);
      await Promise.all(subscribers.map((s) => s.done));

      for (const s of subscribers) {
        expect(s.errors).toEqual([]);
        const statuses = s.events.map((e) => [
          e.collectBatchUpdated.status,
          e.collectBatchUpdated.summary.paid,
        ]);
        expect(statuses[0]).toEqual(['ACTIVE', 0]);
        expect(statuses.at(-1)).toEqual(['EXPIRED', 1]);
        expect(new Set(statuses.map((x) => JSON.stringify(x))).size).toBe(statuses.length); // only changes
      }
      const polls = app.services.batchWatcher.stats().polls - before;
      expect(chillr.calls.byBatchId.get(id)).toBe(polls);
      expect(app.services.batchWatcher.stats().pollers).toBe(0);
    });

    it('should stop polling when the last subscriber leaves', async () => {
      const created = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
        input: {
          name: 'leave',
          expiryDate: isoDateInDays(2),
          customers: [{ msisdn: '9447741462', amount: '1' }],
        },
      });
      const id = created.data!.createCollectBatch.batch!.id;
      const live = subscribe(client, CollectBatchUpdatedDocument, { id });
      await live.waitFor(1);
      expect(app.services.batchWatcher.stats().pollers).toBe(1);
      live.stop();
      await expect.poll(() => app.services.batchWatcher.stats().pollers).toBe(0);
      const calls = app.sandbox.chillr!.calls.byBatchId.get(id);
      // Barrier: another batch's poller, on the same interval, polls three times. A timer the
      // first poller left behind would have been due before the second of those polls.
      const other = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
        input: {
          name: 'leave-barrier',
          expiryDate: isoDateInDays(2),
          customers: [{ msisdn: '9447741462', amount: '1' }],
        },
      });
      const otherId = other.data!.createCollectBatch.batch!.id;
      const barrier = subscribe(client, CollectBatchUpdatedDocument, { id: otherId });
      await expect
        .poll(() => app.sandbox.chillr!.calls.byBatchId.get(otherId) ?? 0, { timeout: 10_000 })
        .toBeGreaterThanOrEqual(3);
      barrier.stop();
      expect(app.sandbox.chillr!.calls.byBatchId.get(id)).toBe(calls);
    });

    it('should end the subscription with an error for an unknown batch', async () => {
      const live = subscribe(client, CollectBatchUpdatedDocument, {
        id: 'cccccccccccccccccccccccc',
      });
      await live.done;
      expect(live.events).toEqual([]);
      expect(JSON.stringify(live.errors)).toMatch(/does not know batch/);
    });
  });

  describe('the sandbox loop', () => {
    it('should log an action on a purchase it never saw once, with the whole purchase', async () => {
      const live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: ['ABC_20001'] },
      });
      await untilLive(client, app);
      const result = await app.gql(PerformPurchaseActionLiveDocument, {
        input: { purchaseId: 'ABC_20001', action: 'REFUND' },
      });
      expect(result.data!.performPurchaseAction).toMatchObject({ accepted: true });
      // The read-back after the action and the simulator's push race; whichever is observed
      // first is the change (ACTION or PUSH), the other a repeat.
      await app.sandbox.pbg!.settled();
      const snapshot = app.sandbox.pbg!.pushes.at(-1)!.body.events[0]!;
      await push({ merchant_auth: auth, events: [{ ...snapshot, num_people: 99 }] });
      const [first, barrier] = await live.waitFor(2);
      expect(['ACTION', 'PUSH']).toContain(first!.groupPurchaseChanged.source);
      expect(first!.groupPurchaseChanged).toMatchObject({
        previousStatus: null,
        purchase: { purchaseId: 'ABC_20001', status: 'REFUNDED', merchantId: 'ABC' },
      });
      expect(barrier!.groupPurchaseChanged).toMatchObject({
        source: 'PUSH',
        changedFields: ['numPeople'],
      });
      expect(live.events).toHaveLength(2);
      live.stop();
    });

    it('should deliver the change of a performPurchaseAction once, as an ACTION, and the simulator push as a repeat', async () => {
      // A merchant's screen shows the purchase before acting on it: that read is the state the
      // action's change is compared with.
      expect(
        (await app.raw('{ groupPurchase(purchaseId: "ABC_98765") { status } }')).json.data,
      ).toEqual({
        groupPurchase: { status: 'PAYMENT_COMPLETED' },
      });
      const live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: ['ABC_98765'] },
      });
      await untilLive(client, app);
      const result = await app.gql(PerformPurchaseActionLiveDocument, {
        input: { purchaseId: 'ABC_98765', action: 'COLLECT_FUNDS' },
      });
      expect(result.data!.performPurchaseAction).toMatchObject({
        accepted: true,
        purchase: { status: 'COLLECTED' },
      });
      // The simulator's own push of the same change has been answered: it was a repeat.
      await app.sandbox.pbg!.settled();
      expect(app.sandbox.pbg!.pushes.at(-1)).toMatchObject({ delivered: true });
      // A later change of the same purchase is the barrier: a second delivery would precede it.
      await push({
        merchant_auth: auth,
        events: [{ ...app.sandbox.pbg!.pushes.at(-1)!.body.events[0], status: 'refunded' }],
      });
      const [action, refund] = await live.waitFor(2);
      expect(action!.groupPurchaseChanged).toMatchObject({
        source: 'ACTION',
        changedFields: ['status'],
        previousStatus: 'PAYMENT_COMPLETED',
        purchase: { purchaseId: 'ABC_98765', status: 'COLLECTED' },
      });
      expect(refund!.groupPurchaseChanged).toMatchObject({
        source: 'PUSH',
        changedFields: ['status'],
        previousStatus: 'COLLECTED',
      });
      expect(live.events).toHaveLength(2);
      live.stop();
    });
  });
});
