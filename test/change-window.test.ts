import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GroupPurchaseChangedDocument,
  GroupPurchaseChangesDocument,
  type GroupPurchaseChangeFilter,
} from './generated/graphql.js';
import { startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.js';
import { connectWs, push, subscribe, untilLive } from './helpers/ws.js';

/**
 * "Which purchases reached COLLECTED between t1 and t2": groupPurchaseChanges and the
 * subscription with statuses and receivedAfter (inclusive) / receivedBefore (exclusive), over
 * real HTTP and WebSockets, on the memory store, a SQLite file and a real redis-server.
 */

const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;
const event = (purchaseId: string, status: string) => ({
  purchase_id: purchaseId,
  merchant_id: 'ABC',
  status,
  num_people: 3,
});

type Edge = { cursor: string; node: { receivedAt: string } };

interface Fixture {
  env: Record<string, string>;
  close(): Promise<void>;
}

const stores: Array<{ name: string; skip?: string; open: () => Promise<Fixture> }> = [
  { name: 'memory', open: () => Promise.resolve({ env: {}, close: () => Promise.resolve() }) },
  {
    name: 'SQLite',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'change-window-'));
      return {
        env: { STORE_URL: `sqlite:${join(dir, 'payments.db')}` },
        close: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'Redis',
    skip: redisSkipReason(),
    open: async () => {
      const redis: RedisServer = await startRedisServer();
      return { env: { STORE_URL: redis.url, REDIS_URL: redis.url }, close: () => redis.close() };
    },
  },
];

/** Resolves once the clock has moved past `ms`: two pushes then never share a millisecond. */
async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setImmediate(resolve));
}

for (const store of stores) {
  describe.skipIf(store.skip !== undefined)(`the change log's time window on ${store.name}`, () => {
    let fixture: Fixture;
    let app: TestApp;
    let client: Client;
    let lastCursor = '';
    /** Pushes one event and answers the receivedAt of the change it logged. */
    const pushed = async (purchaseId: string, status: string): Promise<string> => {
      expect(await push(app, { merchant_auth: auth, events: [event(purchaseId, status)] })).toEqual(
        { status: 200, json: { result: true } },
      );
      const page = await app.raw(
        `{ groupPurchaseChanges(filter: { purchaseIds: ["${purchaseId}"] }, first: 50) { edges { cursor node { receivedAt } } } }`,
      );
      const { edges } = (page.json.data as { groupPurchaseChanges: { edges: Edge[] } })
        .groupPurchaseChanges;
      const receivedAt = edges.at(-1)!.node.receivedAt;
      lastCursor = edges.at(-1)!.cursor;
      await clockPast(Date.parse(receivedAt));
      return receivedAt;
    };
    const ids = async (filter: GroupPurchaseChangeFilter, first = 50) => {
      const page = await app.gql(GroupPurchaseChangesDocument, { filter, first });
      expect(page.errors).toBeUndefined();
      return page.data!.groupPurchaseChanges.edges.map((e) => [
        e.node.purchase.purchaseId,
        e.node.previousStatus,
        e.node.purchase.status,
      ]);
    };

    beforeAll(async () => {
      fixture = await store.open();
      app = await startTestApp({ ...fixture.env, PBG_CACHE_TTL_MS: '60000' });
      client = connectWs(app.url);
    });
    afterAll(async () => {
      await client?.dispose();
      await app?.close();
      await fixture?.close();
    });

    it('should list the purchases that reached COLLECTED in the window and no other, by query and by replay', async () => {
      await pushed('WIN_A', 'collected'); // before the window
      const start = lastCursor;
      await pushed('WIN_B', 'pending'); // before the window; collected inside it
      const t1 = await pushed('WIN_B', 'collected');
      await pushed('WIN_C', 'pending'); // inside, not COLLECTED
      await pushed('WIN_D', 'collected');
      const t2 = await pushed('WIN_E', 'collected'); // the exclusive end: outside
      await pushed('WIN_F', 'collected'); // after the window

      const filter = { statuses: ['COLLECTED' as never], receivedAfter: t1, receivedBefore: t2 };
      expect(await ids(filter)).toEqual([
        ['WIN_B', 'PENDING', 'COLLECTED'],
        ['WIN_D', null, 'COLLECTED'],
      ]);
      // Without statuses the window holds the PENDING one too; bounds alone work each way.
      expect((await ids({ receivedAfter: t1, receivedBefore: t2 })).map((r) => r[0])).toEqual([
        'WIN_B',
        'WIN_C',
        'WIN_D',
      ]);
      expect((await ids({ receivedAfter: t2 })).map((r) => r[0])).toEqual(['WIN_E', 'WIN_F']);
      expect((await ids({ receivedBefore: t1, statuses: ['COLLECTED' as never] })).length).toBe(1);
      // Pages of one still walk the window once.
      const paged: string[] = [];
      let after: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await app.gql(GroupPurchaseChangesDocument, { filter, first: 1, after });
        paged.push(...page.data!.groupPurchaseChanges.edges.map((e) => e.node.purchase.purchaseId));
        if (!page.data!.groupPurchaseChanges.pageInfo.hasNextPage) break;
        after = page.data!.groupPurchaseChanges.pageInfo.endCursor ?? undefined;
      }
      expect(paged).toEqual(['WIN_B', 'WIN_D']);

      // The subscription replays the same window from a cursor before it, then goes on live.
      const replay = subscribe(client, GroupPurchaseChangedDocument, { filter, after: start });
      const replayed = await replay.waitFor(2);
      expect(replayed.map((e) => e.groupPurchaseChanged.purchase.purchaseId)).toEqual([
        'WIN_B',
        'WIN_D',
      ]);
      replay.stop();
    });

    it('should deliver live only the changes inside the window', async () => {
      const from = new Date(Date.now() + 1).toISOString();
      await clockPast(Date.parse(from));
      const live = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { statuses: ['COLLECTED' as never], receivedAfter: from },
      });
      const closed = subscribe(client, GroupPurchaseChangedDocument, {
        filter: { statuses: ['COLLECTED' as never], receivedBefore: from },
      });
      await untilLive(client, app);
      await pushed('LIVE_1', 'pending');
      await pushed('LIVE_1', 'collected');
      const [only] = await live.waitFor(1);
      expect(only!.groupPurchaseChanged).toMatchObject({
        previousStatus: 'PENDING',
        purchase: { purchaseId: 'LIVE_1', status: 'COLLECTED' },
      });
      // The barrier above was the later change: the window that ended before it got nothing.
      expect(closed.events).toEqual([]);
      expect(live.events).toHaveLength(1);
      live.stop();
      closed.stop();
    });

    it('should refuse a receivedAfter that is not an instant, naming the form it wants', async () => {
      const bad = await app.raw(
        '{ groupPurchaseChanges(filter: { receivedAfter: "yesterday" }) { edges { cursor } } }',
      );
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.json)).toMatch(/DateTime must be a string such as/);
    });
  });
}
