import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChillrSimulator } from '../src/sandbox/chillr/index.js';
import type { PbgSimulator } from '../src/sandbox/pbg/index.js';
import {
  CollectBatchDocument,
  CreateCollectBatchDocument,
  GroupPurchaseChangesDocument,
  PerformPurchaseActionDocument,
  type GroupPurchaseChangedSubscription,
} from './generated/graphql.js';
import {
  isoDateInDays,
  startTestApp,
  startTestChillr,
  startTestPbg,
  TEST_SECRETS,
  type TestApp,
} from './helpers/app.js';
import { GateProxy } from './helpers/gate-proxy.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from './helpers/postgres.js';
import { connectWs, push, subscribe, untilLive, type Live } from './helpers/ws.js';

/**
 * Two instances (A and B) on one real PostgreSQL server and nothing else: no REDIS_URL, so the
 * change log's wake-ups cross instances only through LISTEN/NOTIFY. Both talk to one Chillr
 * simulator; change pushes are plain HTTP POSTs to whichever instance, as PayByGroup sends them.
 */

const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;
type Changed = GroupPurchaseChangedSubscription;
const skip = postgresSkipReason();

describe.skipIf(skip !== undefined)(
  `scale-out: two instances on one PostgreSQL, no Redis${skip ? ` (${skip})` : ''}`,
  () => {
    let postgres: PostgresServer;
    let sim: ChillrSimulator;
    /** Between the instances and Chillr: counts and holds requests. */
    let chillr: GateProxy;
    /** One PayByGroup simulator for both instances, behind its own proxy. */
    let pbgSim: PbgSimulator;
    let pbg: GateProxy;
    let a: TestApp;
    let b: TestApp;
    let clientA: Client;
    let clientB: Client;
    const outboxDir = mkdtempSync(join(tmpdir(), 'outbox-shared-'));
    const lives: Array<Live<unknown>> = [];
    const track = <R>(live: Live<R>): Live<R> => {
      lives.push(live as Live<unknown>);
      return live;
    };

    beforeAll(async () => {
      postgres = await startPostgres();
      sim = await startTestChillr();
      chillr = await GateProxy.start(sim.url);
      pbgSim = await startTestPbg();
      pbg = await GateProxy.start(pbgSim.url);
      const env = {
        STORE_URL: await postgres.createDatabase(),
        CHILLR_BASE_URL: chillr.url,
        PBG_BASE_URL: pbg.url,
        PBG_MERCHANT_ID: 'ABC',
        PBG_RECONCILE_INTERVAL_MS: '0',
        PG_POOL_MAX: '5',
        PBG_CACHE_TTL_MS: '60000',
        // Two processes on one host share the outbox journal directory, so a retry on the one
        // that did not call the upstream can read the outcome the other journaled.
        OUTBOX_DIR: outboxDir,
      };
      [a, b] = await Promise.all([startTestApp(env), startTestApp(env)]);
      clientA = connectWs(a.url);
      clientB = connectWs(b.url);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([clientA?.dispose(), clientB?.dispose()]);
      await Promise.all([a?.close(), b?.close()]);
      await chillr?.close();
      await pbg?.close();
      await sim?.close();
      await pbgSim?.close();
      await postgres?.close();
      rmSync(outboxDir, { recursive: true, force: true });
    });
    beforeEach(() => sim.resetCalls());
    afterEach(() => {
      for (const live of lives.splice(0)) live.stop();
      chillr.reset();
      pbg.reset();
    });

    const batchInput = (name: string, idempotencyKey: string) => ({
      name,
      expiryDate: isoDateInDays(30),
      customers: [
        { msisdn: '9447741462', amount: '200' },
        { msisdn: '9633789451', amount: '600' },
      ],
      idempotencyKey,
    });

    it('should read a batch created on A with its name on B', async () => {
      const created = await a.gql(CreateCollectBatchDocument, {
        input: batchInput('Water bill', `pg-read-${randomUUID()}`),
      });
      expect(created.errors).toBeUndefined();
      const id = created.data!.createCollectBatch.batch!.id;
      expect(sim.calls.collect).toBe(1);
      const onB = await b.gql(CollectBatchDocument, { id });
      expect(onB.errors).toBeUndefined();
      expect(onB.data!.collectBatch).toMatchObject({ id, name: 'Water bill' });
    });

    it('should act once upstream for one idempotencyKey sent to A and B at once', async () => {
      const input = batchInput('Both at once', `pg-concurrent-${randomUUID()}`);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).gql(CreateCollectBatchDocument, { input }),
        ),
      );
      for (const result of results) {
        expect(result.errors).toBeUndefined();
        expect(result.data!.createCollectBatch.userErrors).toEqual([]);
      }
      const ids = new Set(results.map((r) => r.data!.createCollectBatch.batch?.id));
      expect(ids.size).toBe(1);
      expect([...ids][0]).toMatch(/^[0-9a-f]{24}$/);
      expect(sim.calls.collect).toBe(1);
    });

    it('should deliver 200 pushes split over A and B to a subscriber on A once each, and the 150 after the 50th to a resumer on B, in the same order', async () => {
      const subscription = `subscription($after: String) {
        groupPurchaseChanged(filter: { merchantId: "SPLIT" }, after: $after) {
          eventId purchase { purchaseId } } }`;
      const onA = track(subscribe<Changed>(clientA, subscription, {}));
      await untilLive(clientA, b);
      const ids = Array.from({ length: 200 }, (_, i) => `SPLIT_${i}`);
      let resumer: Live<Changed> | undefined;
      for (let start = 0; start < ids.length; start += 10) {
        const answers = await Promise.all(
          ids.slice(start, start + 10).map((id, k) =>
            push(k % 2 === 0 ? a : b, {
              merchant_auth: auth,
              events: [{ purchase_id: id, merchant_id: 'SPLIT', status: 'pending', num_people: 3 }],
            }),
          ),
        );
        expect(answers).toEqual(answers.map(() => ({ status: 200, json: { result: true } })));
        if (!resumer && onA.events.length >= 50) {
          // Resumes while pushes still arrive: its replay meets the live tail on B.
          const after = onA.events[49]!.groupPurchaseChanged.eventId;
          resumer = track(subscribe<Changed>(clientB, subscription, { after }));
        }
      }
      const all = await onA.waitFor(200, 30_000);
      expect(new Set(all.map((e) => e.groupPurchaseChanged.purchase.purchaseId))).toEqual(
        new Set(ids),
      );
      expect(resumer).toBeDefined();
      const rest = await resumer!.waitFor(150, 30_000);
      expect(rest.map((e) => e.groupPurchaseChanged.eventId)).toEqual(
        all.slice(50).map((e) => e.groupPurchaseChanged.eventId),
      );
      // Barrier for "nothing more arrives": one more change, through B, is the next event on
      // both, so a repeat of any of the 200 would have come before it.
      expect(
        await push(b, {
          merchant_auth: auth,
          events: [{ purchase_id: 'SPLIT_END', merchant_id: 'SPLIT', status: 'pending' }],
        }),
      ).toEqual({ status: 200, json: { result: true } });
      const [lastA, lastB] = await Promise.all([onA.waitFor(201), resumer!.waitFor(151)]);
      expect(lastA.at(-1)!.groupPurchaseChanged.purchase.purchaseId).toBe('SPLIT_END');
      expect(lastB.at(-1)!.groupPurchaseChanged.purchase.purchaseId).toBe('SPLIT_END');
      expect(onA.events).toHaveLength(201);
      expect(resumer!.events).toHaveLength(151);
      expect([...onA.errors, ...resumer!.errors]).toEqual([]);
    }, 90_000);

    it('should keep every push acknowledged while PostgreSQL crashes and restarts', async () => {
      const acknowledged: string[] = [];
      const refused: string[] = [];
      let n = 0;
      const pushOne = async () => {
        const id = `CRASH_${n++}`;
        const answer = await push(n % 2 === 0 ? a : b, {
          merchant_auth: auth,
          events: [{ purchase_id: id, merchant_id: 'CRASH', status: 'pending', num_people: 2 }],
        }).catch((error: Error) => ({ status: 0, json: error.message }));
        (JSON.stringify(answer.json) === '{"result":true}' ? acknowledged : refused).push(id);
      };
      // Two pushers keep going through all three phases.
      let phase: 'before' | 'down' | 'after' | 'stop' = 'before';
      const pushers = Array.from({ length: 2 }, async () => {
        while (phase !== 'stop') await pushOne();
      });
      const until = async (condition: () => boolean) => {
        while (!condition()) await new Promise((resolve) => setImmediate(resolve));
      };
      await until(() => acknowledged.length >= 20);
      await postgres.crash();
      phase = 'down';
      await until(() => refused.length >= 5);
      const ackedBeforeRestart = acknowledged.length;
      await postgres.start();
      phase = 'after';
      await until(() => acknowledged.length >= ackedBeforeRestart + 20);
      phase = 'stop';
      await Promise.all(pushers);

      // Everything acknowledged is in the log, read through groupPurchaseChanges on both.
      for (const app of [a, b]) {
        const logged = new Set<string>();
        let after: string | undefined;
        for (;;) {
          const page = await app.gql(GroupPurchaseChangesDocument, {
            filter: { merchantId: 'CRASH' },
            after,
            first: 100,
          });
          expect(page.errors).toBeUndefined();
          const connection = page.data!.groupPurchaseChanges;
          for (const edge of connection.edges) logged.add(edge.node.purchase.purchaseId);
          after = connection.pageInfo.endCursor ?? after;
          if (!connection.pageInfo.hasNextPage) break;
        }
        expect(acknowledged.filter((id) => !logged.has(id))).toEqual([]);
      }
      expect(refused.length).toBeGreaterThanOrEqual(5);
    }, 90_000);

    it('should answer one batch id for a create Chillr accepted just before PostgreSQL crashed, acting once', async () => {
      const input = batchInput('Crash after accept', `pg-crash-${randomUUID()}`);
      const create = (app: TestApp) => app.gql(CreateCollectBatchDocument, { input });
      const batchIdOf = (answer: Awaited<ReturnType<typeof create>>) =>
        answer.data?.createCollectBatch.batch?.id ?? answer.data?.createCollectBatch.batchId;
      // Chillr acts on the create; its answer is held while PostgreSQL crashes.
      const gate = chillr.hold('/api/v5/collect', { times: 1, answerFirst: true });
      const first = create(a);
      await gate.arrived();
      expect(sim.calls.collect).toBe(1);
      await postgres.crash();
      gate.release();
      const firstAnswer = await first;
      const duringOutage = await Promise.all([create(a), create(b)]);
      await postgres.start();
      const afterRecovery = await Promise.all([create(a), create(b), create(a), create(b)]);

      expect(sim.calls.collect).toBe(1);
      // The first caller is told the batch Chillr made, although the store went away.
      const id = batchIdOf(firstAnswer);
      expect(id).toMatch(/^[0-9a-f]{24}$/);
      // A retry while the store is away answers that id on either instance: A from its
      // outbox, B from A's journal in the shared directory.
      for (const answer of duringOutage) expect(batchIdOf(answer)).toBe(id);
      // After recovery every retry, on either instance, answers it.
      for (const answer of afterRecovery) expect(batchIdOf(answer)).toBe(id);
    }, 60_000);

    it('should answer accepted for a COLLECT_FUNDS PayByGroup applied just before PostgreSQL crashed, acting once', async () => {
      const input = {
        purchaseId: 'ABC_98765',
        action: 'COLLECT_FUNDS',
        idempotencyKey: `pg-collect-${randomUUID()}`,
      } as const;
      const act = (app: TestApp) => app.gql(PerformPurchaseActionDocument, { input });
      const actionsBefore = pbgSim.calls.action;
      // PayByGroup applies the action; its answer is held while PostgreSQL crashes.
      const gate = pbg.hold('/api/purchase_action.json', { times: 1, answerFirst: true });
      const first = act(a);
      await gate.arrived();
      await postgres.crash();
      gate.release();
      const firstAnswer = await first;
      const duringOutage = await Promise.all([act(a), act(b)]);
      await postgres.start();
      const retries = await Promise.all([act(a), act(b), act(a), act(b)]);

      // While the store is away, both instances answer accepted from the journaled outcome;
      // only the purchase read beside it (a store read) may be missing, and says why.
      for (const retry of duringOutage) {
        expect(retry.data?.performPurchaseAction.accepted).toBe(true);
        for (const error of retry.errors ?? []) {
          expect(error.path).toEqual(['performPurchaseAction', 'purchase']);
          expect(error.extensions?.code).toBe('STORE_UNAVAILABLE');
        }
      }
      expect(pbgSim.calls.action - actionsBefore).toBe(1);
      expect(firstAnswer.data?.performPurchaseAction.accepted).toBe(true);
      for (const retry of retries) {
        const code = retry.errors?.[0]?.extensions?.code;
        // Never "rejected" for money that moved: accepted, or not known yet.
        expect(code).not.toBe('ACTION_REJECTED');
        expect(retry.data?.performPurchaseAction?.userErrors ?? []).toEqual([]);
        if (code === undefined) expect(retry.data?.performPurchaseAction.accepted).toBe(true);
        else expect(['UPSTREAM_OUTCOME_UNKNOWN', 'STORE_UNAVAILABLE']).toContain(code);
      }
    }, 60_000);

    it('should never write the database password to a log line, through crashes included', () => {
      const lines = [...a.logs, ...b.logs];
      expect(lines.some((line) => line.includes('PostgreSQL connection lost'))).toBe(true);
      expect(lines.filter((line) => line.includes('test-secret'))).toEqual([]);
    });
  },
);
