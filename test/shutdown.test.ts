import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ChillrSimulator } from '../src/sandbox/chillr/index.js';
import type { PbgSimulator } from '../src/sandbox/pbg/index.js';
import { startTestChillr, startTestPbg, TEST_SECRETS } from './helpers/app.js';
import { spawnService, tempDir, type ServiceProcess } from './helpers/process.js';
import { subscribe } from './helpers/ws.js';

/**
 * `node dist/src/main.js` as a real process: SIGTERM and SIGINT (Ctrl-C) end it with exit code
 * 0, in development (where Apollo Server's own signal handler used to race ours) and in
 * production. The exit code is asserted, not the time it took; the test timeout bounds it.
 */
describe('shutdown of the real process', () => {
  let store: Awaited<ReturnType<typeof tempDir>>;
  const running: ServiceProcess[] = [];

  beforeAll(async () => {
    store = await tempDir('payments-shutdown-');
  });
  afterAll(async () => {
    await Promise.all(running.map((service) => service.stop('SIGKILL')));
    await store.remove();
  });

  const devEnv = (name: string) => ({
    NODE_ENV: 'development',
    PORT: '0',
    HOST: '127.0.0.1',
    CHILLR_SANDBOX_PORT: '0',
    PBG_SANDBOX_PORT: '0',
    STORE_URL: `sqlite:${store.dir}/${name}.db`,
    LOG_LEVEL: 'info',
  });

  async function start(env: Record<string, string>): Promise<ServiceProcess> {
    const service = await spawnService(env);
    running.push(service);
    const health = await fetch(`${service.url}/healthz`);
    expect(health.status).toBe(200);
    return service;
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`should exit 0 on ${signal} in development`, { timeout: 30_000 }, async () => {
      const service = await start(devEnv(signal));
      expect(await service.stop(signal)).toBe(0);
      expect(service.output.join('\n')).toContain('shutting down');
    });
  }

  it('should exit 0 on SIGTERM with an open subscription socket', { timeout: 30_000 }, async () => {
    const service = await start(devEnv('ws'));
    // The server going away is the point here: no console noise about the closed socket.
    const client = createClient({
      url: `${service.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined,
    });
    const live = subscribe(
      client,
      'subscription { collectBatchUpdated(id: "5743fcb263686923fc0d0000") { id status } }',
    );
    // The seeded sample batch is expired: one event, then the server completes the stream.
    await live.waitFor(1);
    const idle = subscribe(client, 'subscription { groupPurchaseChanged { eventId } }');
    const code = service.stop('SIGTERM');
    expect(await code).toBe(0);
    await idle.done.catch(() => undefined);
    await client.dispose();
  });

  describe('in production (real upstream URLs: simulators in this process)', () => {
    let chillr: ChillrSimulator;
    let pbg: PbgSimulator;
    beforeAll(async () => {
      chillr = await startTestChillr();
      pbg = await startTestPbg();
    });
    afterAll(async () => {
      await Promise.all([chillr.close(), pbg.close()]);
    });

    it('should exit 0 on SIGTERM', { timeout: 30_000 }, async () => {
      const service = await start({
        ...devEnv('production'),
        NODE_ENV: 'production',
        CHILLR_BASE_URL: chillr.url,
        PBG_BASE_URL: pbg.url,
        PBG_MERCHANT_ID: 'ABC',
        ROUTER_SECRET: 'shutdown-test-router-secret',
        SUBSCRIPTION_CALLBACK_ORIGINS: 'http://127.0.0.1:9',
        ...TEST_SECRETS,
      });
      expect(await service.stop('SIGTERM')).toBe(0);
    });
  });
});
