import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GroupPurchaseChangedDocument,
  GroupPurchaseChangesDocument,
  type GroupPurchaseChangedSubscription,
} from './generated/graphql.js';
import { TEST_SECRETS } from './helpers/app.js';
import { spawnApp, type ChildApp } from './helpers/child.js';
import { postgresSkipReason, startPostgres } from './helpers/postgres.js';
import {
  closedPort,
  redisSkipReason,
  startRedisServer,
  type RedisServer,
} from './helpers/redis.js';
import { subscribe, type Live } from './helpers/ws.js';

/**
 * `kill -9` of the service while PayByGroup pushes: the service runs as its own process
 * (`node dist/src/main.js`) on a SQLite file or a real Redis, and is killed three times
 * mid-stream. The fake PayByGroup below re-sends every push until it is acknowledged, and after
 * each restart also re-sends the previous, older snapshots — the out-of-order re-sends seen in
 * production. A subscriber resumes after each restart from the last cursor it received.
 */

const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;
const PURCHASES = Array.from({ length: 40 }, (_, i) => `KILL_${String(i).padStart(2, '0')}`);
const STEPS = ['pending', 'payment_completed', 'collected', 'refunded'] as const;
const PER_PUSH = 5;
type Changed = GroupPurchaseChangedSubscription['groupPurchaseChanged'];

const snapshot = (purchaseId: string, step: number) => ({
  purchase_id: purchaseId,
  merchant_id: 'ABC',
  status: STEPS[step],
  num_people: 4,
  commit_deadline: '2026-05-27 23:59 PST',
});

/** The pushes PayByGroup sends, in order: every purchase through every step, 5 per push. */
const PUSHES = STEPS.flatMap((_, step) =>
  Array.from({ length: PURCHASES.length / PER_PUSH }, (_, k) =>
    PURCHASES.slice(k * PER_PUSH, (k + 1) * PER_PUSH).map((id) => snapshot(id, step)),
  ),
);

/**
 * PayByGroup as the incident showed it: POSTs a push and re-sends it until the answer is
 * `{"result": true}`. The pause between attempts is back-off, not synchronisation: the
 * process may be down, and nothing tells a sender when it is back.
 */
