import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GroupPurchaseChangesDocument,
  type GroupPurchaseChangedSubscription,
} from './generated/graphql.js';
import { TEST_SECRETS, type TestApp } from './helpers/app.js';
import { spawnApp, type ChildApp } from './helpers/child.js';
import { nginxSkipReason, startNginx, type LoadBalancer } from './helpers/nginx.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from './helpers/postgres.js';
import { freePort } from './helpers/process.js';
import { connectWs, push, subscribe, untilLive } from './helpers/ws.js';

/**
 * Three service processes (`node dist/src/main.js`) on one PostgreSQL, no Redis, behind a real
 * nginx; one of them is killed with SIGKILL while PayByGroup's pushes arrive through nginx and
 * the processes append to the log at once. A subscriber on each surviving process, and one
 * resuming from a cursor, see the same log in the same order.
 */

const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;
const skip = postgresSkipReason() ?? nginxSkipReason();
const SUBSCRIPTION = `subscription($ids: [ID!], $merchant: String) {
  groupPurchaseChanged(filter: { purchaseIds: $ids, merchantId: $merchant }) {
    eventId purchase { purchaseId } } }`;

const RESUME = `subscription($after: String) {
  groupPurchaseChanged(filter: { merchantId: "LOAD" }, after: $after) {
    eventId purchase { purchaseId } } }`;

/** The balancer as the ws helpers see an instance: something with a URL to push to. */
const asApp = (url: string) => ({ url }) as TestApp;

