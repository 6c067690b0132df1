import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { problemsOf, startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { staleDist } from './helpers/faults/process.js';
import { runToExit } from './helpers/process.js';
import { connectWs, subscribe } from './helpers/ws.js';

/**
 * Only the router gets in (ROUTER_SECRET), PayByGroup's callbacks can live on their own port
 * (CALLBACK_PORT), and the WebSocket transport has limits of its own — over real HTTP and
 * WebSocket. Start-up refusals run the built service as a real process and read its exit code.
 */

const SECRET = 'router-secret-3f9c2a7b1e6d';
const AUTH = TEST_SECRETS.PBG_MERCHANT_AUTH;
const CREATE = `mutation {
  createCollectBatch(input: {
    name: "Posture bill", expiryDate: "2099-01-01",
    customers: [{ msisdn: "9447741462", amount: "99999" }], idempotencyKey: "posture-1"
  }) { batchId }
}`;
const PURCHASE_CHANGES = `subscription { groupPurchaseChanged { eventId } }`;
const BATCH_UPDATES = `subscription { collectBatchUpdated(id: "5743fcb263686923fc0d0000") { id status } }`;

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Opens a raw graphql-ws socket and resolves with the close code the server chose. */
function closeCodeOf(
  url: string,
  options: { headers?: Record<string, string>; init?: Record<string, unknown>; frame?: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', {
      headers: options.headers,
    });
    socket.on('open', () => {
      socket.send(
        options.frame ?? JSON.stringify({ type: 'connection_init', payload: options.init }),
      );
    });
    socket.on('message', (data) => {
      // Accepted: the test only wanted to know it was not closed.
      if (JSON.parse(String(data)).type === 'connection_ack') socket.close(1000);
    });
    socket.on('close', (code) => resolve(code));
    socket.on('error', reject);
  });
}

describe('ROUTER_SECRET', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ ROUTER_SECRET: SECRET });
  });
  afterAll(() => app?.close());

  it('should answer 401 without the secret and call no upstream', async () => {
    for (const headers of [{}, { 'router-authorization': 'wrong' }] as Array<
      Record<string, string>
    >) {
      const response = await post(`${app.url}/graphql`, { query: CREATE }, headers);
      expect(response.status).toBe(401);
      const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    }
    const sdl = await post(`${app.url}/graphql`, { query: '{ _service { sdl } }' });
    expect(sdl.status).toBe(401);
    expect(app.sandbox.chillr!.calls.collect).toBe(0);
  });

  it('should serve a request that carries it', async () => {
    const response = await post(
      `${app.url}/graphql`,
      { query: CREATE },
      { 'router-authorization': SECRET },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { createCollectBatch: { batchId: string } } };
    expect(body.data.createCollectBatch.batchId).toBeTruthy();
    expect(app.sandbox.chillr!.calls.collect).toBe(1);
  });

  it('should leave /healthz, /readyz and the PayByGroup callbacks outside it', async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    const inventory = await post(`${app.url}/pbg/inventory_status.json`, {
      merchant_auth: AUTH,
      purchase_id: 'NO_SUCH_OFFER',
    });
    expect(inventory.status).not.toBe(401);
  });

  it('should close a WebSocket without it with 4403, and accept it in the header or connection_init', async () => {
    expect(await closeCodeOf(app.url, {})).toBe(4403);
    expect(await closeCodeOf(app.url, { init: { 'router-authorization': 'wrong' } })).toBe(4403);
    expect(await closeCodeOf(app.url, { headers: { 'router-authorization': SECRET } })).toBe(1000);
    expect(await closeCodeOf(app.url, { init: { 'router-authorization': SECRET } })).toBe(1000);

    const client = connectWs(app.url, { connectionParams: { 'router-authorization': SECRET } });
    const live = subscribe<{ collectBatchUpdated: { status: string } }>(client, BATCH_UPDATES);
    const [first] = await live.waitFor(1);
    expect(first!.collectBatchUpdated.status).toBe('EXPIRED');
    live.stop();
    await client.dispose();
  });

  it('should never log the secret', () => {
    expect(app.logs.filter((line) => line.includes(SECRET))).toEqual([]);
  });
});

