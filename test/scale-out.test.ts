import { randomUUID } from 'node:crypto';
import { createClient } from '@keyv/redis';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChillrSimulator } from '../src/sandbox/chillr/index.js';
import { openStore, type Store } from '../src/store/index.js';
import {
  CollectBatchDocument,
  CreateCollectBatchDocument,
  GroupPurchaseChangedDocument,
} from './generated/graphql.js';
import {
  startTestChillr,
  isoDateInDays,
  startTestApp,
  TEST_SECRETS,
  type TestApp,
} from './helpers/app.js';
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.js';
import { connectWs, push, subscribe, untilLive, type Live } from './helpers/ws.js';

/**
 * Two instances of the service (A and B) on one real redis-server, as when scaled out behind a
 * load balancer: STORE_URL and REDIS_URL both point at it, and both talk to one Chillr simulator.
 * Each instance still has its own PayByGroup sandbox, which stays idle: change pushes are sent
 * here as plain HTTP POSTs, the way PayByGroup would send them to whichever instance it reaches.
 */

const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;

/** The subscription as a merchant's frontend would write it. */
const ABC_SUBSCRIPTION = `subscription {
  groupPurchaseChanged(filter: { purchaseIds: ["ABC_12345"] }) {
    eventId changedFields previousStatus purchase { purchaseId status rawStatus }
  }
}`;

interface AbcChange {
  groupPurchaseChanged: {
    eventId: string;
    changedFields: string[];
    previousStatus: string | null;
    purchase: { purchaseId: string; status: string; rawStatus: string };
  };
}

/** POSTs a change push, as PayByGroup does, to one instance. */
const redisSkip = redisSkipReason();

