import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectBatchDocument, CreateCollectBatchErrorsOnlyDocument } from './generated/graphql.js';
import { startTestChillr, isoDateInDays, startTestApp, type TestApp } from './helpers/app.js';

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
