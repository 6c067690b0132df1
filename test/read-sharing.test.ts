import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { composeServices } from '@apollo/composition';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { parse } from 'graphql';
import type { ChillrSimulator } from '../src/sandbox/chillr/index.js';
import type { PbgSimulator } from '../src/sandbox/pbg/index.js';
import {
  isoDateInDays,
  startTestApp,
  startTestChillr,
  startTestPbg,
  TEST_SECRETS,
  type TestApp,
} from './helpers/app.js';
import { GateProxy } from './helpers/gate-proxy.js';
import { connectWs, push, subscribe } from './helpers/ws.js';

/**
 * One upstream call per distinct question, across requests. Both simulators
 * run standalone behind a {@link GateProxy}, which counts the calls that reach them and holds
 * them open — so "every caller has arrived while the call is in flight" is a barrier, not a
 * race: the upstream answers only once `payments_upstream_singleflight_total{result="joined"}`
 * says everyone else is waiting for that one call.
 */

const STATUS = '/api/v5/check_collect_status';
const QUERY = '/api/merch_get_purch_info.json';
const ACTION = '/api/purchase_action.json';

const BATCH = 'query ($id: ID!) { collectBatch(id: $id) { id status summary { pending paid } } }';
const PURCHASE =
  'query ($p: ID!) { groupPurchase(purchaseId: $p) { purchaseId status numPeople } }';
const PURCHASES =
  'query ($f: GroupPurchaseFilter) { groupPurchases(filter: $f) { purchaseId status } }';
const ACT = `mutation ($input: PurchaseActionInput!) {
  performPurchaseAction(input: $input) { accepted userErrors { code } }
}`;

type Upstream = 'chillr' | 'pbg';

