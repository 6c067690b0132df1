import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GroupPurchaseChangedDocument,
  GroupPurchaseChangesDocument,
  UpsertPurchaseOfferDocument,
  type GroupPurchaseChangedSubscription,
} from './generated/graphql.js';
import { silentLogger } from '../src/logger.js';
import { LogRetention } from '../src/purchase/log-retention.js';
import { startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { postgresSkipReason, startPostgres } from './helpers/postgres.js';
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.js';
import { connectWs, push, subscribe, untilLive } from './helpers/ws.js';

/**
 * The purchase change log end to end, over real HTTP and real WebSockets, once with the SQLite
 * store (a file in a temporary directory) and once with a real redis-server.
 */

const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;
type Changed = GroupPurchaseChangedSubscription['groupPurchaseChanged'];

const event = (purchaseId: string, status: string, numPeople = 4) => ({
  purchase_id: purchaseId,
  merchant_id: 'ABC',
  status,
  num_people: numPeople,
});
const pushed = async (app: TestApp, ...events: unknown[]) =>
  expect(await push(app, { merchant_auth: auth, events })).toEqual({
    status: 200,
    json: { result: true },
  });

const redisSkip = redisSkipReason();
const stores: Array<{ name: string; skip?: string; open: () => Promise<StoreFixture> }> = [
  { name: 'SQLite', open: sqliteFixture },
  { name: 'Redis', skip: redisSkip, open: redisFixture },
  { name: 'PostgreSQL', skip: postgresSkipReason(), open: postgresFixture },
];

interface StoreFixture {
  env: Record<string, string>;
  close(): Promise<void>;
}

async function sqliteFixture(): Promise<StoreFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'change-log-'));
  return {
    env: { STORE_URL: `sqlite:${join(dir, 'payments.db')}` },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

async function redisFixture(): Promise<StoreFixture> {
  const redis: RedisServer = await startRedisServer();
  return { env: { STORE_URL: redis.url, REDIS_URL: redis.url }, close: () => redis.close() };
}

/** PostgreSQL alone: wake-ups through LISTEN/NOTIFY, no REDIS_URL. */
async function postgresFixture(): Promise<StoreFixture> {
  const server = await startPostgres();
  return { env: { STORE_URL: await server.createDatabase() }, close: () => server.close() };
}

for (const store of stores) {
  describe.skipIf(store.skip !== undefined)(`the change log on ${store.name}`, () => {
    let fixture: StoreFixture;
    let app: TestApp;
    let client: Client;
    const statusOf = async (purchaseId: string) =>
      (await app.raw(`{ groupPurchase(purchaseId: "${purchaseId}") { status numPeople } }`)).json
        .data;

    beforeAll(async () => {
      fixture = await store.open();
      // Pushed state is served for a minute: these purchases exist only in the pushes.
      app = await startTestApp({ ...fixture.env, PBG_CACHE_TTL_MS: '60000' });
      client = connectWs(app.url);
    });
    afterAll(async () => {
      await client?.dispose();
      await app?.close();
      await fixture?.close();
    });

    it('should deliver num_people 4 → 5 → 4 as three changes and read 4', async () => {
      const live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: ['NUM_1'] },
      });
      await untilLive(client, app);
      for (const n of [4, 5, 4]) await pushed(app, event('NUM_1', 'pending', n));
      const events = (await live.waitFor(3)).map((e) => e.groupPurchaseChanged);
      expect(events.map((e) => e.purchase.numPeople)).toEqual([4, 5, 4]);
      expect(events.map((e) => e.source)).toEqual(['PUSH', 'PUSH', 'PUSH']);
      expect(new Set(events.map((e) => e.cursor)).size).toBe(3);
      expect(events[2]!.changedFields).toEqual(['numPeople']);
      expect(await statusOf('NUM_1')).toEqual({
        groupPurchase: { status: 'PENDING', numPeople: 4 },
      });
      live.stop();
    });

    it('should acknowledge a stale PENDING after COLLECTED, publish nothing, and keep reading COLLECTED', async () => {
      const live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: ['STALE_1'] },
      });
      await untilLive(client, app);
      const staleBefore = app.purchaseState.stats().stale;
      await pushed(app, event('STALE_1', 'collected'));
      await pushed(app, event('STALE_1', 'pending'));
      expect(app.purchaseState.stats().stale).toBe(staleBefore + 1);
      expect(await statusOf('STALE_1')).toEqual({
        groupPurchase: { status: 'COLLECTED', numPeople: 4 },
      });
      // The barrier: a later change; the stale one would have been delivered before it.
      await pushed(app, event('STALE_1', 'refunded'));
      const events = (await live.waitFor(2)).map((e) => e.groupPurchaseChanged);
      expect(events.map((e) => [e.previousStatus, e.purchase.status])).toEqual([
        [null, 'COLLECTED'],
        ['COLLECTED', 'REFUNDED'],
      ]);
      expect(live.events).toHaveLength(2);
      expect(app.logs.some((line) => line.includes('stale purchase observations'))).toBe(true);
      live.stop();
    });

    it('should resume a subscriber after its last cursor with exactly what it missed, then live ones', async () => {
      const first = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: ['RESUME_1'] },
      });
      await untilLive(client, app);
      await pushed(app, event('RESUME_1', 'pending', 1));
      await pushed(app, event('RESUME_1', 'pending', 2));
      const seen = (await first.waitFor(2)).map((e) => e.groupPurchaseChanged);
      first.stop();
      const last = seen[1]!.cursor;

      // While it is away: three changes it wants, interleaved with two it does not.
      await pushed(app, event('RESUME_1', 'pending', 3), event('OTHER_9', 'pending', 1));
      await pushed(app, event('RESUME_1', 'payment_completed', 3));
      await pushed(app, event('OTHER_9', 'collected', 1), event('RESUME_1', 'collected', 3));

      const again = connectWs(app.url);
      try {
        const resumed = subscribe(again, GroupPurchaseChangedDocument, {
          filter: { purchaseIds: ['RESUME_1'] },
          after: last,
        });
        const missed = (await resumed.waitFor(3)).map((e) => e.groupPurchaseChanged);
        expect(missed.map((e) => [e.purchase.numPeople, e.purchase.status])).toEqual([
          [3, 'PENDING'],
          [3, 'PAYMENT_COMPLETED'],
          [3, 'COLLECTED'],
        ]);
        await pushed(app, event('RESUME_1', 'refunded', 3));
        const all = (await resumed.waitFor(4)).map((e) => e.groupPurchaseChanged);
        expect(all[3]!.purchase.status).toBe('REFUNDED');
        const cursors = [last, ...all.map((e) => e.cursor)];
        expect(new Set(cursors).size).toBe(5);
        // In log order: each page of the log lists them the same way.
        const paged = await pageAll(app, { purchaseIds: ['RESUME_1'] }, last, 2);
        expect(paged.map((c) => c.cursor)).toEqual(all.map((e) => e.cursor));
        expect(resumed.events).toHaveLength(4);
        expect(resumed.errors).toEqual([]);
        resumed.stop();
      } finally {
        await again.dispose();
      }
    });

    it('should never let a read sent before a push overwrite what the push stored', async () => {
      const pbg = app.sandbox.pbg!;
      pbg.resetCalls();
      // PayByGroup answers this read late; it still says PENDING with 8 people.
      pbg.injectFault({ endpoint: 'query', kind: 'delay', ms: 2000 });
      const reading = app.raw('{ groupPurchase(purchaseId: "ABC_20006") { status numPeople } }');
      await expect.poll(() => pbg.calls.query).toBe(1);
      // Meanwhile the push of a newer state is stored.
      await pushed(app, event('ABC_20006', 'payment_completed', 7));
      const staleBefore = app.purchaseState.stats().stale;
      const late = await reading;
      // The late read is kept out and answers with what the service knows now.
      expect(late.json.data).toEqual({
        groupPurchase: { status: 'PAYMENT_COMPLETED', numPeople: 7 },
      });
      expect(app.purchaseState.stats().stale).toBe(staleBefore + 1);
      pbg.resetCalls();
      expect(await statusOf('ABC_20006')).toEqual({
        groupPurchase: { status: 'PAYMENT_COMPLETED', numPeople: 7 },
      });
      expect(pbg.calls.query).toBe(0);
    });

    it('should page the log with groupPurchaseChanges and refuse a page larger than its limit', async () => {
      await pushed(app, event('PAGE_1', 'pending', 1), event('PAGE_2', 'pending', 1));
      await pushed(app, event('PAGE_1', 'collected', 1));
      const all = await pageAll(app, { purchaseIds: ['PAGE_1', 'PAGE_2'] }, undefined, 1);
      expect(all.map((c) => [c.purchase.purchaseId, c.purchase.status, c.source])).toEqual([
        ['PAGE_1', 'PENDING', 'PUSH'],
        ['PAGE_2', 'PENDING', 'PUSH'],
        ['PAGE_1', 'COLLECTED', 'PUSH'],
      ]);
      expect(all.every((c) => c.eventId === c.cursor)).toBe(true);
      const tooBig = await app.gql(GroupPurchaseChangesDocument, { first: 501 });
      expect(tooBig.errors?.[0]).toMatchObject({
        message: expect.stringContaining('MAX_CHANGES_PAGE'),
        extensions: { code: 'BAD_USER_INPUT' },
      });
      expect(tooBig.errors![0]!.message).toContain('500');
      const garbled = await app.gql(GroupPurchaseChangesDocument, { after: 'not-a-cursor' });
      expect(garbled.errors?.[0]?.message).toMatch(/not a change-log cursor/);
      const ahead = store.name === 'Redis' ? '99999999999999-0' : '999999999';
      const future = await app.gql(GroupPurchaseChangesDocument, { after: ahead });
      expect(future.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/ahead of the change log/),
        extensions: { code: 'BAD_USER_INPUT', reason: 'CURSOR_MALFORMED' },
      });
    });

    it('should refuse a cursor older than the retention, in a page and in a subscription', async () => {
      await pushed(app, event('OLD_1', 'pending', 1));
      const [old] = await pageAll(app, { purchaseIds: ['OLD_1'] }, undefined, 50);
      await pushed(app, event('OLD_1', 'pending', 2));
      // Everything logged so far passes its retention (a cutoff a second in the future).
      const retention = new LogRetention({
        state: app.purchaseState,
        ttlMs: -1000,
        logger: silentLogger,
      });
      expect(await retention.trim()).toBeGreaterThan(0);
      const page = await app.gql(GroupPurchaseChangesDocument, { after: old!.cursor });
      expect(page.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/older than the change log's retention/),
        extensions: { code: 'BAD_USER_INPUT', reason: 'CURSOR_EXPIRED' },
      });
      const live = subscribe(client, GroupPurchaseChangedDocument, { after: old!.cursor });
      await live.done;
      expect(JSON.stringify(live.errors)).toMatch(/PBG_CHANGE_LOG_TTL_MS/);
      expect(live.events).toEqual([]);
    });

    it('should refuse a 3,000-deep event by index, naming the limit, and accept the next push for that purchase', async () => {
      let deep: Record<string, unknown> = { leaf: true };
      for (let i = 0; i < 3000; i++) deep = { nested: deep };
      const live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { purchaseIds: ['DEEP_1'] },
      });
      await untilLive(client, app);
      const poisoned = await push(app, {
        merchant_auth: auth,
        events: [event('DEEP_0', 'pending'), { ...event('DEEP_1', 'pending'), extra: deep }],
      });
      expect(poisoned).toEqual({
        status: 200,
        json: {
          result: true,
          refused: [{ index: 1, reason: expect.stringMatching(/MAX_EVENT_DEPTH \(32 levels\)/) }],
        },
      });
      const huge = await push(app, {
        merchant_auth: auth,
        events: [{ ...event('DEEP_1', 'pending'), extra: 'x'.repeat(70_000) }],
      });
      expect(huge.status).toBe(400);
      expect(JSON.stringify(huge.json)).toMatch(/MAX_EVENT_CHARS \(65536/);
      await pushed(app, event('DEEP_1', 'collected'));
      const [next] = await live.waitFor(1);
      expect(next!.groupPurchaseChanged.purchase.status).toBe('COLLECTED');
      expect(await statusOf('DEEP_1')).toEqual({
        groupPurchase: { status: 'COLLECTED', numPeople: 4 },
      });
      live.stop();
    });

    it('should find changes PayByGroup never pushed and deliver them as RECONCILIATION, one sweeper at a time', async () => {
      const sweeping = await startTestApp({ ...fixture.env, PBG_RECONCILE_INTERVAL_MS: '100' });
      const ws = connectWs(sweeping.url);
      try {
        const pbg = sweeping.sandbox.pbg!;
        // Two purchases of this run's own (the sandbox may keep state between runs), started
        // in PayByGroup and known to the service from a read, both pending.
        const [open, closing] = [`REC_${randomUUID()}`, `REC_${randomUUID()}`];
        for (const id of [open, closing]) {
          const offer = await sweeping.gql(UpsertPurchaseOfferDocument, {
            input: {
              purchaseId: id,
              purchaseCost: '90.00',
              currency: 'USD',
              imageUrl: 'https://merchant.example/rec.png',
            },
          });
          expect(offer.errors).toBeUndefined();
          await pbg.startPurchase({ purchaseId: id, numPeople: 2 });
          const read = await sweeping.raw(`{ groupPurchase(purchaseId: "${id}") { status } }`);
          expect(read.json.data).toEqual({ groupPurchase: { status: 'PENDING' } });
        }
        const live = subscribe(ws, GroupPurchaseChangedDocument, {
          filter: { purchaseIds: [open, closing] },
        });
        await untilLive(ws, sweeping);
        const pushesBefore = pbg.pushes.length;
        // Lost pushes: one purchase still open, one gone to a final status.
        await pbg.updatePurchase(open, { num_people: 9 }, { push: false });
        await pbg.updatePurchase(closing, { status: 'cancelled' }, { push: false });
        const found = (await live.waitFor(2)).map((e) => e.groupPurchaseChanged);
        expect(found.map((c) => c.source)).toEqual(['RECONCILIATION', 'RECONCILIATION']);
        const byId = Object.fromEntries(found.map((c) => [c.purchase.purchaseId, c]));
        expect(byId[open]).toMatchObject({
          changedFields: ['numPeople'],
          purchase: { numPeople: 9, status: 'PENDING' },
        });
        expect(byId[closing]).toMatchObject({
          changedFields: ['status'],
          previousStatus: 'PENDING',
          purchase: { status: 'CANCELLED' },
        });
        expect(pbg.pushes.length).toBe(pushesBefore);
        live.stop();

        // Two instances on one store: one sweep per interval between them.
        await sweeping.reconciler.close();
        const reports = await Promise.all([app.reconciler.sweep(), sweeping.reconciler.sweep()]);
        expect(reports.filter((r) => r.swept)).toHaveLength(1);
      } finally {
        await ws.dispose();
        await sweeping.close();
      }
    });

    it('should answer a push of 5,000 events while still answering other requests', async () => {
      const events = Array.from({ length: 5000 }, (_, i) => event(`MANY_${i}`, 'pending', i % 9));
      let answeredDuring = 0;
      let done = false;
      const big = push(app, { merchant_auth: auth, events }).finally(() => (done = true));
      // Health checks sent one after another while the push is in flight: the event loop
      // serves them between the push's chunks.
      while (!done) {
        const health = await fetch(`${app.url}/healthz`);
        if (!done && health.ok) answeredDuring += 1;
      }
      expect(await big).toEqual({ status: 200, json: { result: true } });
      expect(answeredDuring).toBeGreaterThan(0);
      const logged = await pageAll(app, { purchaseIds: ['MANY_0', 'MANY_4999'] }, undefined, 10);
      expect(logged.map((c) => c.purchase.purchaseId)).toEqual(['MANY_0', 'MANY_4999']);
    });
  });
}

/** Every matching change after `after`, page by page of `first`. */
async function pageAll(
  app: TestApp,
  filter: { purchaseIds: string[] },
  after: string | undefined,
  first: number,
): Promise<Changed[]> {
  const out: Changed[] = [];
  let cursor = after;
  for (let pages = 0; pages < 1000; pages++) {
    const result = await app.gql(GroupPurchaseChangesDocument, { filter, after: cursor, first });
    expect(result.errors).toBeUndefined();
    const { edges, pageInfo } = result.data!.groupPurchaseChanges;
    for (const edge of edges) {
      expect(edge.cursor).toBe(edge.node.cursor);
      out.push(edge.node as unknown as Changed);
    }
    if (!pageInfo.hasNextPage) return out;
    cursor = pageInfo.endCursor ?? undefined;
  }
  throw new Error('more than 1000 pages');
}
