import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { startChillrSimulator } from '../src/sandbox/chillr/index.js';
import { startPbgSimulator } from '../src/sandbox/pbg/index.js';
import { CollectBatchUpdatedDocument } from './generated/graphql.js';
import { isoDateInDays, startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { otlpCollector, traceRecordingProxy, type Collector } from './helpers/telemetry.js';
import { connectWs, subscribe } from './helpers/ws.js';

const MSISDN = '9447741462';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN}-01`;

const CREATE = `mutation Create($input: CreateCollectBatchInput!) {
  createCollectBatch(input: $input) { batchId userErrors { code message } }
}`;
const BATCH = `query CollectBatch($id: ID!) { collectBatch(id: $id) { id status } }`;
const PURCHASE = `query GroupPurchase($id: ID!) { groupPurchase(purchaseId: $id) { purchaseId status } }`;

async function graphql(
  app: TestApp,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as {
    data?: Record<string, { batchId: string } & Record<string, unknown>>;
    errors?: unknown[];
  };
}

async function createBatch(app: TestApp, idempotencyKey?: string): Promise<string> {
  const created = await graphql(app, CREATE, {
    input: {
      name: 'observed',
      expiryDate: isoDateInDays(2),
      customers: [{ msisdn: MSISDN, amount: '10' }],
      idempotencyKey,
    },
  });
  return created.data!.createCollectBatch!.batchId;
}

/** The sample lines of one metric, e.g. `name{a="b"} 1`. */
function samples(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe('GET /metrics after a query, a mutation, a change push and a subscription', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ PBG_CACHE_TTL_MS: '30000' });
  });
  afterAll(() => app.close());

  it('should expose every metric with its labels and no credential, token or msisdn', async () => {
    const id = await createBatch(app, 'obs-key-1');
    expect(await createBatch(app, 'obs-key-1')).toBe(id); // replayed
    await graphql(app, BATCH, { id }, { 'apollographql-client-name': 'web-checkout' });
    await graphql(app, PURCHASE, { id: 'ABC_98765' });
    await graphql(app, PURCHASE, { id: 'ABC_98765' });
    const push = await fetch(`${app.callbackUrl}/pbg/change_push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH,
        events: [{ purchase_id: 'OBS_2', merchant_id: 'ABC', status: 'pending', num_people: 2 }, 7],
      }),
    });
    expect(push.status).toBe(200);
    const again = await fetch(`${app.callbackUrl}/pbg/change_push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH,
        events: [{ purchase_id: 'OBS_2', merchant_id: 'ABC', status: 'pending', num_people: 2 }],
      }),
    });
    expect(again.status).toBe(200);

    // A change PayByGroup never pushed, found by a reconciliation sweep.
    await graphql(app, PURCHASE, { id: 'ABC_12345' });
    await app.sandbox.pbg!.updatePurchase('ABC_12345', { num_people: 9 }, { push: false });
    await app.reconciler.sweep();

    const client = connectWs(app.url);
    const live = subscribe(client, CollectBatchUpdatedDocument, { id });
    await live.waitFor(1);
    const during = await (await fetch(app.metricsUrl)).text();
    live.stop();
    await client.dispose();

    expect(samples(during, 'payments_subscriptions_active')).toContain(
      'payments_subscriptions_active{subscription="collectBatchUpdated"} 1',
    );
    expect(samples(during, 'payments_batch_pollers_active')).toEqual([
      'payments_batch_pollers_active 1',
    ]);
    const response = await fetch(app.metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();

    const upstream = samples(text, 'payments_upstream_request_duration_seconds_count');
    expect(upstream).toContainEqual(
      expect.stringMatching(/upstream="chillr",operation="\/api\/v5\/collect",outcome="ok"\} 1$/),
    );
    expect(upstream).toContainEqual(expect.stringMatching(/upstream="pbg",.*outcome="ok"/));
    expect(samples(text, 'payments_cache_requests_total')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/cache="batch_status",result="miss"/),
        'payments_cache_requests_total{cache="purchase_state",result="miss"} 2',
        'payments_cache_requests_total{cache="purchase_state",result="hit"} 1',
      ]),
    );
    expect(samples(text, 'payments_dataloader_batch_size_count')).toEqual(
      expect.arrayContaining([
        'payments_dataloader_batch_size_count{loader="collectBatch"} 1',
        'payments_dataloader_batch_size_count{loader="groupPurchase"} 3',
      ]),
    );
    const operations = samples(text, 'payments_graphql_operations_total');
    expect(operations).toEqual(
      expect.arrayContaining([
        'payments_graphql_operations_total{operation_name="CollectBatch",operation_type="query",client_name="web-checkout"} 1',
        'payments_graphql_operations_total{operation_name="Create",operation_type="mutation",client_name="unknown"} 2',
        expect.stringMatching(
          /operation_name="CollectBatchUpdated",operation_type="subscription",client_name="unknown"\} 1$/,
        ),
      ]),
    );
    expect(samples(text, 'payments_graphql_operation_duration_seconds_count')).toContainEqual(
      expect.stringMatching(/operation_name="GroupPurchase",operation_type="query"/),
    );
    expect(samples(text, 'payments_subscriptions_active')).toContain(
      'payments_subscriptions_active{subscription="collectBatchUpdated"} 0',
    );
    expect(samples(text, 'payments_change_push_events_total')).toEqual(
      expect.arrayContaining([
        'payments_change_push_events_total{outcome="stored"} 1',
        'payments_change_push_events_total{outcome="refused"} 1',
        'payments_change_push_events_total{outcome="repeat"} 1',
        expect.stringMatching(/outcome="stale"/),
      ]),
    );
    expect(samples(text, 'payments_reconciliation_changes_total')).toEqual([
      'payments_reconciliation_changes_total 1',
    ]);
    expect(samples(text, 'payments_idempotency_total')).toEqual(
      expect.arrayContaining([
        'payments_idempotency_total{outcome="first"} 1',
        'payments_idempotency_total{outcome="replayed"} 1',
      ]),
    );
    expect(samples(text, 'payments_outbox_depth')).toEqual(['payments_outbox_depth 0']);
    for (const upstreamName of ['chillr', 'pbg']) {
      expect(samples(text, 'payments_upstream_breaker_state')).toEqual(
        expect.arrayContaining([
          `payments_upstream_breaker_state{upstream="${upstreamName}",state="closed"} 1`,
          `payments_upstream_breaker_state{upstream="${upstreamName}",state="open"} 0`,
        ]),
      );
    }
    expect(samples(text, 'process_cpu_user_seconds_total')).toHaveLength(1);
    expect(samples(text, 'nodejs_eventloop_lag_seconds')).toHaveLength(1);

    for (const secret of [...Object.values(TEST_SECRETS), MSISDN, 'obs-key-1']) {
      expect(text).not.toContain(secret);
    }
  });

  it('should count a push that moves a purchase backwards as stale', async () => {
    const stale = async () => {
      const text = await (await fetch(app.metricsUrl)).text();
      const line = samples(text, 'payments_change_push_events_total').find((l) =>
        l.includes('outcome="stale"'),
      );
      return Number(line?.split(' ').at(-1));
    };
    const before = await stale();
    for (const status of ['collected', 'pending']) {
      const answer = await fetch(`${app.callbackUrl}/pbg/change_push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH,
          events: [{ purchase_id: 'OBS_STALE', merchant_id: 'ABC', status, num_people: 2 }],
        }),
      });
      expect(answer.status).toBe(200);
    }
    expect(await stale()).toBe(before + 1);
  });

  it('should bound operation names a client makes up', async () => {
    await graphql(app, `query ${'x'.repeat(80)} { __typename }`, {});
    const text = await (await fetch(app.metricsUrl)).text();
    expect(text).not.toContain('x'.repeat(80));
    expect(samples(text, 'payments_graphql_operations_total')).toContainEqual(
      expect.stringMatching(/operation_name="other"/),
    );
  });
});