let refusedByALiveProcess = 0;
async function pushUntilAcknowledged(url: () => string, events: unknown[]): Promise<number> {
  for (let attempt = 1; attempt <= 2000; attempt++) {
    try {
      const response = await fetch(`${url()}/pbg/change_push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ merchant_auth: auth, events }),
      });
      const answer = (await response.json()) as { result?: unknown };
      if (response.ok && answer.result === true) return attempt;
      // The change-push handler said no: something blocked the push (a dead process's claim,
      // once). Counted, so the test can insist there is none. (A process still starting up
      // answers 503 before the handler exists; that is not a refusal of the push.)
      if (answer.result === false) refusedByALiveProcess += 1;
    } catch {
      // Connection refused or reset: the process is down; PayByGroup tries again.
    }
    await sleep(10);
  }
  throw new Error('a push was never acknowledged');
}

const redisSkip = redisSkipReason();
const stores: Array<{ name: string; skip?: string }> = [
  { name: 'SQLite' },
  { name: 'Redis', skip: redisSkip },
  { name: 'PostgreSQL', skip: postgresSkipReason() },
];

describe('kill -9 while PayByGroup pushes', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  for (const store of stores) {
    it.skipIf(store.skip !== undefined)(
      `should keep every acknowledged change, never go backwards, and let a subscriber resume (${store.name})`,
      { timeout: 120_000 },
      async () => {
        refusedByALiveProcess = 0;
        const env = await storeEnv(store.name, cleanups);
        const port = await closedPort();
        let service: ChildApp = await spawnApp(port, env);
        cleanups.push(() => service.kill9());
        const url = () => service.url;

        // The subscriber starts after a probe change it knows the cursor of, so it misses
        // nothing whenever the server gets round to its subscribe message.
        await pushUntilAcknowledged(url, [{ purchase_id: 'PROBE_K', status: 'pending' }]);
        const [probe] = await readLog(service.url, ['PROBE_K']);
        const received: Changed[] = [];
        const lines: string[] = [];
        const lastCursor = () => received.at(-1)?.cursor ?? probe!.cursor;
        let client: Client = connect(service.url);
        let live: Live<GroupPurchaseChangedSubscription> = follow(client, lastCursor(), received);

        // PayByGroup sends its pushes (two at a time) and re-sends each until acknowledged.
        const progress = new Progress();
        let resent = 0;
        const acked: number[] = [];
        const sender = (async () => {
          const queue = PUSHES.map((events, index) => ({ events, index }));
          const worker = async () => {
            for (let next = queue.shift(); next; next = queue.shift()) {
              resent += (await pushUntilAcknowledged(url, next.events)) - 1;
              acked.push(next.index);
              progress.add();
            }
          };
          await Promise.all([worker(), worker()]);
        })();

        for (const threshold of [6, 14, 22]) {
          await progress.reached(threshold);
          await service.kill9();
          await client.dispose();
          live.stop();
          lines.push(...service.lines);
          service = await spawnApp(port, env);
          // PayByGroup's older re-sends arrive after newer states were acknowledged.
          const older = PURCHASES.map((id) => snapshot(id, Math.max(0, stepOf(acked) - 1)));
          await pushUntilAcknowledged(url, older);
          client = connect(service.url);
          live = follow(client, lastCursor(), received);
        }
        await sender;
        expect(progress.count).toBe(PUSHES.length);
        // A process that died mid-push blocked nothing: every answer from a live one was yes.
        expect(refusedByALiveProcess).toBe(0);
        // The kills landed mid-stream: some pushes had to be sent again ...
        expect(resent).toBeGreaterThan(0);
        // ... and some older re-sends arrived after newer states: kept out as stale.
        lines.push(...service.lines);
        expect(lines.some((line) => line.includes('stale purchase observations'))).toBe(true);
        for (const secret of Object.values(TEST_SECRETS)) {
          expect(lines.filter((line) => line.includes(secret))).toEqual([]);
        }

        // Every acknowledged change is in the log, once, and in lifecycle order.
        const logged = await readLog(service.url, PURCHASES);
        for (const id of PURCHASES) {
          expect(
            logged.filter((c) => c.purchase.purchaseId === id).map((c) => c.purchase.status),
          ).toEqual(['PENDING', 'PAYMENT_COMPLETED', 'COLLECTED', 'REFUNDED']);
        }
        // No purchase ends on an older state.
        const statuses = new Set<string>();
        for (const id of PURCHASES) {
          const read = await graphql(
            service.url,
            `{ groupPurchase(purchaseId: "${id}") { status } }`,
          );
          statuses.add((read.data as { groupPurchase: { status: string } }).groupPurchase.status);
        }
        expect(statuses).toEqual(new Set(['REFUNDED']));
        // The resumed subscriber received exactly the log: nothing missed, nothing twice.
        await live.waitFor(logged.length - received.length + live.events.length, 30_000);
        expect(received.map((c) => c.cursor)).toEqual(logged.map((c) => c.cursor));
        await client.dispose();
        await service.stop();
      },
    );
  }
});

/** A subscription to the 40 purchases after `after`, appending what arrives to `received`. */
function follow(
  client: Client,
  after: string | undefined,
  received: Changed[],
): Live<GroupPurchaseChangedSubscription> {
  const live = subscribe(client, GroupPurchaseChangedDocument, {
    filter: { purchaseIds: PURCHASES },
    after,
  });
  const push = live.events.push.bind(live.events);
  live.events.push = (...items) => {
    for (const item of items) received.push(item.groupPurchaseChanged);
    return push(...items);
  };
  return live;
}

/** A WebSocket client that expects its server to die: an abnormal close is not worth a log. */
function connect(httpUrl: string): Client {
  return createClient({
    url: `${httpUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
  });
}

/** Counts acknowledged pushes; `reached(n)` is a barrier on that count. */
class Progress {
  count = 0;
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];

  add(): void {
    this.count += 1;
    for (const waiter of this.waiters.filter((w) => w.n <= this.count)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  reached(n: number): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

/** The highest step every acknowledged push so far has reached, at least. */
function stepOf(acked: number[]): number {
  const perStep = PURCHASES.length / PER_PUSH;
  return Math.floor(Math.max(0, ...acked) / perStep);
}

async function readLog(url: string, purchaseIds: string[]): Promise<Changed[]> {
  const out: Changed[] = [];
  let after: string | undefined;
  for (;;) {
    const result = await graphql(url, print(GroupPurchaseChangesDocument), {
      filter: { purchaseIds },
      after,
      first: 500,
    });
    expect(result.errors).toBeUndefined();
    const page = (
      result.data as {
        groupPurchaseChanges: {
          edges: Array<{ node: Changed }>;
          pageInfo: { endCursor: string; hasNextPage: boolean };
        };
      }
    ).groupPurchaseChanges;
    out.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

async function graphql(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ data?: unknown; errors?: unknown[] }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: unknown; errors?: unknown[] };
}

async function storeEnv(
  name: string,
  cleanups: Array<() => Promise<unknown>>,
): Promise<Record<string, string>> {
  const common = { PBG_CACHE_TTL_MS: '600000', PBG_RECONCILE_INTERVAL_MS: '0' };
  if (name === 'SQLite') {
    const dir = mkdtempSync(join(tmpdir(), 'kill9-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return { ...common, STORE_URL: `sqlite:${join(dir, 'payments.db')}` };
  }
  if (name === 'PostgreSQL') {
    const postgres = await startPostgres();
    cleanups.push(() => postgres.close());
    return { ...common, STORE_URL: await postgres.createDatabase() };
  }
  const redis: RedisServer = await startRedisServer();
  cleanups.push(() => redis.close());
  return { ...common, STORE_URL: redis.url, REDIS_URL: redis.url };
}
