import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { composeServices } from '@apollo/composition';
import { createGatewayRuntime, MemPubSub } from '@graphql-hive/gateway';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { CreateCollectBatchErrorsOnlyDocument } from './generated/graphql.js';
import { isoDateInDays, startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { freePort } from './helpers/process.js';
import { subscribeSse } from './helpers/sse.js';
import {
  startCallbackRouter,
  type CallbackMessage,
  type CallbackRouter,
} from './helpers/callback-router.js';

const PURCHASE_CHANGED = `subscription($ids: [ID!]) {
  groupPurchaseChanged(filter: { purchaseIds: $ids }) { changedFields purchase { purchaseId status } }
}`;
const BATCH_UPDATED = `subscription($id: ID!) {
  collectBatchUpdated(id: $id) { id status summary { paid pending } }
}`;

const actions = (messages: CallbackMessage[]) => messages.map((m) => m.action);

/**
 * Subscriptions over Apollo's HTTP callback protocol, against a router-like harness that
 * receives the callbacks over real HTTP.
 */
describe('subscriptions over the HTTP callback protocol', () => {
  let app: TestApp;
  let router: CallbackRouter;
  let graphqlUrl: string;

  beforeAll(async () => {
    app = await startTestApp({ CHILLR_POLL_INTERVAL_MS: '50' });
    router = await startCallbackRouter();
    graphqlUrl = `${app.url}/graphql`;
  });
  afterAll(async () => {
    await app?.close();
    await router?.close();
  });

  async function push(purchaseId: string, numPeople: number): Promise<void> {
    const response = await fetch(`${app.url}/pbg/change_push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH,
        events: [{ purchase_id: purchaseId, status: 'pending', num_people: numPeople }],
      }),
    });
    expect(await response.json()).toEqual({ result: true });
  }

  async function createBatch(msisdns: string[]): Promise<string> {
    const created = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
      input: {
        name: 'Callback test',
        expiryDate: isoDateInDays(3),
        customers: msisdns.map((msisdn) => ({ msisdn, amount: '10' })),
      },
    });
    return created.data!.createCollectBatch.batch!.id;
  }

  const nextWith = (text: string) => (messages: CallbackMessage[]) =>
    messages.some((m) => m.action === 'next' && JSON.stringify(m.payload).includes(text));

  it('should check first, then send next after a change push, and heartbeats', async () => {
    const probe = `PROBE_${randomUUID()}`;
    const purchase = `CB_${randomUUID()}`;
    const sub = await router.subscribe(graphqlUrl, PURCHASE_CHANGED, { ids: [probe, purchase] });
    expect(sub.status).toBe(200);
    expect(sub.body).toEqual({ data: null });
    // `check` is answered before the subscription request is.
    expect(router.messages(sub.id)[0]).toMatchObject({
      kind: 'subscription',
      action: 'check',
      id: sub.id,
      verifier: sub.verifier,
      protocol: 'callback/1.0',
    });

    // Barrier: probe pushes until one arrives as `next`, so the subscription is listening.
    for (let attempt = 1; !nextWith(probe)(router.messages(sub.id)); attempt++) {
      expect(attempt, 'no probe event arrived').toBeLessThanOrEqual(50);
      await push(probe, attempt);
      await router.until(sub.id, nextWith(probe), 200).catch(() => undefined);
    }
    await push(purchase, 7);
    const messages = await router.until(sub.id, nextWith(purchase));
    const event = messages.find(
      (m) => m.action === 'next' && JSON.stringify(m.payload).includes(purchase),
    )!;
    expect(
      messages.filter((m) => m.action === 'next').every((m) => m.verifier === sub.verifier),
    ).toBe(true);
    expect(event).toMatchObject({ kind: 'subscription', id: sub.id, verifier: sub.verifier });
    expect(event.payload?.data?.groupPurchaseChanged).toMatchObject({
      purchase: { purchaseId: purchase, status: 'PENDING' },
    });

    // Heartbeats: `check` messages keep coming while the subscription lives (counted, not timed).
    const beats = await router.until(
      sub.id,
      (all) => all.filter((m) => m.action === 'check').length >= 4,
    );
    for (const beat of beats.filter((m) => m.action === 'check')) {
      expect(beat).toMatchObject({ id: sub.id, verifier: sub.verifier });
    }
    router.forget(sub.id);
    await router.until(sub.id, () => router.notFound(sub.id) >= 1);
  });

  it('should send complete when the batch turns terminal, after the last next', async () => {
    const batchId = await createBatch(['9447741462']);
    const sub = await router.subscribe(graphqlUrl, BATCH_UPDATED, { id: batchId });
    expect(sub.status).toBe(200);
    await router.until(sub.id, nextWith('"ACTIVE"'));
    app.sandbox.chillr!.setPaymentStatus(batchId, '9447741462', 'paid');

    const messages = await router.until(sub.id, (all) => all.at(-1)?.action === 'complete');
    const payloadMessages = messages.filter((m) => m.action !== 'check');
    expect(messages[0]!.action).toBe('check');
    expect(actions(payloadMessages)).toEqual(['next', 'next', 'complete']);
    expect(payloadMessages[1]!.payload?.data?.collectBatchUpdated).toEqual({
      id: batchId,
      status: 'COMPLETED',
      summary: { paid: 1, pending: 0 },
    });
    for (const message of messages) {
      expect(message).toMatchObject({ kind: 'subscription', id: sub.id, verifier: sub.verifier });
    }
    expect(app.services.batchWatcher.stats().pollers).toBe(0);
  });

  for (const via of ['a heartbeat', 'a next message'] as const) {
    it(`should end the subscription and its poller when the router answers 404 to ${via}`, async () => {
      const batchId = await createBatch(['9447741462', '9447741472']);
      const heartbeatMs = via === 'a heartbeat' ? 50 : 0;
      const sub = await router.subscribe(graphqlUrl, BATCH_UPDATED, { id: batchId }, heartbeatMs);
      await router.until(sub.id, nextWith('"ACTIVE"'));
      expect(app.services.batchWatcher.stats().pollers).toBe(1);

      router.forget(sub.id);
      // A change that keeps the batch ACTIVE: the poller would go on without the 404.
      if (via === 'a next message') {
        app.sandbox.chillr!.setPaymentStatus(batchId, '9447741462', 'paid');
      }
      await router.until(sub.id, () => router.notFound(sub.id) >= 1);
      await expect.poll(() => app.services.batchWatcher.stats().pollers).toBe(0);
      expect(actions(router.messages(sub.id))).not.toContain('complete');
    });
  }

  describe('refused requests (no callback is ever sent)', () => {
    const post = async (query: string, subscription: Record<string, unknown>) => {
      const id = String(subscription.subscriptionId ?? randomUUID());
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query,
          variables: { id: '5743fcb263686923fc0d0000' },
          extensions: { subscription: { subscriptionId: id, verifier: 'v', ...subscription } },
        }),
      });
      return { id, status: response.status, body: await response.text() };
    };

    it('should refuse a callback URL that is not http(s)', async () => {
      const result = await post(BATCH_UPDATED, { callbackUrl: 'file:///etc/passwd' });
      expect(result.status).toBe(400);
      expect(result.body).toContain('callbackUrl must be an http(s) URL');
    });

    it('should refuse a bad heartbeat interval and a missing verifier', async () => {
      const callbackUrl = `${router.url}/callback/x`;
      const bad = await post(BATCH_UPDATED, { callbackUrl, heartbeatIntervalMs: -5 });
      expect(bad.status).toBe(400);
      expect(bad.body).toContain('heartbeatIntervalMs');
      const noVerifier = await post(BATCH_UPDATED, { callbackUrl, verifier: '' });
      expect(noVerifier.status).toBe(400);
      expect(router.messages('x')).toEqual([]);
    });

    it('should refuse the extension on a query', async () => {
      const id = randomUUID();
      const result = await post('query($id: ID!) { collectBatch(id: $id) { id } }', {
        subscriptionId: id,
        callbackUrl: `${router.url}/callback/${id}`,
      });
      expect(result.status).toBe(400);
      expect(result.body).toContain('only for subscription operations');
      expect(router.messages(id)).toEqual([]);
    });

    it('should refuse a callback URL outside SUBSCRIPTION_CALLBACK_ORIGINS', async () => {
      const strict = await startTestApp({
        SUBSCRIPTION_CALLBACK_ORIGINS: 'https://router.example.com',
      });
      try {
        const sub = await router.subscribe(`${strict.url}/graphql`, BATCH_UPDATED, {
          id: '5743fcb263686923fc0d0000',
        });
        expect(sub.status).toBe(400);
        expect(JSON.stringify(sub.body)).toContain('is not allowed');
        expect(router.messages(sub.id)).toEqual([]);
      } finally {
        await strict.close();
      }
    });
  });

  describe('abuse limits', () => {
    /** Every request that reached the harness for `id`: messages plus 404 answers. */
    const reached = (id: string) => router.messages(id).length + router.notFound(id);
    const activeGauge = async (field: string): Promise<number> => {
      const text = await (await fetch(app.metricsUrl)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`payments_subscriptions_active{subscription="${field}"}`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };

    it('should send at most 10 requests in 3 s for a 1 ms heartbeat, and nothing after a 404', async () => {
      const before = await activeGauge('groupPurchaseChanged');
      const sub = await router.subscribe(graphqlUrl, PURCHASE_CHANGED, { ids: ['HB_1MS'] }, 1);
      expect(sub.status).toBe(200);
      // The subscription is counted in the same gauge as graphql-ws subscriptions.
      expect(await activeGauge('groupPurchaseChanged')).toBe(before + 1);
      // The acceptance bound is a time window: 3 s of a 1 ms heartbeat (was ~2,600 requests).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const inWindow = reached(sub.id);
      expect(inWindow).toBeGreaterThanOrEqual(2); // heartbeats do flow (raised, not dropped)
      expect(inWindow).toBeLessThanOrEqual(10);

      router.forget(sub.id);
      await router.until(sub.id, () => router.notFound(sub.id) >= 1);
      await expect.poll(() => activeGauge('groupPurchaseChanged')).toBe(before);
      const atEnd = reached(sub.id);
      // Barrier: a second subscription with the same (raised) heartbeat, started now, sends its
      // check and then two heartbeats. A heartbeat the first one still had scheduled would have
      // been due before the second of those.
      const barrier = await router.subscribe(graphqlUrl, PURCHASE_CHANGED, { ids: ['HB_BAR'] }, 1);
      expect(barrier.status).toBe(200);
      await router.until(barrier.id, (messages) => messages.length >= 3);
      expect(reached(sub.id)).toBe(atEnd);
      expect(router.notFound(sub.id)).toBe(1);
      router.forget(barrier.id);
      await router.until(barrier.id, () => router.notFound(barrier.id) >= 1);
      await expect.poll(() => activeGauge('groupPurchaseChanged')).toBe(before);
    });

    it('should answer one generic error whatever the callback target did, and follow no redirect', async () => {
      const targets = await startTargets(router.url);
      try {
        const bodies = new Set<string>();
        for (const path of ['/403', '/500', '/redirect']) {
          const result = await rawSubscribe(`${targets.url}${path}`);
          expect(result.status, path).toBe(502);
          bodies.add(JSON.stringify(result.body));
        }
        const closed = await rawSubscribe(`http://127.0.0.1:${await freePort()}/callback`);
        expect(closed.status).toBe(502);
        bodies.add(JSON.stringify(closed.body));
        expect([...bodies]).toEqual([
          JSON.stringify({
            errors: [
              {
                message:
                  'The subscription was not started: the callback URL did not accept its check message.',
                extensions: { code: 'CALLBACK_CHECK_FAILED' },
              },
            ],
            data: null,
          }),
        ]);
        // The redirect pointed at the harness: nothing ever reached it.
        expect(router.messages('redirected')).toEqual([]);
        expect(targets.hits('/redirect')).toBeGreaterThanOrEqual(1);
      } finally {
        await targets.close();
      }
    });

    it('should refuse one callback subscription over SUBSCRIPTION_CALLBACK_MAX, naming it', async () => {
      const capped = await startTestApp({ SUBSCRIPTION_CALLBACK_MAX: '1' });
      try {
        const url = `${capped.url}/graphql`;
        const first = await router.subscribe(url, PURCHASE_CHANGED, { ids: ['CAP_1'] }, 0);
        expect(first.status).toBe(200);
        const second = await router.subscribe(url, PURCHASE_CHANGED, { ids: ['CAP_2'] }, 0);
        expect(second.status).toBe(503);
        expect(JSON.stringify(second.body)).toContain('SUBSCRIPTION_CALLBACK_MAX=1');
        expect(router.messages(second.id)).toEqual([]);
        // Ending the first frees its place (a `next` answered 404 ends it).
        router.forget(first.id);
        for (let n = 2; router.notFound(first.id) === 0; n++) {
          expect(n, 'the first subscription never heard a push').toBeLessThan(50);
          await fetch(`${capped.url}/pbg/change_push`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH,
              events: [{ purchase_id: 'CAP_1', status: 'pending', num_people: n }],
            }),
          });
          await router.until(first.id, () => router.notFound(first.id) >= 1, 200).catch(() => []);
        }
        await router.until(first.id, () => router.notFound(first.id) >= 1);
        await expect
          .poll(async () => (await router.subscribe(url, PURCHASE_CHANGED, {}, 0)).status)
          .toBe(200);
      } finally {
        await capped.close();
      }
    });

    async function rawSubscribe(callbackUrl: string) {
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json;callbackSpec=1.0',
        },
        body: JSON.stringify({
          query: PURCHASE_CHANGED,
          variables: { ids: ['GENERIC'] },
          extensions: {
            subscription: {
              callbackUrl,
              subscriptionId: randomUUID(),
              verifier: 'v',
              heartbeatIntervalMs: 0,
            },
          },
        }),
      });
      return { status: response.status, body: (await response.json()) as unknown };
    }
  });

  it('should refuse internal and link-local callback URLs in every spelling once origins are set', async () => {
    const strict = await startTestApp({ SUBSCRIPTION_CALLBACK_ORIGINS: router.url });
    try {
      const forms = [
        'http://169.254.169.254/latest/meta-data/',
        'http://127.0.0.1:22/',
        'http://localhost/',
        'http://[::1]:4000/',
        'http://[::ffff:127.0.0.1]/',
        'http://0x7f000001/',
        'http://2130706433/',
        'http://127.1/',
        'http://0/',
        'http://10.0.0.1/',
        `http://${new URL(router.url).host}@127.0.0.1/`,
      ];
      for (const callbackUrl of forms) {
        const response = await fetch(`${strict.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: PURCHASE_CHANGED,
            extensions: {
              subscription: { callbackUrl, subscriptionId: randomUUID(), verifier: 'v' },
            },
          }),
        });
        expect(response.status, callbackUrl).toBe(400);
        expect(await response.text(), callbackUrl).toContain('is not allowed');
      }
      // The allowed origin itself still works.
      const allowed = await router.subscribe(`${strict.url}/graphql`, PURCHASE_CHANGED, {}, 0);
      expect(allowed.status).toBe(200);
      expect(router.messages(allowed.id)[0]?.action).toBe('check');
    } finally {
      await strict.close();
    }
  });

  describe("through Hive Gateway's http-callback transport", () => {
    let gatewayUrl: string;
    let server: http.Server;
    let gateway: ReturnType<typeof createGatewayRuntime>;
    /** Callback messages the gateway received (heartbeats included), counted at its door. */
    let callbacks = 0;
    const beats = new Set<() => void>();

    beforeAll(async () => {
      const sdl = (await app.raw('{ _service { sdl } }')).json.data as {
        _service: { sdl: string };
      };
      const composed = composeServices([
        { name: 'payments', url: graphqlUrl, typeDefs: parse(sdl._service.sdl) },
      ]);
      const port = await freePort();
      gateway = createGatewayRuntime({
        supergraph: () => composed.supergraphSdl!,
        webhooks: true,
        pubsub: new MemPubSub(),
        transportEntries: {
          payments: {
            options: {
              subscriptions: {
                kind: 'http-callback',
                location: graphqlUrl,
                options: {
                  public_url: `http://127.0.0.1:${port}/callback`,
                  path: '/callback',
                  heartbeat_interval: 1000,
                },
              },
            },
          },
        },
        logging: 'error',
      });
      server = http.createServer((req, res) => {
        if (req.url?.startsWith('/callback/')) {
          callbacks += 1;
          beats.forEach((beat) => beat());
        }
        void gateway(req, res);
      });
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      gatewayUrl = `http://127.0.0.1:${port}/graphql`;
      const loaded = await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ groupPurchase(purchaseId: "ABC_12345") { status } }' }),
      });
      expect(await loaded.json()).toEqual({ data: { groupPurchase: { status: 'PENDING' } } });
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => {
        server?.close(() => resolve());
        server?.closeAllConnections();
      });
      await gateway?.dispose();
    });

    const untilCallbacks = (count: number) =>
      new Promise<void>((resolve) => {
        const beat = () => {
          if (callbacks < count) return;
          beats.delete(beat);
          resolve();
        };
        beats.add(beat);
        beat();
      });

    it('should keep a subscription through many heartbeats and deliver until complete', async () => {
      const batchId = await createBatch(['9447741462']);
      const live = subscribeSse<{ collectBatchUpdated: { status: string } }>(
        gatewayUrl,
        `subscription { collectBatchUpdated(id: "${batchId}") { status } }`,
      );
      await live.waitFor(1);
      // Heartbeats every 500 ms (half the 1 s the gateway asks for: slack for a loaded CI
      // machine), counted at its door; at exactly 1 s they raced the gateway's timeout
      // ("Subscription timed out") and lost.
      await Promise.race([
        untilCallbacks(callbacks + 4),
        live.done.then(() => {
          throw new Error(`the stream ended early: ${JSON.stringify(live.errors)}`);
        }),
      ]);
      expect(live.errors).toEqual([]);
      app.sandbox.chillr!.setPaymentStatus(batchId, '9447741462', 'paid');
      await live.done;
      expect(live.errors).toEqual([]);
      expect(live.events.map((e) => e.collectBatchUpdated.status)).toEqual(['ACTIVE', 'COMPLETED']);
    });
  });
});

/**
 * Callback targets that refuse in different ways: `/403`, `/500`, and `/redirect` (a 307 to
 * the harness's `/callback/redirected`, which must never be followed).
 */
async function startTargets(harnessUrl: string) {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    req.resume();
    if (path === '/redirect') {
      res.writeHead(307, { location: `${harnessUrl}/callback/redirected` }).end();
    } else {
      res.writeHead(path === '/403' ? 403 : 500).end('internal detail the caller must not see');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: (path: string) => hits.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
