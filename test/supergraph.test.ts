import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEFAULTS } from '../src/config.js';
import { isoDateInDays } from './helpers/app.js';
import { freePort, spawnNode, tempDir, type ServiceProcess } from './helpers/process.js';
import { subscribeSse } from './helpers/sse.js';
import { connectWs, subscribe } from './helpers/ws.js';

// Tests read arbitrary paths of GraphQL JSON; `any` keeps those reads short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/**
 * `npm run supergraph` as a real process (node dist/src/tools/supergraph.js on free ports):
 * this subgraph, the example orders subgraph and Hive Gateway over the composed supergraph.
 * Everything below goes through the gateway's HTTP, graphql-ws and SSE endpoints.
 */
describe('npm run supergraph: Hive Gateway over payments + orders', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let stack: ServiceProcess;
  let gatewayUrl: string;
  let paymentsUrl: string;
  let chillrUrl: string;
  let ws: Client;

  beforeAll(async () => {
    dir = await tempDir('payments-supergraph-');
    const chillrPort = await freePort();
    chillrUrl = `http://127.0.0.1:${chillrPort}`;
    stack = await spawnNode(
      'dist/src/tools/supergraph.js',
      {
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: String(await freePort()),
        CHILLR_SANDBOX_PORT: String(chillrPort),
        PBG_SANDBOX_PORT: '0',
        ORDERS_PORT: '0',
        GATEWAY_PORT: '0',
        STORE_URL: `sqlite:${dir.dir}/payments.db`,
        SUPERGRAPH_FILE: path.join(dir.dir, 'supergraph.graphql'),
        CHILLR_POLL_INTERVAL_MS: '100',
        // The gateway must present it on HTTP and graphql-ws, as a production router does.
        ROUTER_SECRET: 'supergraph-test-router-secret',
        PBG_CACHE_TTL_MS: '0',
        // It counts the Chillr calls of reads right after the creates' own status reads.
        CHILLR_STATUS_CACHE_MS: '0',
      },
      { ready: /"gateway":"(http:\/\/[^"]+)".*"payments":"(http:\/\/[^"]+)".*supergraph ready/ },
    );
    gatewayUrl = stack.url;
    paymentsUrl = stack.ready[2]!;
    // The gateway loads its schema on the first request: one plain query before subscribing.
    expect((await gql('{ orders { id } }')).orders.length).toBeGreaterThan(0);
    ws = connectWs(gatewayUrl.replace(/\/graphql$/, ''));
  });
  afterAll(async () => {
    await ws?.dispose();
    if (stack) expect(await stack.stop('SIGTERM')).toBe(0);
    await dir?.remove();
  });

  async function gql(query: string, variables?: Json): Promise<Json> {
    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Json;
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return body.data as Json;
  }

  const createBatch = async (msisdn: string): Promise<string> =>
    (
      await gql(
        `mutation($input: CreateCollectBatchInput!) { createCollectBatch(input: $input) {
          batch { id status } userErrors { message } } }`,
        {
          input: {
            name: 'Supergraph test',
            expiryDate: isoDateInDays(3),
            customers: [{ msisdn, amount: '15' }],
            idempotencyKey: randomUUID(),
          },
        },
      )
    ).createCollectBatch.batch.id;

  const chillrCalls = async (): Promise<Json> =>
    (await fetch(`${chillrUrl}/_sandbox/calls`)).json() as Promise<Json>;

  it('should write the composed supergraph with both subgraphs', async () => {
    const sdl = await readFile(path.join(dir.dir, 'supergraph.graphql'), 'utf8');
    expect(sdl).toContain('PAYMENTS @join__graph(name: "payments"');
    expect(sdl).toContain('ORDERS @join__graph(name: "orders"');
  });

  it('should resolve 20 orders over 3 batch ids with 3 Chillr calls', async () => {
    const batchIds = [
      await createBatch('9447741462'),
      await createBatch('9447741472'),
      await createBatch('9447741482'),
    ];
    const orderIds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const placed = await gql(
        `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`,
        { input: { description: `Order ${i}`, collectBatchId: batchIds[i % 3] } },
      );
      orderIds.push(placed.placeOrder.id);
    }
    await fetch(`${chillrUrl}/_sandbox/calls`, { method: 'DELETE' });

    const data = await gql(
      `query($ids: [ID!]) { orders(ids: $ids) { id collectBatch { id status
        payments { msisdn status amount { amount currency } } } } }`,
      { ids: orderIds },
    );
    expect(data.orders).toHaveLength(20);
    data.orders.forEach((order: Json, i: number) => {
      expect(order.collectBatch).toMatchObject({ id: batchIds[i % 3], status: 'ACTIVE' });
      expect(order.collectBatch.payments[0].amount).toEqual({ amount: '15.00', currency: 'INR' });
    });
    const calls = await chillrCalls();
    expect(calls.checkCollectStatus).toBe(3);
    expect(Object.keys(calls.byBatchId).sort()).toEqual([...batchIds].sort());
  });

  it('should run no mutation from a cross-site form POST or GET, and grant CORS to no foreign origin', async () => {
    const mutation = `mutation { createCollectBatch(input: { name: "CSRF", expiryDate: "${isoDateInDays(3)}",
      customers: [{ msisdn: "9447741462", amount: "10" }], idempotencyKey: "${randomUUID()}" }) { batchId } }`;
    const evil = 'http://evil.example';
    const before = (await chillrCalls()).collect as number;
    const attempts = [
      fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: evil },
        body: new URLSearchParams({ query: mutation }).toString(),
      }),
      fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: evil },
        body: JSON.stringify({ query: mutation }),
      }),
      fetch(`${gatewayUrl}?query=${encodeURIComponent(mutation)}`, { headers: { origin: evil } }),
    ];
    for (const response of await Promise.all(attempts)) {
      const text = await response.text();
      expect(response.status, text).toBeGreaterThanOrEqual(400);
      expect(text).not.toContain('batchId');
      expect(response.headers.get('access-control-allow-origin')).not.toBe(evil);
    }
    expect((await chillrCalls()).collect).toBe(before);

    const preflight = (origin: string) =>
      fetch(gatewayUrl, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const foreign = await preflight(evil);
    expect(foreign.headers.get('access-control-allow-origin')).not.toBe(evil);
    expect(foreign.headers.get('access-control-allow-origin')).not.toBe('*');
    expect(foreign.headers.get('access-control-allow-credentials')).toBeNull();
    // The gateway's own origin (the default allow-list) is granted.
    const own = new URL(gatewayUrl).origin;
    expect((await preflight(own)).headers.get('access-control-allow-origin')).toBe(own);

    // WebSockets are outside CORS: a browser upgrade from another site is refused outright.
    const refused = await new Promise<string>((resolve) => {
      const socket = new WebSocket(gatewayUrl.replace(/^http/, 'ws'), 'graphql-transport-ws', {
        origin: evil,
      });
      socket.on('unexpected-response', (_req, res) => resolve(`HTTP ${res.statusCode}`));
      socket.on('open', () => {
        socket.close();
        resolve('open');
      });
      socket.on('error', () => resolve('error'));
    });
    expect(refused).not.toBe('open');
  });

  it('should deliver groupPurchaseChanged over graphql-ws and SSE after a mutation', async () => {
    const probeId = `PROBE_${randomUUID()}`;
    const query = `subscription($ids: [ID!]) { groupPurchaseChanged(filter: { purchaseIds: $ids }) {
      previousStatus changedFields purchase { purchaseId status } } }`;
    const variables = { ids: [probeId, 'ABC_98765'] };
    const overWs = subscribe<Json>(ws, query, variables);
    const overSse = subscribeSse<Json>(gatewayUrl, query, variables);
    try {
      // Barrier: both subscriptions have reached the subgraph once a probe push reaches them.
      for (let attempt = 1; overWs.events.length === 0 || overSse.events.length === 0; attempt++) {
        expect(attempt, 'no probe event reached both subscriptions').toBeLessThanOrEqual(50);
        await fetch(paymentsUrl.replace(/\/graphql$/, '/pbg/change_push'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            merchant_auth: SANDBOX_DEFAULTS.pbgMerchantAuth,
            events: [{ purchase_id: probeId, status: 'pending', num_people: attempt }],
          }),
        });
        await Promise.all([overWs.waitFor(1, 200), overSse.waitFor(1, 200)]).catch(() => undefined);
      }
      // Read first, as a frontend would: the change then reports what it changed from.
      const read = await gql('{ groupPurchase(purchaseId: "ABC_98765") { status } }');
      expect(read.groupPurchase.status).toBe('PAYMENT_COMPLETED');
      const acted = await gql(`mutation { performPurchaseAction(input: { purchaseId: "ABC_98765",
        action: COLLECT_FUNDS, idempotencyKey: "${randomUUID()}" }) { accepted purchase { status } } }`);
      expect(acted.performPurchaseAction).toMatchObject({ accepted: true });

      // Probe events may still be arriving, and the read above is this service's first sight
      // of the purchase (a change of its own): look for the collection by content.
      const ours = (live: { events: Json[] }) =>
        live.events.find(
          (e) =>
            e.groupPurchaseChanged.purchase.purchaseId === 'ABC_98765' &&
            e.groupPurchaseChanged.purchase.status === 'COLLECTED',
        );
      for (const live of [overWs, overSse]) {
        await expect.poll(() => ours(live), { timeout: 10_000 }).toBeDefined();
        expect(ours(live)!.groupPurchaseChanged).toMatchObject({
          previousStatus: 'PAYMENT_COMPLETED',
          changedFields: ['status'],
          purchase: { purchaseId: 'ABC_98765', status: 'COLLECTED' },
        });
      }
      expect(overWs.errors).toEqual([]);
      expect(overSse.errors).toEqual([]);
    } finally {
      overWs.stop();
      overSse.stop();
    }
  });

  it('should deliver collectBatchUpdated over graphql-ws and SSE until the batch completes', async () => {
    const batchId = await createBatch('9447741492');
    const query = `subscription($id: ID!) { collectBatchUpdated(id: $id) { id status summary { paid pending } } }`;
    const overWs = subscribe<Json>(ws, query, { id: batchId });
    const overSse = subscribeSse<Json>(gatewayUrl, query, { id: batchId });
    // The poller emits the current state first: both are listening once it arrived.
    await Promise.all([overWs.waitFor(1), overSse.waitFor(1)]);
    const paid = await fetch(`${chillrUrl}/_sandbox/batches/${batchId}/payments/9447741492`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'paid' }),
    });
    expect(paid.status).toBe(200);
    await Promise.all([overWs.done, overSse.done]);
    for (const live of [overWs, overSse]) {
      const statuses = live.events.map((e) => e.collectBatchUpdated.status);
      expect(statuses[0]).toBe('ACTIVE');
      expect(statuses.at(-1)).toBe('COMPLETED');
      expect(live.events.at(-1)!.collectBatchUpdated.summary).toEqual({ paid: 1, pending: 0 });
      expect(live.errors).toEqual([]);
    }
  });
});