describe('CALLBACK_PORT', () => {
  let app: TestApp;
  let callbackUrl: string;
  beforeAll(async () => {
    app = await startTestApp({ CALLBACK_PORT: '0' });
    callbackUrl = app.callbackUrl!;
  });
  afterAll(() => app?.close());

  it('should answer the callbacks on their own port and not on the main one', async () => {
    expect(callbackUrl).not.toBe(app.url);
    const body = { merchant_auth: AUTH, events: [{ purchase_id: 'CB_PORT_1', status: 'pending' }] };
    expect((await post(`${callbackUrl}/pbg/change_push`, body)).status).toBe(200);
    expect((await post(`${app.url}/pbg/change_push`, body)).status).toBe(404);
  });

  it('should serve nothing else on the callback port', async () => {
    const graphql = await post(`${callbackUrl}/graphql`, { query: '{ __typename }' });
    expect(graphql.status).toBe(404);
    expect((await fetch(`${callbackUrl}/healthz`)).status).toBe(404);
    const main = await post(`${app.url}/graphql`, { query: '{ __typename }' });
    expect(main.status).toBe(200);
  });
});

describe('WebSocket limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '50' });
  });
  afterAll(() => app?.close());

  it('should refuse the 51st subscription on one connection, naming the limit, and allow one after a stop', async () => {
    const client = connectWs(app.url);
    // Change subscriptions stay open (nothing is pushed); a terminal batch answers at once.
    const lives = Array.from({ length: 50 }, () => subscribe(client, PURCHASE_CHANGES));
    const extra = subscribe(client, BATCH_UPDATES);
    await extra.done;
    expect(JSON.stringify(extra.errors)).toMatch(/WS_MAX_SUBSCRIPTIONS_PER_CONNECTION=50/);
    expect(extra.events).toEqual([]);

    lives[0]!.stop();
    const again = subscribe<{ collectBatchUpdated: { status: string } }>(client, BATCH_UPDATES);
    const [event] = await again.waitFor(1);
    expect(event!.collectBatchUpdated.status).toBe('EXPIRED');
    for (const live of lives) live.stop();
    await client.dispose();
  });

  it('should close a socket that sends a 2 MB frame', async () => {
    const frame = JSON.stringify({
      type: 'connection_init',
      payload: { pad: 'x'.repeat(2 * 1024 * 1024) },
    });
    expect(await closeCodeOf(app.url, { frame })).toBe(1009);
  });

  it('should close with 4400 and log at warn at most when a client sends a server-only message', async () => {
    for (const type of ['next', 'error', 'connection_ack']) {
      const logged = app.logs.length;
      const code = await new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(
          `${app.url.replace(/^http/, 'ws')}/graphql`,
          'graphql-transport-ws',
        );
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
        socket.on('message', (data) => {
          if (JSON.parse(String(data)).type !== 'connection_ack') return;
          const payload = type === 'error' ? [{ message: 'x' }] : { data: {} };
          socket.send(
            JSON.stringify({ id: '1', type, ...(type !== 'connection_ack' && { payload }) }),
          );
        });
        socket.on('close', (closeCode) => resolve(closeCode));
        socket.on('error', reject);
      });
      expect(code, type).toBe(4400);
      const lines = app.logs
        .slice(logged)
        .map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(lines.some((l) => l.msg.includes('protocol misuse'))).toBe(true);
      // pino levels: 40 warn, 50 error.
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    }
  });
});

describe('CHILLR_MAX_POLLERS', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ CHILLR_MAX_POLLERS: '2', CHILLR_POLL_INTERVAL_MS: '60000' });
  });
  afterAll(() => app?.close());

  it('should refuse a subscription that would start one poller too many, naming the limit', async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const created = await app.raw(`mutation {
        createCollectBatch(input: {
          name: "Poller ${n}", expiryDate: "2099-01-01",
          customers: [{ msisdn: "9447741462", amount: "1${n}" }], idempotencyKey: "poller-${n}"
        }) { batchId }
      }`);
      ids.push(
        (created.json.data as { createCollectBatch: { batchId: string } }).createCollectBatch
          .batchId,
      );
    }
    const client = connectWs(app.url);
    const watch = (id: string) =>
      subscribe(client, `subscription { collectBatchUpdated(id: "${id}") { id status } }`);
    const [first, second] = [watch(ids[0]!), watch(ids[1]!)];
    await Promise.all([first.waitFor(1), second.waitFor(1)]);
    // A second subscriber to a batch already polled shares its poller: allowed.
    const shared = watch(ids[0]!);
    await shared.waitFor(1);
    const third = watch(ids[2]!);
    await third.done;
    expect(JSON.stringify(third.errors)).toMatch(/CHILLR_MAX_POLLERS=2/);
    // Formatted as over HTTP: the public error code travels with it.
    expect(JSON.stringify(third.errors)).toMatch(/"code":"UPSTREAM_UNAVAILABLE"/);
    for (const live of [first, second, shared]) live.stop();
    await client.dispose();
  });
});