describe('/metrics behind a router', () => {
  it('should answer on METRICS_PORT without the router secret, and not on the main port', async () => {
    const app = await startTestApp({ METRICS_PORT: '0', ROUTER_SECRET: 'router-secret-123456' });
    try {
      expect(app.metricsUrl).not.toBe(`${app.url}/metrics`);
      const metrics = await fetch(app.metricsUrl);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('payments_upstream_breaker_state');
      expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});

describe('correlated logs', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it('should carry x-request-id R1 on every line of a query that meets an upstream failure', async () => {
    const id = await createBatch(app);
    app.sandbox.chillr!.injectFault({
      endpoint: 'check_collect_status',
      kind: 'http500',
      times: 5,
    });
    const from = app.logs.length;
    const answer = await graphql(
      app,
      BATCH,
      { id },
      {
        'x-request-id': 'R1',
        'apollographql-client-name': 'ops-console',
      },
    );
    expect(answer.errors).toBeDefined();
    const lines = app.logs
      .slice(from)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => !String(line.component ?? '').endsWith('-sandbox'));
    const failure = lines.filter((line) => line.msg === 'upstream call failed');
    expect(failure.length).toBeGreaterThan(0);
    expect(failure[0]).toMatchObject({ outcome: 'upstream_error', upstream: 'Chillr' });
    expect(lines.filter((line) => line.msg === 'upstream call').length).toBeGreaterThan(0);
    for (const line of lines) expect(line.requestId, JSON.stringify(line)).toBe('R1');
    const inGraphql = lines.filter((line) => line.msg !== 'request');
    for (const line of inGraphql) {
      expect(line).toMatchObject({ operationName: 'CollectBatch', clientName: 'ops-console' });
    }
  });

  it('should log subscription start and stop at info with counts', async () => {
    const id = await createBatch(app);
    const client = connectWs(app.url, { headers: { 'x-request-id': 'WS1' } });
    const live = subscribe(client, CollectBatchUpdatedDocument, { id });
    await live.waitFor(1);
    live.stop();
    await client.dispose();
    await expect
      .poll(() => app.logs.filter((l) => l.includes('"subscription stopped"')).length)
      .toBeGreaterThan(0);
    const started = app.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'subscription started');
    expect(started).toMatchObject({ level: 30, subscription: 'collectBatchUpdated', active: 1 });
    expect(started.requestId).toBe('WS1');
    const stopped = app.logs
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'subscription stopped');
    expect(stopped).toMatchObject({ level: 30, subscription: 'collectBatchUpdated', active: 0 });
  });
});

