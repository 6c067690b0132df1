import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@keyv/redis';
import { TEST_SECRETS } from './helpers/app.js';
import { staleDist } from './helpers/faults/process.js';
import { runToExit } from './helpers/process.js';
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.js';

/**
 * Production refuses a store that forgets acknowledged writes on a crash — `memory://`, and
 * Redis whose `appendonly` is `no` — with exit 78 naming what it found and the override, and
 * starts on one that keeps them. The built service runs as a real process against real
 * `redis-server`s.
 */

/** Runs the built service until it is listening (then stops it) or exits on its own. */
const run = (env: Record<string, string>) => runToExit(env, { stopWhenListening: true });

const production = {
  NODE_ENV: 'production',
  // Nothing is called upstream: start-up only needs the URLs.
  CHILLR_BASE_URL: 'http://127.0.0.1:9',
  PBG_BASE_URL: 'http://127.0.0.1:9',
  PBG_MERCHANT_ID: 'M1',
  ROUTER_SECRET: 'durability-test-router-secret-0123456789',
  SUBSCRIPTION_CALLBACK_ENABLED: 'false',
  ...TEST_SECRETS,
};

const skip = staleDist() ?? redisSkipReason();

describe.skipIf(skip !== undefined)(`a store that forgets${skip ? ` (${skip})` : ''}`, () => {
  let forgetful: RedisServer;
  let keeping: RedisServer;
  beforeAll(async () => {
    [forgetful, keeping] = await Promise.all([
      startRedisServer(),
      startRedisServer({ appendonly: true }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([forgetful?.close(), keeping?.close()]);
  });

  it('should exit 78 naming appendonly, the store and the override on Redis with appendonly no', async () => {
    const { code, output } = await run({ ...production, STORE_URL: forgetful.url });
    expect(code).toBe(78);
    expect(output).toContain('appendonly no');
    expect(output).toContain(`Redis at ${forgetful.url}`);
    expect(output).toContain('ALLOW_FORGETFUL_STORE=true');
    expect(output).not.toMatch(/\n\s+at /); // a config error, not a stack trace
  });

  it('should serve on Redis with appendonly yes', async () => {
    const { code, output } = await run({ ...production, STORE_URL: keeping.url });
    expect(output).toContain('payments subgraph listening');
    expect(code).toBe(0);
  });

  it('should serve on Redis with appendonly no when the operator accepts it', async () => {
    const env = { ...production, STORE_URL: forgetful.url, ALLOW_FORGETFUL_STORE: 'true' };
    const { code, output } = await run(env);
    expect(output).toContain('payments subgraph listening');
    expect(output).toContain('appendonly no');
    expect(code).toBe(0);
  });

  it('should exit 78 on memory:// unless the override is set', async () => {
    const refused = await run({ ...production, STORE_URL: 'memory://' });
    expect(refused.code).toBe(78);
    expect(refused.output).toContain('memory://');
    expect(refused.output).toContain('ALLOW_FORGETFUL_STORE');
    const accepted = await run({
      ...production,
      STORE_URL: 'memory://',
      ALLOW_FORGETFUL_STORE: 'true',
    });
    expect(accepted.output).toContain('payments subgraph listening');
    expect(accepted.code).toBe(0);
  });

  it('should start in development on a store that forgets, with a warning', async () => {
    const { code, output } = await run({ NODE_ENV: 'development', STORE_URL: forgetful.url });
    expect(output).toContain('payments subgraph listening');
    expect(output).toContain('appendonly no');
    expect(code).toBe(0);
  });

  it('should exit 78 naming REDIS_PERSISTENCE_CONFIRMED on a Redis that refuses CONFIG, and serve once it is set', async () => {
    // A managed Redis hides CONFIG; an ACL user without it stands in for one here.
    const admin = createClient({ url: keeping.url });
    await admin.connect();
    await admin.sendCommand([
      'ACL',
      'SETUSER',
      'app',
      'on',
      '>app-pass',
      '~*',
      '&*',
      '+@all',
      '-config',
    ]);
    await admin.close();
    const url = keeping.url.replace('redis://', 'redis://app:app-pass@');
    const refused = await run({ ...production, STORE_URL: url });
    expect(refused.code).toBe(78);
    expect(refused.output).toContain('REDIS_PERSISTENCE_CONFIRMED=true');
    expect(refused.output).not.toContain('app-pass');
    const confirmed = await run({
      ...production,
      STORE_URL: url,
      REDIS_PERSISTENCE_CONFIRMED: 'true',
    });
    expect(confirmed.output).toContain('payments subgraph listening');
    expect(confirmed.code).toBe(0);
  });
});