describe.skipIf(redisSkip !== undefined)(
  `scale-out: two instances on one redis-server${redisSkip ? ` (${redisSkip})` : ''}`,
  () => {
    let redis: RedisServer;
    let sim: ChillrSimulator;
    let env: Record<string, string>;
    let a: TestApp;
    let b: TestApp;
    /** A third client of the same Redis, to look at what the instances stored. */
    let inspect: Store;
    let clientB: Client;
    const lives: Array<Live<unknown>> = [];

    beforeAll(async () => {
      redis = await startRedisServer();
      sim = await startTestChillr();
      env = {
        STORE_URL: redis.url,
        REDIS_URL: redis.url,
        CHILLR_BASE_URL: sim.url,
        // Pushed state is served for a minute, so a read on B shows what a push to A stored.
        PBG_CACHE_TTL_MS: '60000',
      };
      [a, b] = await Promise.all([startTestApp(env), startTestApp(env)]);
      inspect = await openStore(redis.url);
      clientB = connectWs(b.url);
    });
    afterAll(async () => {
      await clientB?.dispose();
      await Promise.all([a?.close(), b?.close()]);
      await inspect?.close();
      await sim?.close();
      await redis?.close();
    });
    beforeEach(() => sim.resetCalls());
    afterEach(() => {
      for (const live of lives.splice(0)) live.stop();
    });

    const track = <R>(live: Live<R>): Live<R> => {
      lives.push(live as Live<unknown>);
      return live;
    };

    it('should deliver a push to A to a subscriber on B exactly once, even when repeated to B', async () => {
      const live = track(subscribe<AbcChange>(clientB, ABC_SUBSCRIPTION));
      await untilLive(clientB, a);

      const body = {
        merchant_auth: auth,
        events: [
          { purchase_id: 'ABC_12345', status: 'collected', merchant_id: 'ABC', num_people: 5 },
          { purchase_id: 'OTHER_1', status: 'pending' },
        ],
      };
      const toA = await push(a, body);
      expect(toA).toEqual({ status: 200, json: { result: true } });
      const [first] = await live.waitFor(1);
      expect(first!.groupPurchaseChanged).toEqual({
        // A Redis Stream id: the change log's cursor is the change's id.
        eventId: expect.stringMatching(/^\d+-\d+$/),
        changedFields: ['status', 'numPeople'],
        previousStatus: null,
        purchase: { purchaseId: 'ABC_12345', status: 'COLLECTED', rawStatus: 'collected' },
      });

      // PayByGroup retries at another instance: acknowledged, not delivered again.
      const toB = await push(b, body);
      expect(toB).toEqual({ status: 200, json: { result: true } });

      // A distinct event for the same purchase, through the same instance, is the barrier:
      // B publishes in order on one Redis connection, so a repeat would have arrived first.
      const barrier = await push(b, {
        merchant_auth: auth,
        events: [
          { purchase_id: 'ABC_12345', status: 'refunded', merchant_id: 'ABC', num_people: 5 },
        ],
      });
      expect(barrier.json).toEqual({ result: true });
      const events = await live.waitFor(2);
      expect(events[1]!.groupPurchaseChanged).toMatchObject({
        changedFields: ['status'],
        previousStatus: 'COLLECTED',
        purchase: { purchaseId: 'ABC_12345', status: 'REFUNDED', rawStatus: 'refunded' },
      });
      expect(events[1]!.groupPurchaseChanged.eventId).not.toBe(first!.groupPurchaseChanged.eventId);
      expect(live.events).toHaveLength(2);
      expect(live.errors).toEqual([]);
      // The change log in Redis holds each change once, in order, under the id delivered.
      const { entries } = await inspect.stateLog.readLog<{ purchase: { purchaseId: string } }>(
        undefined,
        10_000,
      );
      const logged = entries.filter((e) => e.value.purchase.purchaseId === 'ABC_12345');
      expect(logged.map((e) => e.cursor)).toEqual(
        events.map((e) => e.groupPurchaseChanged.eventId),
      );
    });

    it('should never move a purchase backwards when an older snapshot reaches the other instance', async () => {
      const live = track(
        subscribe<AbcChange>(
          clientB,
          `subscription { groupPurchaseChanged(filter: { purchaseIds: ["BACK_1"] }) {
            eventId changedFields previousStatus purchase { purchaseId status rawStatus } } }`,
        ),
      );
      await untilLive(clientB, a);
      const snapshot = (status: string) => ({
        merchant_auth: auth,
        events: [{ purchase_id: 'BACK_1', merchant_id: 'ABC', status, num_people: 4 }],
      });
      expect(await push(a, snapshot('pending'))).toEqual({ status: 200, json: { result: true } });
      expect(await push(a, snapshot('collected'))).toEqual({ status: 200, json: { result: true } });
      // PayByGroup re-sends the older snapshot to B: acknowledged, so PBG stops re-sending ...
      expect(await push(b, snapshot('pending'))).toEqual({ status: 200, json: { result: true } });
      // ... neither applied nor published: the refund (the barrier) follows COLLECTED directly.
      expect(await push(b, snapshot('refunded'))).toEqual({ status: 200, json: { result: true } });
      const events = await live.waitFor(3);
      expect(events.map((e) => e.groupPurchaseChanged.purchase.status)).toEqual([
        'PENDING',
        'COLLECTED',
        'REFUNDED',
      ]);
      expect(events[2]!.groupPurchaseChanged.previousStatus).toBe('COLLECTED');
      expect(live.events).toHaveLength(3);
      // Both instances read the newest state.
      for (const app of [a, b]) {
        const read = await app.raw('{ groupPurchase(purchaseId: "BACK_1") { status } }');
        expect(read.json.data).toEqual({ groupPurchase: { status: 'REFUNDED' } });
      }
      // The stale one was counted on B, where it arrived.
      expect(b.purchaseState.stats().stale).toBeGreaterThanOrEqual(1);
    });

    it('should keep every purchase moving forward under concurrent pushes to A and B in any order', async () => {
      const ids = Array.from({ length: 20 }, (_, i) => `RACE_${i}`);
      const steps = ['pending', 'payment_completed', 'collected', 'refunded'];
      // Every snapshot of every purchase, twice, half to A and half to B, all at once, in an
      // order that differs per purchase (rotated), so old ones often arrive after new ones.
      const sends = ids.flatMap((id, i) =>
        [...steps, ...steps].map((status, k) => ({
          to: (i + k) % 2 === 0 ? a : b,
          order: (k * 7 + i) % 8,
          events: [{ purchase_id: id, merchant_id: 'ABC', status, num_people: 4 }],
        })),
      );
      sends.sort((x, y) => x.order - y.order);
      const answers = await Promise.all(
        sends.map(({ to, events }) => push(to, { merchant_auth: auth, events })),
      );
      expect(answers.every((answer) => answer.status === 200)).toBe(true);
      const { entries } = await inspect.stateLog.readLog<{
        purchase: { purchaseId: string; status: string };
      }>(undefined, 100_000);
      const stage = ['PENDING', 'PAYMENT_COMPLETED', 'COLLECTED', 'REFUNDED'];
      for (const id of ids) {
        const logged = entries
          .filter((e) => e.value.purchase.purchaseId === id)
          .map((e) => stage.indexOf(e.value.purchase.status));
        // Strictly forward, each status at most once, ending on the last.
        expect(logged.every((s, k) => k === 0 || s > logged[k - 1]!)).toBe(true);
        expect(logged.at(-1)).toBe(3);
      }
      const read = await b.raw(
        `{ ${ids.map((id) => `${id}: groupPurchase(purchaseId: "${id}") { status }`).join(' ')} }`,
      );
      expect(
        new Set(
          Object.values(read.json.data as Record<string, { status: string }>).map((p) => p.status),
        ),
      ).toEqual(new Set(['REFUNDED']));
    });

    it('should make one upstream create for one idempotencyKey sent to A and B concurrently', async () => {
      const input = {
        name: 'Scale-out concurrent',
        expiryDate: isoDateInDays(30),
        customers: [
          { msisdn: '9447741462', amount: '200' },
          { msisdn: '9633789451', amount: '600' },
        ],
        idempotencyKey: `scale-out-concurrent-${randomUUID()}`,
      };
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).gql(CreateCollectBatchDocument, { input }),
        ),
      );
      for (const result of results) {
        expect(result.errors).toBeUndefined();
        expect(result.data!.createCollectBatch.userErrors).toEqual([]);
      }
      const ids = results.map((r) => r.data!.createCollectBatch.batch?.id);
      expect(ids[0]).toMatch(/^[0-9a-f]{24}$/);
      expect(new Set(ids)).toEqual(new Set([ids[0]]));
      expect(sim.calls.collect).toBe(1);
      expect(
        results.every((r) => r.data!.createCollectBatch.batch?.name === 'Scale-out concurrent'),
      ).toBe(true);
    });

    it('should lose no stored event when an instance restarts on the same Redis', async () => {
      const live = track(
        subscribe(clientB, GroupPurchaseChangedDocument, {
          filter: { purchaseIds: ['RESTART_1'] },
        }),
      );
      await untilLive(clientB, a);

      const e = {
        merchant_auth: auth,
        events: [
          {
            purchase_id: 'RESTART_1',
            merchant_id: 'ABC',
            status: 'collected',
            num_people: 3,
            commit_deadline: '2026-05-27 23:59 PST',
            purchase_cost: '1250.00 USD',
          },
        ],
      };
      expect(await push(a, e)).toEqual({ status: 200, json: { result: true } });
      const [first] = await live.waitFor(1);
      // The whole change crossed Redis as JSON and still resolves on B.
      expect(first!.groupPurchaseChanged).toMatchObject({
        changedFields: ['status', 'commitDeadline', 'numPeople'],
        previousStatus: null,
        purchase: {
          purchaseId: 'RESTART_1',
          merchantId: 'ABC',
          status: 'COLLECTED',
          numPeople: 3,
          commitDeadline: '2026-05-27T23:59:00-08:00',
          purchaseCost: { amount: '1250.00', currency: 'USD' },
          attributes: expect.objectContaining({ purchase_cost: '1250.00 USD' }),
        },
      });

      await a.close();
      a = await startTestApp(env);

      // The restarted instance remembers E through Redis: acknowledged, not published again.
      expect(await push(a, e)).toEqual({ status: 200, json: { result: true } });
      // The next state is diffed against E's, which only Redis could have told the new process.
      const next = {
        merchant_auth: auth,
        events: [{ ...e.events[0]!, status: 'refunded' }],
      };
      expect(await push(a, next)).toEqual({ status: 200, json: { result: true } });

      // Both pushes left A' on one Redis connection in order: a repeat of E would come first.
      const events = await live.waitFor(2);
      expect(events[1]!.groupPurchaseChanged).toMatchObject({
        previousStatus: 'COLLECTED',
        changedFields: ['status'],
        purchase: { purchaseId: 'RESTART_1', status: 'REFUNDED', numPeople: 3 },
      });
      expect(live.events).toHaveLength(2);
      expect(live.errors).toEqual([]);
    });

    // Regression: the event id used to be claimed before the state write, so a retry after a
    // failed store found it claimed, answered {"result": true} and never published the change.
    // A Redis ACL user that may write only `events::*` makes exactly the state write fail.
    it('should deliver a change whose first push failed after its event id was stored, once PBG retries it', async () => {
      const password = randomUUID();
      // Writes only under events::*, reads everything: exactly the state write fails.
      const client = createClient({ url: redis.url });
      await client.connect();
      await client.sendCommand([
        'ACL',
        'SETUSER',
        'events-only',
        'on',
        `>${password}`,
        '+@all',
        '~events::*',
        '%R~*',
      ]);
      await client.close();
      const flaky = await startTestApp({
        ...env,
        STORE_URL: `redis://events-only:${password}@127.0.0.1:${redis.port}`,
      });
      try {
        const live = track(
          subscribe(clientB, GroupPurchaseChangedDocument, {
            filter: { purchaseIds: ['LOST_1'] },
          }),
        );
        await untilLive(clientB, a);
        const e = {
          merchant_auth: auth,
          events: [{ purchase_id: 'LOST_1', status: 'collected', num_people: 2 }],
        };
        // Not stored, so not acknowledged: PBG will push again.
        expect((await push(flaky, e)).status).toBe(503);
        // PBG's retry reaches B.
        expect(await push(b, e)).toEqual({ status: 200, json: { result: true } });
        const barrier = {
          merchant_auth: auth,
          events: [{ purchase_id: 'LOST_1', status: 'refunded', num_people: 2 }],
        };
        expect(await push(b, barrier)).toEqual({ status: 200, json: { result: true } });
        const events = await live.waitFor(1);
        expect(events[0]!.groupPurchaseChanged.purchase.status).toBe('COLLECTED');
        const both = await live.waitFor(2);
        expect(both[1]!.groupPurchaseChanged).toMatchObject({
          previousStatus: 'COLLECTED',
          purchase: { status: 'REFUNDED' },
        });
      } finally {
        await flaky.close();
      }
    });

    it('should keep idempotency records, batch records and purchase state in Redis', async () => {
      const idempotencyKey = `scale-out-records-${randomUUID()}`;
      const input = {
        name: 'Water bill',
        expiryDate: isoDateInDays(20),
        customers: [
          { msisdn: '9447741462', amount: '150.5' },
          { msisdn: '9633789451', amount: '600' },
        ],
        idempotencyKey,
      };
      const created = await a.gql(CreateCollectBatchDocument, { input });
      expect(created.errors).toBeUndefined();
      const id = created.data!.createCollectBatch.batch!.id;
      expect(sim.calls.collect).toBe(1);

      // B never saw the create: name and amounts come from the record A wrote to Redis
      // (Chillr's status answer carries neither).
      const onB = await b.gql(CollectBatchDocument, { id });
      expect(onB.errors).toBeUndefined();
      expect(onB.data!.collectBatch).toMatchObject({
        id,
        name: 'Water bill',
        nonChillrCustomers: ['9633789451'],
        summary: {
          total: 2,
          pending: 1,
          notGenerated: 1,
          amountRequested: { amount: '150.50', currency: 'INR' },
        },
      });

      // The same key on B replays A's result from the idempotency record, with no new call.
      const replayed = await b.gql(CreateCollectBatchDocument, { input });
      expect(replayed.data!.createCollectBatch.batch?.id).toBe(id);
      expect(sim.calls.collect).toBe(1);

      // And the records are there for any client of that Redis to read (keys are scoped by
      // mutation).
      const record = `createCollectBatch:${idempotencyKey}`;
      expect(await inspect.namespace('idempotency').get(record)).toMatchObject({
        state: 'done',
        result: { batchId: id },
      });
      expect(await inspect.namespace('batches').get(id)).toMatchObject({
        id,
        name: 'Water bill',
      });

      // Purchase state pushed to A is what B serves (B's own PayByGroup has never heard of it).
      expect(
        await push(a, {
          merchant_auth: auth,
          events: [{ purchase_id: 'STATE_1', status: 'collected', num_people: 4 }],
        }),
      ).toEqual({ status: 200, json: { result: true } });
      const stored = await inspect.stateLog.getMany<{ record: unknown }>(['STATE_1']);
      expect(stored.get('STATE_1')).toMatchObject({
        version: 1,
        value: { record: { purchaseId: 'STATE_1', status: 'COLLECTED', numPeople: 4 } },
      });
      const purchase = await b.raw(
        'query { groupPurchase(purchaseId: "STATE_1") { purchaseId status numPeople } }',
      );
      expect(purchase.json.errors).toBeUndefined();
      expect(purchase.json.data).toEqual({
        groupPurchase: { purchaseId: 'STATE_1', status: 'COLLECTED', numPeople: 4 },
      });
    });
  },
);