describe.skipIf(skip !== undefined)(
  `three processes on PostgreSQL behind nginx${skip ? ` (${skip})` : ''}`,
  () => {
    let postgres: PostgresServer;
    let processes: ChildApp[] = [];
    let nginx: LoadBalancer;
    const clients: Client[] = [];

    beforeAll(async () => {
      postgres = await startPostgres();
      const env = { STORE_URL: await postgres.createDatabase(), PG_POOL_MAX: '4' };
      const ports = await Promise.all([freePort(), freePort(), freePort()]);
      // One first, so the schema is migrated before the other two start (they would wait on
      // the advisory lock anyway; this keeps startup logs simple).
      processes = [await spawnApp(ports[0]!, env)];
      processes.push(...(await Promise.all(ports.slice(1).map((port) => spawnApp(port, env)))));
      nginx = await startNginx(ports);
    }, 120_000);
    afterAll(async () => {
      for (const client of clients) await client.dispose();
      await nginx?.close();
      await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
      await postgres?.close();
    });

    it('should carry WebSocket subscriptions through nginx', async () => {
      const client = connectWs(nginx.url);
      clients.push(client);
      const live = subscribe<GroupPurchaseChangedSubscription>(client, SUBSCRIPTION, {
        ids: ['LB_WS'],
      });
      await untilLive(client, asApp(nginx.url));
      const answer = await push(asApp(nginx.url), {
        merchant_auth: auth,
        events: [{ purchase_id: 'LB_WS', merchant_id: 'LB', status: 'pending', num_people: 2 }],
      });
      expect(answer).toEqual({ status: 200, json: { result: true } });
      const [event] = await live.waitFor(1);
      expect(event!.groupPurchaseChanged.purchase.purchaseId).toBe('LB_WS');
      live.stop();
    });

    it('should keep every acknowledged push when one process is killed -9 under load, one log order on every subscriber', async () => {
      // A subscriber on a process that survives hears everything, whoever stored it.
      const survivor = connectWs(processes[0]!.url);
      clients.push(survivor);
      const live = subscribe<GroupPurchaseChangedSubscription>(survivor, SUBSCRIPTION, {
        merchant: 'LOAD',
      });
      await untilLive(survivor, asApp(nginx.url));
      // And one on another process that survives: both hear the same log in the same order.
      const other = connectWs(processes[1]!.url);
      clients.push(other);
      const otherLive = subscribe<GroupPurchaseChangedSubscription>(other, SUBSCRIPTION, {
        merchant: 'LOAD',
      });
      await untilLive(other, asApp(nginx.url));

      const acknowledged: string[] = [];
      const refused: string[] = [];
      let next = 0;
      let killed: Promise<void> | undefined;
      const pusher = async () => {
        while (next < 300) {
          const id = `LOAD_${next++}`;
          if (acknowledged.length >= 100) killed ??= processes[2]!.kill9();
          const answer = await push(asApp(nginx.url), {
            merchant_auth: auth,
            events: [{ purchase_id: id, merchant_id: 'LOAD', status: 'pending', num_people: 2 }],
          }).catch((error: Error) => ({ status: 0, json: error.message }));
          (JSON.stringify(answer.json) === '{"result":true}' ? acknowledged : refused).push(id);
        }
      };
      await Promise.all(Array.from({ length: 6 }, pusher));
      await killed;
      expect(killed).toBeDefined();
      // nginx sends a request it could not deliver to the next process; only pushes the killed
      // process had already taken can go unanswered (PayByGroup re-sends those).
      expect(refused.length).toBeLessThanOrEqual(6);
      expect(acknowledged.length).toBeGreaterThanOrEqual(294);

      // Barrier: a last change through nginx; the subscriber reads the log in order, so every
      // change stored before it has been delivered by the time it arrives.
      expect(
        await push(asApp(nginx.url), {
          merchant_auth: auth,
          events: [{ purchase_id: 'LOAD_END', merchant_id: 'LOAD', status: 'pending' }],
        }),
      ).toEqual({ status: 200, json: { result: true } });
      const heardEnd = () =>
        live.events.some((e) => e.groupPurchaseChanged.purchase.purchaseId === 'LOAD_END');
      while (!heardEnd()) await live.waitFor(live.events.length + 1, 30_000);
      const delivered = live.events.map((e) => e.groupPurchaseChanged);
      const deliveredIds = new Set(delivered.map((e) => e.purchase.purchaseId));
      expect(acknowledged.filter((id) => !deliveredIds.has(id))).toEqual([]);
      expect(new Set(delivered.map((e) => e.eventId)).size).toBe(delivered.length);
      const cursors = delivered.map((e) => e.eventId);
      await otherLive.waitFor(delivered.length, 30_000);
      expect(otherLive.events.map((e) => e.groupPurchaseChanged.eventId)).toEqual(cursors);
      // A subscriber resuming on the second process after the 50th change gets exactly the rest.
      const resumer = subscribe<GroupPurchaseChangedSubscription>(other, RESUME, {
        after: cursors[49],
      });
      const rest = await resumer.waitFor(cursors.length - 50, 30_000);
      expect(rest.map((e) => e.groupPurchaseChanged.eventId)).toEqual(cursors.slice(50));
      resumer.stop();
      otherLive.stop();

      // And the log, paged through nginx, holds every acknowledged push.
      const logged = new Set<string>();
      let after: string | undefined;
      for (;;) {
        const response = await fetch(`${nginx.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: GROUP_PURCHASE_CHANGES,
            variables: { filter: { merchantId: 'LOAD' }, after, first: 100 },
          }),
        });
        const page = (await response.json()) as {
          data: {
            groupPurchaseChanges: {
              edges: Array<{ node: { purchase: { purchaseId: string } } }>;
              pageInfo: { endCursor: string | null; hasNextPage: boolean };
            };
          };
        };
        const connection = page.data.groupPurchaseChanges;
        for (const edge of connection.edges) logged.add(edge.node.purchase.purchaseId);
        after = connection.pageInfo.endCursor ?? after;
        if (!connection.pageInfo.hasNextPage) break;
      }
      expect(acknowledged.filter((id) => !logged.has(id))).toEqual([]);
      live.stop();
    }, 120_000);
  },
);

const GROUP_PURCHASE_CHANGES = print(GroupPurchaseChangesDocument);
