import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectBatchDocument, CreateCollectBatchErrorsOnlyDocument } from './generated/graphql.js';
import {
  startTestChillr,
  isoDateInDays,
  startTestApp,
  TEST_SECRETS,
  type TestApp,
} from './helpers/app.js';

describe('HTTP server', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('should answer /healthz and /readyz', async () => {
    expect(await (await fetch(`${app.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('should echo a sane x-request-id and mint one otherwise', async () => {
    const echoed = await fetch(`${app.url}/healthz`, {
      headers: { 'x-request-id': 'router-abc-123' },
    });
    expect(echoed.headers.get('x-request-id')).toBe('router-abc-123');
    const minted = await fetch(`${app.url}/healthz`, {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(minted.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(app.logs.some((line) => line.includes('"requestId":"router-abc-123"'))).toBe(true);
  });

  it('should serve the offline explorer outside production (test/explorer.test.ts)', async () => {
    const page = await fetch(`${app.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/explorer/assets/graphiql.js');
  });

  it('should answer malformed JSON with 400 and keep serving', async () => {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(response.status).toBe(400);
    const after = await fetch(`${app.url}/healthz`);
    expect(after.status).toBe(200);
  });

  it('should refuse an oversize body with 413', async () => {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename }`, padding: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      error: 'Request body too large: the limit is 1048576 bytes (MAX_REQUEST_BYTES).',
    });
  });

  it('should answer an unknown route with 404 JSON', async () => {
    const response = await fetch(`${app.url}/nope`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toMatch(/graph is at \/graphql/);
  });

  it('should report not ready once the store is gone', async () => {
    const other = await startTestApp();
    await other.store.close();
    const ready = await fetch(`${other.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { status: string }).status).toBe('not ready');
    await other.close();
  });
});

/** A raw HTTP/1.1 client: headers and body written exactly when and as the test says. */
function rawRequest(baseUrl: string, head: string) {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  let response = '';
  socket.on('data', (chunk) => (response += String(chunk)));
  socket.on('error', () => undefined); // a reset after the answer is the server closing
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  void connected.then(() => socket.write(head));
  return {
    socket,
    connected,
    closed,
    response: () => response,
    write: (data: string | Buffer) => !socket.destroyed && socket.write(data),
  };
}

const postHead = (path: string, length: number) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
  `Content-Length: ${length}\r\n\r\n`;

describe('slow clients', () => {
  let app: TestApp;
  beforeAll(async () => {
    // The callbacks on their own port, as deployed facing the internet; default timeouts.
    app = await startTestApp({ CALLBACK_PORT: '0' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it(
    'should close 100 callback requests sending a byte every 2 s within 40 s, /healthz fast meanwhile',
    { timeout: 90_000 },
    async () => {
      const started = performance.now();
      const clients = Array.from({ length: 100 }, () =>
        rawRequest(app.callbackUrl, postHead('/pbg/change_push', 100_000)),
      );
      await Promise.all(clients.map((c) => c.connected));
      const drip = setInterval(() => clients.forEach((c) => c.write('{')), 2000);
      const closedAt: number[] = [];
      const allClosed = Promise.all(
        clients.map((c) => c.closed.then(() => closedAt.push(performance.now() - started))),
      );
      const health: number[] = [];
      let done = false;
      void allClosed.then(() => (done = true));
      while (!done) {
        const t0 = performance.now();
        expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
        health.push(performance.now() - t0);
        await Promise.race([allClosed, new Promise((resolve) => setTimeout(resolve, 1000))]);
      }
      clearInterval(drip);
      expect(closedAt).toHaveLength(100);
      // HTTP_REQUEST_TIMEOUT_MS (30 s) checked every second; 40 s is the acceptance bound.
      expect(Math.max(...closedAt)).toBeLessThan(40_000);
      // Cut off by the request timeout, not by the idle timeout: a byte every 2 s is progress.
      expect(Math.min(...closedAt)).toBeGreaterThan(20_000);
      expect(clients.every((c) => c.response().startsWith('HTTP/1.1 408'))).toBe(true);
      expect(health.length).toBeGreaterThan(10);
      expect(Math.max(...health)).toBeLessThan(2000);
    },
  );

  it('should refuse an unauthenticated /pbg body after its first bytes, without reading the rest', async () => {
    const junk = `{"events":[${'{"purchase_id":"X","status":"pending"},'.repeat(2000)}`;
    const placedLate = `{"padding":"${'x'.repeat(5000)}","merchant_auth":"${TEST_SECRETS.PBG_MERCHANT_AUTH}","events":[]}`;
    const wrong = `{"merchant_auth":"${'w'.repeat(32)}","events":[${'{"purchase_id":"X"},'.repeat(2000)}`;
    for (const first of [junk, placedLate, wrong]) {
      // 4 MiB announced; only the first ~80 KB are ever sent.
      const client = rawRequest(app.callbackUrl, postHead('/pbg/change_push', 4_194_000));
      await client.connected;
      client.write(first);
      await client.closed;
      expect(client.response()).toMatch(/^HTTP\/1\.1 401/);
      expect(client.response()).toContain('{"result":false}');
    }
    const logged = app.logs.filter((l) => l.includes('refused before parsing its body'));
    expect(logged.length).toBeGreaterThanOrEqual(3);
    for (const line of logged.slice(-3)) {
      expect((JSON.parse(line) as { bytes: number }).bytes).toBeLessThan(100_000);
    }
  });
});

describe('slow clients with short timeouts', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      HTTP_BODY_IDLE_TIMEOUT_MS: '300',
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '5000',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('should cut off a stalled body with 408 naming HTTP_BODY_IDLE_TIMEOUT_MS', async () => {
    const client = rawRequest(app.url, postHead('/graphql', 1000));
    await client.connected;
    client.write('{"query":');
    await client.closed;
    expect(client.response()).toMatch(/^HTTP\/1\.1 408/);
    expect(client.response()).toContain('HTTP_BODY_IDLE_TIMEOUT_MS=300');
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });

  it('should cut off headers that do not arrive within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const client = rawRequest(app.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await client.closed;
    expect(client.response()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('should keep a body that keeps coming', async () => {
    const body = JSON.stringify({ query: '{ __typename }' });
    const client = rawRequest(
      app.url,
      postHead('/graphql', body.length).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'),
    );
    await client.connected;
    for (const char of body) {
      client.write(char);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await client.closed;
    expect(client.response()).toMatch(/^HTTP\/1\.1 200/);
    expect(client.response()).toContain('"__typename":"Query"');
  });
});

/** A tmpfs of `size` at a new directory, or undefined when this machine may not mount. */
function smallDisk(size: string): { dir: string; remove(): void } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'payments-full-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    remove: () => {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes zeros into `path` until the disk refuses (ENOSPC). */
function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

const readyStatus = async (app: TestApp) => {
  const response = await fetch(`${app.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { reason?: string } };
};

describe('/readyz when the store cannot write', () => {
  it('should fail while another connection holds the SQLite write lock, and recover', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'payments-readyz-'));
    const app = await startTestApp({ STORE_URL: `sqlite:${join(dir, 'payments.db')}` });
    const other = new DatabaseSync(join(dir, 'payments.db'));
    try {
      expect((await readyStatus(app)).status).toBe(200);
      other.exec('BEGIN IMMEDIATE'); // what another process writing (or a stuck one) does
      const locked = await readyStatus(app);
      expect(locked.status).toBe(503);
      expect(locked.body.reason).toMatch(/store (cannot write|did not answer a write)/);
      other.exec('ROLLBACK');
      await expect.poll(async () => (await readyStatus(app)).status, { timeout: 15_000 }).toBe(200);
    } finally {
      other.close();
      await app.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('should fail on a full disk and recover once space is freed (skipped where mount is not allowed)', async (ctx) => {
    const disk = smallDisk('4m');
    if (!disk) return ctx.skip();
    const app = await startTestApp({ STORE_URL: `sqlite:${join(disk.dir, 'payments.db')}` });
    try {
      expect((await readyStatus(app)).status).toBe(200);
      fillDisk(join(disk.dir, 'filler'));
      const full = await readyStatus(app);
      expect(full.status).toBe(503);
      expect(full.body.reason).toMatch(/store cannot write/);
      rmSync(join(disk.dir, 'filler'));
      await expect.poll(async () => (await readyStatus(app)).status, { timeout: 15_000 }).toBe(200);
    } finally {
      await app.close();
      disk.remove();
    }
  });
});

describe('SQLite store', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'payments-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should keep batch records and idempotency keys across a restart', async () => {
    const storeUrl = `sqlite:${join(dir, 'payments.db')}`;
    const input = {
      name: 'Rent',
      expiryDate: isoDateInDays(3),
      customers: [{ msisdn: '9447741462', amount: '1500.75' }],
      idempotencyKey: 'restart-key',
    };
    // One upstream outlives both instances of the service, as the real Chillr would.
    const upstream = await startTestChillr();
    const env = { STORE_URL: storeUrl, CHILLR_BASE_URL: upstream.url };
    const first = await startTestApp(env);
    const created = await first.gql(CreateCollectBatchErrorsOnlyDocument, { input });
    const id = created.data!.createCollectBatch.batch!.id;
    await first.close();

    const second = await startTestApp(env);
    const replay = await second.gql(CreateCollectBatchErrorsOnlyDocument, { input });
    expect(replay.errors).toBeUndefined();
    expect(replay.data!.createCollectBatch.batch!.id).toBe(id);
    expect(upstream.calls.collect).toBe(1);
    const read = await second.gql(CollectBatchDocument, { id });
    expect(read.data!.collectBatch!.name).toBe('Rent');
    expect(read.data!.collectBatch!.summary.amountRequested).toEqual({
      amount: '1500.75',
      currency: 'INR',
    });
    await second.close();
    await upstream.close();
  });
});