/** `payments_upstream_singleflight_total{upstream,result}` as GET /metrics serves it now. */
async function flights(app: TestApp, upstream: Upstream, result: 'sent' | 'joined') {
  const text = await (await fetch(app.metricsUrl)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('payments_upstream_singleflight_total{') &&
        l.includes(`upstream="${upstream}"`) &&
        l.includes(`result="${result}"`),
    );
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

/** Both single-flight counters of one upstream, to compare before and after. */
async function counters(app: TestApp, upstream: Upstream) {
  return {
    sent: await flights(app, upstream, 'sent'),
    joined: await flights(app, upstream, 'joined'),
  };
}

/** GraphQL queries the subgraph has served (`payments_graphql_operations_total`, summed). */
async function queriesServed(app: TestApp): Promise<number> {
  const text = await (await fetch(app.metricsUrl)).text();
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('payments_graphql_operations_total{') && l.includes('operation_type="query"'),
    )
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** Resolves once `n` more callers than `base` have joined a flight (the barrier). */
async function joinedBy(app: TestApp, upstream: Upstream, base: number, n: number) {
  await expect
    .poll(() => flights(app, upstream, 'joined'), { timeout: 10_000, interval: 20 })
    .toBe(base + n);
}

describe('one upstream call per distinct question, across requests', () => {
  let chillrSim: ChillrSimulator;
  let pbgSim: PbgSimulator;
  let chillr: GateProxy;
  let pbg: GateProxy;
  let app: TestApp;

  beforeAll(async () => {
    chillrSim = await startTestChillr();
    pbgSim = await startTestPbg();
    chillr = await GateProxy.start(chillrSim.url);
    pbg = await GateProxy.start(pbgSim.url);
    app = await startTestApp({
      CHILLR_BASE_URL: chillr.url,
      PBG_BASE_URL: pbg.url,
      PBG_MERCHANT_ID: 'ABC',
      // Single flight alone: nothing is served from a cache in this app.
      CHILLR_STATUS_CACHE_MS: '0',
      PBG_CACHE_TTL_MS: '0',
      // No sweep may log a change (and move the read stamp) while callers gather.
      PBG_RECONCILE_INTERVAL_MS: '0',
      // A held call must not time out (and be retried: a second call) while callers gather.
      UPSTREAM_TIMEOUT_MS: '60000',
    });
  });
  // A failed case must not leave calls held for the next one.
  afterEach(() => {
    chillr?.reset();
    pbg?.reset();
  });
  afterAll(async () => {
    await app?.close();
    await chillr?.close();
    await pbg?.close();
    await chillrSim?.close();
    await pbgSim?.close();
  });

  /** A pending batch with one Chillr user, created without reading its status. */
  async function newBatch(name: string): Promise<string> {
    const created = await app.raw(
      'mutation ($input: CreateCollectBatchInput!) { createCollectBatch(input: $input) { batchId userErrors { code } } }',
      {
        input: {
          name,
          expiryDate: isoDateInDays(30),
          customers: [{ msisdn: '9447741462', amount: '200' }],
        },
      },
    );
    const payload = (created.json.data as { createCollectBatch: { batchId: string } })
      .createCollectBatch;
    return payload.batchId;
  }

  /** A purchase of merchant ABC in PayByGroup only (this service has not seen it). */
  async function newPurchase(status?: string): Promise<string> {
    const purchaseId = `RS_${randomUUID().slice(0, 12)}`;
    await pbgSim.startPurchase({ purchaseId, numPeople: 4 });
    if (status) await pbgSim.updatePurchase(purchaseId, { status, num_paid: 4 }, { push: false });
    return purchaseId;
  }

  describe('Chillr status reads', () => {
    it('should make one status call for 50 concurrent identical requests', async () => {
      const id = await newBatch('fifty at once');
      const before = await counters(app, 'chillr');
      const calls = chillr.count(STATUS);
      const gate = chillr.hold(STATUS);
      const requests = Array.from({ length: 50 }, () => app.raw(BATCH, { id }));
      await gate.arrived(1);
      await joinedBy(app, 'chillr', before.joined, 49);
      expect(chillr.count(STATUS)).toBe(calls + 1);
      gate.release();
      const answers = await Promise.all(requests);
      for (const answer of answers) {
        expect(answer.json).toEqual({
          data: { collectBatch: { id, status: 'ACTIVE', summary: { pending: 1, paid: 0 } } },
        });
      }
      expect(chillr.count(STATUS)).toBe(calls + 1);
      expect(await counters(app, 'chillr')).toEqual({
        sent: before.sent + 1,
        joined: before.joined + 49,
      });
    });

    it('should make 10 status calls for _entities with 100 representations over 10 ids', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push(await newBatch(`entity ${i}`));
      const calls = chillr.count(STATUS);
      const result = await app.raw(
        'query ($r: [_Any!]!) { _entities(representations: $r) { ... on CollectBatch { id status } } }',
        {
          r: Array.from({ length: 100 }, (_, i) => ({
            __typename: 'CollectBatch',
            id: ids[i % 10],
          })),
        },
      );
      expect(result.json.errors).toBeUndefined();
      const entities = (result.json.data as { _entities: Array<{ id: string; status: string }> })
        ._entities;
      expect(entities).toHaveLength(100);
      expect(entities[37]).toEqual({ id: ids[7], status: 'ACTIVE' });
      expect(chillr.count(STATUS)).toBe(calls + 10);
    });

    it('should share a failure only with the callers of its flight, and send a new call for the next', async () => {
      const id = await newBatch('fails once');
      const before = await counters(app, 'chillr');
      const calls = chillr.count(STATUS);
      const gate = chillr.hold(STATUS);
      const requests = Array.from({ length: 10 }, () => app.raw(BATCH, { id }));
      await gate.arrived(1);
      await joinedBy(app, 'chillr', before.joined, 9);
      // A body that is not JSON: not retried, so one call fails all ten callers.
      gate.release({ forward: false, status: 200, body: '<html>upstream hiccup</html>' });
      const answers = await Promise.all(requests);
      for (const answer of answers) {
        expect(answer.json.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
        expect(answer.json.data).toEqual({ collectBatch: null });
      }
      expect(chillr.count(STATUS)).toBe(calls + 1);
      // The failure was not kept: the next caller sends its own call and gets the batch.
      const next = await app.raw(BATCH, { id });
      expect(next.json).toEqual({
        data: { collectBatch: { id, status: 'ACTIVE', summary: { pending: 1, paid: 0 } } },
      });
      expect(chillr.count(STATUS)).toBe(calls + 2);
      expect(await counters(app, 'chillr')).toEqual({
        sent: before.sent + 2,
        joined: before.joined + 9,
      });
    });

    it('should keep nothing once a flight has landed: the next reader asks Chillr again', async () => {
      const id = await newBatch('no cache at 0');
      const calls = chillr.count(STATUS);
      for (let i = 0; i < 3; i++) await app.raw(BATCH, { id });
      expect(chillr.count(STATUS)).toBe(calls + 3);
    });

    it('should let the collectBatchUpdated poller and a request share one call', async () => {
      const id = await newBatch('polled');
      const before = await counters(app, 'chillr');
      const calls = chillr.count(STATUS);
      const gate = chillr.hold(STATUS);
      const ws = connectWs(app.url);
      try {
        const live = subscribe(
          ws,
          'subscription ($id: ID!) { collectBatchUpdated(id: $id) { id status } }',
          {
            id,
          },
        );
        // The poller's first read is at the upstream; a request asks the same meanwhile.
        await gate.arrived(1);
        const request = app.raw(BATCH, { id });
        await joinedBy(app, 'chillr', before.joined, 1);
        gate.release();
        expect((await request).json.data).toEqual({
          collectBatch: { id, status: 'ACTIVE', summary: { pending: 1, paid: 0 } },
        });
        expect(await live.waitFor(1, 10_000)).toEqual([
          { collectBatchUpdated: { id, status: 'ACTIVE' } },
        ]);
        live.stop();
        expect(chillr.count(STATUS)).toBe(calls + 1);
      } finally {
        await ws.dispose();
      }
    });
  });

  describe('through @apollo/gateway', () => {
    let gateway: ApolloServer | undefined;
    let gatewayUrl: string;

    beforeAll(async () => {
      // A static supergraph composed here from the committed SDL (what a router is given).
      const sdl = await readFile(new URL('../schema.graphql', import.meta.url), 'utf8');
      const composed = composeServices([
        { name: 'payments', typeDefs: parse(sdl), url: `${app.url}/graphql` },
      ]);
      expect(composed.errors ?? []).toEqual([]);
      // @apollo/gateway refuses features linked `for: SECURITY` (Apollo Router enforces them).
      const supergraphSdl = composed.supergraphSdl!.replaceAll(', for: SECURITY)', ')');
      gateway = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) });
      gatewayUrl = (
        await startStandaloneServer(gateway, { listen: { port: 0, host: '127.0.0.1' } })
      ).url;
    });
    afterAll(async () => {
      await gateway?.stop();
    });

    it('should cost 3 Chillr calls for one query with 20 aliases over 3 pending batches', async () => {
      const ids = [await newBatch('g0'), await newBatch('g1'), await newBatch('g2')];
      const calls = chillrSim.calls.checkCollectStatus;
      const subgraphQueries = await queriesServed(app);
      const fields = Array.from(
        { length: 20 },
        (_, i) => `a${i}: collectBatch(id: "${ids[i % 3]}") { id status summary { total } }`,
      );
      const response = await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `{ ${fields.join('\n')} }` }),
      });
      const body = (await response.json()) as {
        data?: Record<string, { id: string; status: string }>;
        errors?: unknown;
      };
      expect(body.errors).toBeUndefined();
      expect(Object.keys(body.data!)).toHaveLength(20);
      expect(body.data!.a4).toEqual({ id: ids[1], status: 'ACTIVE', summary: { total: 1 } });
      expect(chillrSim.calls.checkCollectStatus).toBe(calls + 3);
      // The gateway plans the twenty root fields as one subgraph request; its DataLoader then
      // asks once per id (separate requests would share calls only while they overlap).
      expect(await queriesServed(app)).toBe(subgraphQueries + 1);
    });
  });

  describe('PayByGroup query reads', () => {
    it('should make one PayByGroup query for 50 concurrent identical groupPurchase requests', async () => {
      const purchaseId = await newPurchase();
      const before = await counters(app, 'pbg');
      const queries = pbg.count(QUERY);
      const gate = pbg.hold(QUERY);
      const requests = Array.from({ length: 50 }, () => app.raw(PURCHASE, { p: purchaseId }));
      await gate.arrived(1);
      await joinedBy(app, 'pbg', before.joined, 49);
      gate.release();
      for (const answer of await Promise.all(requests)) {
        expect(answer.json).toEqual({
          data: { groupPurchase: { purchaseId, status: 'PENDING', numPeople: 4 } },
        });
      }
      expect(pbg.count(QUERY)).toBe(queries + 1);
      expect(await counters(app, 'pbg')).toEqual({
        sent: before.sent + 1,
        joined: before.joined + 49,
      });
    });

    it('should make one PayByGroup query for 50 concurrent identical groupPurchases requests', async () => {
      const purchaseId = await newPurchase();
      const before = await counters(app, 'pbg');
      const queries = pbg.count(QUERY);
      const gate = pbg.hold(QUERY);
      // Key order in the filter does not make a different question.
      const filters = [
        { purchaseId, status: ['PENDING'] },
        { status: ['PENDING'], purchaseId },
      ];
      const requests = Array.from({ length: 50 }, (_, i) =>
        app.raw(PURCHASES, { f: filters[i % 2] }),
      );
      await gate.arrived(1);
      await joinedBy(app, 'pbg', before.joined, 49);
      gate.release();
      for (const answer of await Promise.all(requests)) {
        expect(answer.json).toEqual({
          data: { groupPurchases: [{ purchaseId, status: 'PENDING' }] },
        });
      }
      expect(pbg.count(QUERY)).toBe(queries + 1);
    });

    it('should not share a read between questions for different merchants', async () => {
      const purchaseId = await newPurchase();
      const before = await counters(app, 'pbg');
      const queries = pbg.count(QUERY);
      const gate = pbg.hold(QUERY);
      const ours = app.raw(PURCHASES, { f: { purchaseId } });
      const theirs = app.raw(PURCHASES, { f: { purchaseId, merchantId: 'SOMEONE_ELSE' } });
      await gate.arrived(2);
      gate.release();
      await Promise.all([ours, theirs]);
      expect(pbg.count(QUERY)).toBe(queries + 2);
      expect(await counters(app, 'pbg')).toEqual({ sent: before.sent + 2, joined: before.joined });
    });

    it('should never answer the read-back of a lost action from a read in flight before it', async () => {
      const purchaseId = await newPurchase('payment_completed');
      const key = `rb-${randomUUID()}`;
      const input = { purchaseId, action: 'COLLECT_FUNDS', idempotencyKey: key };
      const before = await counters(app, 'pbg');
      const queries = pbg.count(QUERY);
      const actions = pbgSim.calls.action;
      // A read of the purchase is answered by PayByGroup (PAYMENT_COMPLETED) but held on its way
      // back, so it is still in flight when the action below happens.
      const gate = pbg.hold(QUERY, { times: 1, answerFirst: true });
      const reading = app.raw(PURCHASE, { p: purchaseId });
      await gate.arrived(1);
      try {
        // PayByGroup collects, and the answer is lost: the key's outcome is unknown.
        pbg.replaceNext(ACTION, { forward: true, status: 502, body: '<html>502</html>' });
        const lost = await app.raw(ACT, { input });
        expect(lost.json.errors?.[0]?.extensions?.code).toBe('UPSTREAM_OUTCOME_UNKNOWN');
        // The retry reads the purchase back. The question is the very one in flight (same
        // merchant, same purchase, nothing logged since), yet it must send its own query: the
        // read in flight shows the purchase before the action, and would send COLLECT_FUNDS again.
        const retry = app.raw(ACT, { input });
        retry.catch(() => undefined); // awaited below, unless the poll fails first
        await expect.poll(() => pbg.count(QUERY), { timeout: 10_000 }).toBe(queries + 2);
        expect((await retry).json).toEqual({
          data: { performPurchaseAction: { accepted: true, userErrors: [] } },
        });
      } finally {
        gate.release();
      }
      expect(pbgSim.calls.action).toBe(actions + 1);
      expect((await counters(app, 'pbg')).joined).toBe(before.joined);
      // The held read lands after the read-back was recorded: kept out as stale.
      expect((await reading).json).toEqual({
        data: { groupPurchase: { purchaseId, status: 'COLLECTED', numPeople: 4 } },
      });
    });

    it('should observe a shared read with the stamp of its own request, so a push in between wins', async () => {
      const purchaseId = await newPurchase();
      expect((await app.raw(PURCHASE, { p: purchaseId })).json.data).toEqual({
        groupPurchase: { purchaseId, status: 'PENDING', numPeople: 4 },
      });
      const before = await counters(app, 'pbg');
      const queries = pbg.count(QUERY);
      // Read 1 is answered (4 people) and held; read 2 joins it before anything changes.
      const gate = pbg.hold(QUERY, { times: 1, answerFirst: true });
      const first = app.raw(PURCHASE, { p: purchaseId });
      await gate.arrived(1);
      const joiner = app.raw(PURCHASE, { p: purchaseId });
      await joinedBy(app, 'pbg', before.joined, 1);
      // Then a fifth person joins and PayByGroup pushes it.
      await pbgSim.updatePurchase(purchaseId, { num_people: 5 }, { push: false });
      expect(
        await push(app, {
          merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH,
          events: [
            { purchase_id: purchaseId, merchant_id: 'ABC', status: 'pending', num_people: 5 },
          ],
        }),
      ).toEqual({ status: 200, json: { result: true } });
      // A reader after the push does not join the older read: it sends its own.
      const after = app.raw(PURCHASE, { p: purchaseId });
      after.catch(() => undefined); // awaited below, unless the poll fails first
      await expect.poll(() => pbg.count(QUERY), { timeout: 10_000 }).toBe(queries + 2);
      expect((await after).json.data).toEqual({
        groupPurchase: { purchaseId, status: 'PENDING', numPeople: 5 },
      });
      const stale = app.purchaseState.stats().stale;
      gate.release();
      // The older read (4 people) is kept out, for its sender and its joiner alike.
      for (const answer of [await first, await joiner]) {
        expect(answer.json.data).toEqual({
          groupPurchase: { purchaseId, status: 'PENDING', numPeople: 5 },
        });
      }
      expect(app.purchaseState.stats().stale).toBe(stale + 1);
      expect((await app.purchaseState.current([purchaseId])).get(purchaseId)?.numPeople).toBe(5);
      expect((await counters(app, 'pbg')).joined).toBe(before.joined + 1);
    });
  });
});