describe('PayByGroup callback bodies', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app?.close());

  it('should refuse a body over PBG_CALLBACK_MAX_BYTES with 413 naming the limit', async () => {
    const huge = { merchant_auth: AUTH, events: [], pad: 'x'.repeat(6.5 * 1024 * 1024) };
    const response = await post(`${app.url}/pbg/change_push`, huge);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /PBG_CALLBACK_MAX_BYTES=4194304/,
    );
  });

  it('should refuse an unauthenticated body before parsing it', async () => {
    const big = { merchant_auth: 'x'.repeat(32), events: [], pad: 'x'.repeat(3 * 1024 * 1024) };
    const response = await post(`${app.url}/pbg/change_push`, big);
    expect(response.status).toBe(401);
    expect(app.logs.some((line) => line.includes('refused before parsing its body'))).toBe(true);
  });
});

const production = {
  NODE_ENV: 'production',
  CHILLR_BASE_URL: 'http://127.0.0.1:9',
  PBG_BASE_URL: 'http://127.0.0.1:9',
  PBG_MERCHANT_ID: 'M1',
  STORE_URL: 'memory://',
  ...TEST_SECRETS,
};
const distSkip = staleDist();

describe.skipIf(distSkip !== undefined)(
  `start-up refusals${distSkip ? ` (${distSkip})` : ''}`,
  () => {
    const started: Array<() => void> = [];
    afterEach(() => started.splice(0).forEach((stop) => stop()));

    it('should exit 78 naming ROUTER_SECRET in production without it', async () => {
      const { code, output } = await runToExit(production);
      expect(code).toBe(78);
      expect(output).toMatch(/ROUTER_SECRET must be set/);
      expect(output).not.toMatch(/\n\s+at /); // a config error, not a stack trace
    });

    it('should exit 78 naming SUBSCRIPTION_CALLBACK_ORIGINS in production without it, unless the protocol is off', async () => {
      const { code, output } = await runToExit({ ...production, ROUTER_SECRET: SECRET });
      expect(code).toBe(78);
      expect(output).toMatch(/SUBSCRIPTION_CALLBACK_ORIGINS must be set when NODE_ENV=production/);
      expect(output).not.toMatch(/\n\s+at /);
      for (const env of [
        { SUBSCRIPTION_CALLBACK_ORIGINS: 'https://router.internal:4040' } as Record<string, string>,
        { SUBSCRIPTION_CALLBACK_ENABLED: 'false' },
      ]) {
        expect(problemsOf({ ...production, ROUTER_SECRET: SECRET, ...env })).toEqual([]);
      }
    });

    it('should exit 78 naming TRUST_PROXY and PBG_ALLOWED_IPS when true trusts forged headers', async () => {
      const { code, output } = await runToExit({
        ...production,
        ROUTER_SECRET: SECRET,
        TRUST_PROXY: 'true',
        PBG_ALLOWED_IPS: '10.1.2.3',
      });
      expect(code).toBe(78);
      expect(output).toMatch(/TRUST_PROXY=true cannot be used with PBG_ALLOWED_IPS/);
    });

    it('should exit 78 with a config error for a TRUST_PROXY it cannot read', async () => {
      const { code, output } = await runToExit({
        ...production,
        ROUTER_SECRET: SECRET,
        TRUST_PROXY: 'maybe',
      });
      expect(code).toBe(78);
      expect(output).toMatch(/TRUST_PROXY must be/);
      expect(output).not.toMatch(/\n\s+at /);
    });
  },
);

describe('the PBG allow-list behind proxies', () => {
  const apps: TestApp[] = [];
  afterAll(() => Promise.all(apps.map((app) => app.close())));

  const inventory = (app: TestApp, forwardedFor: string) =>
    post(
      `${app.url}/pbg/inventory_status.json`,
      { merchant_auth: AUTH, purchase_id: 'NO_SUCH_OFFER' },
      { 'x-forwarded-for': forwardedFor },
    );

  it('should never let a forged X-Forwarded-For past it', async () => {
    // No proxy trusted, and a proxy list that is not this caller: the header is ignored.
    for (const env of [{}, { TRUST_PROXY: '10.9.9.9,192.168.0.0/16' }] as Array<
      Record<string, string>
    >) {
      const app = await startTestApp({ PBG_ALLOWED_IPS: '10.1.2.3', ...env });
      apps.push(app);
      expect((await inventory(app, '10.1.2.3')).status).toBe(403);
    }
  });

  it('should read the address a trusted proxy forwards', async () => {
    const app = await startTestApp({ PBG_ALLOWED_IPS: '10.1.2.3', TRUST_PROXY: 'loopback' });
    apps.push(app);
    expect((await inventory(app, '10.1.2.3')).status).not.toBe(403);
    expect((await inventory(app, '10.7.7.7')).status).toBe(403);
  });
});