describe('trace context through to both upstreams', () => {
  let chillr: Awaited<ReturnType<typeof startChillrSimulator>>;
  let pbg: Awaited<ReturnType<typeof startPbgSimulator>>;
  let chillrProxy: Awaited<ReturnType<typeof traceRecordingProxy>>;
  let pbgProxy: Awaited<ReturnType<typeof traceRecordingProxy>>;
  let collector: Collector;
  let app: TestApp;

  beforeAll(async () => {
    const logger = createLogger({ level: 'silent' });
    chillr = await startChillrSimulator({
      port: 0,
      credentials: {
        apiKey: TEST_SECRETS.CHILLR_API_KEY,
        apiSecretKey: TEST_SECRETS.CHILLR_API_SECRET_KEY,
      },
      logger,
    });
    pbg = await startPbgSimulator({
      port: 0,
      apiKey: TEST_SECRETS.PBG_API_KEY,
      merchantId: 'M1',
      merchantAuth: TEST_SECRETS.PBG_MERCHANT_AUTH,
      merchantBaseUrl: 'http://127.0.0.1:9',
      deliverChangePushes: false,
      logger,
    });
    chillrProxy = await traceRecordingProxy(chillr.url);
    pbgProxy = await traceRecordingProxy(pbg.url);
    collector = await otlpCollector();
    app = await startTestApp({
      CHILLR_BASE_URL: chillrProxy.url,
      PBG_BASE_URL: pbgProxy.url,
      PBG_MERCHANT_ID: 'M1',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_SERVICE_NAME: 'payments-test',
    });
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([chillrProxy, pbgProxy, collector].map((s) => s?.close()));
    await Promise.all([chillr?.close(), pbg?.close()]);
  });

  it('should send the caller trace id to Chillr and PayByGroup', async () => {
    const headers = { traceparent: TRACEPARENT };
    const created = await graphql(
      app,
      CREATE,
      {
        input: {
          name: 't',
          expiryDate: isoDateInDays(2),
          customers: [{ msisdn: MSISDN, amount: '1' }],
        },
      },
      headers,
    );
    await graphql(app, BATCH, { id: created.data!.createCollectBatch!.batchId }, headers);
    await graphql(app, PURCHASE, { id: 'TRACE_1' }, headers);
    for (const proxy of [chillrProxy, pbgProxy]) {
      expect(proxy.seen.length).toBeGreaterThan(0);
      for (const call of proxy.seen) {
        expect(call.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
        expect(call.traceparent).not.toContain(PARENT_SPAN);
      }
    }
  });

  it('should take the trace context of a WebSocket from connection_init to the upstream', async () => {
    const created = await graphql(app, CREATE, {
      input: {
        name: 'ws',
        expiryDate: isoDateInDays(2),
        customers: [{ msisdn: MSISDN, amount: '1' }],
      },
    });
    const traceId = 'cccc0000cccc0000cccc0000cccc0000';
    const from = chillrProxy.seen.length;
    const client = connectWs(app.url, {
      connectionParams: { traceparent: `00-${traceId}-${PARENT_SPAN}-01` },
    });
    const live = subscribe(client, CollectBatchUpdatedDocument, {
      id: created.data!.createCollectBatch!.batchId,
    });
    await live.waitFor(1);
    live.stop();
    await client.dispose();
    const polled = chillrProxy.seen.slice(from).filter((c) => c.path.includes('check_collect'));
    expect(polled.length).toBeGreaterThan(0);
    expect(polled[0]!.traceparent).toMatch(new RegExp(`^00-${traceId}-`));
  });

  it('should export one trace: operation → resolver → upstream call', async () => {
    const traceId = 'aaaabbbbccccddddeeeeffff00001111';
    await graphql(
      app,
      PURCHASE,
      { id: 'ABC_98765' },
      {
        traceparent: `00-${traceId}-${PARENT_SPAN}-01`,
      },
    );
    await app.telemetry.tracing.flush();
    const spans = collector.spans.filter((s) => s.traceId === traceId);
    const operation = spans.find((s) => s.name === 'query GroupPurchase');
    expect(operation, JSON.stringify(spans.map((s) => s.name))).toBeDefined();
    expect(operation!.parentSpanId).toBe(PARENT_SPAN);
    expect(operation!.serviceName).toBe('payments-test');
    const resolver = spans.find((s) => s.name === 'resolve Query.groupPurchase');
    expect(resolver?.parentSpanId).toBe(operation!.spanId);
    const call = spans.find((s) => s.name.startsWith('pbg /api/'));
    expect(call?.parentSpanId).toBe(resolver!.spanId);
    expect(call?.attributes['payments.outcome']).toBe('ok');
    const storeCalls = spans.filter((s) => s.name.startsWith('store '));
    expect(storeCalls.length).toBeGreaterThan(0);
    const ids = new Set(spans.map((s) => s.spanId));
    for (const span of storeCalls) expect(ids.has(span.parentSpanId!)).toBe(true);
    const sent = pbgProxy.seen.at(-1)!.traceparent!;
    expect(sent.split('-')[2]).toBe(call!.spanId);
    for (const span of spans) {
      const text = JSON.stringify(span);
      for (const secret of Object.values(TEST_SECRETS)) expect(text).not.toContain(secret);
    }
  });
});
