import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryUntil, Session, unique, within, type Reply } from './helpers/faults/harness.js';
import { staleDist, startServiceProcess, type ServiceProcess } from './helpers/faults/process.js';
import { startUpstreams, type Upstreams } from './helpers/faults/upstreams.js';
import { tempDir } from './helpers/process.js';
import { holdSqliteLock, type HeldLock } from './helpers/sqlite-lock.js';

/**
 * Acceptance, with real processes: the service (`node dist/src/main.js`) on a SQLite file while
 * another process holds that file's write lock (`BEGIN IMMEDIATE`) for 7.5 s — longer than the
 * store's busy timeout (5 s). What must hold:
 *
 * - the event loop never stops: `/healthz`, probed the whole time, answers every time in under
 *   500 ms (the acceptance bound; a synchronous wait for the lock takes seconds);
 * - a create whose Chillr call was sent before the lock and answered in 0.8 s, during it, ends
 *   with its batch id — never UPSTREAM_OUTCOME_UNKNOWN — and Chillr created one batch;
 * - a create that arrives while the lock is held waits for the store up to the busy timeout and
 *   answers STORE_UNAVAILABLE, having taken nothing; retried after the lock is gone, the same
 *   key creates its batch once.
 */

const HOLD_MS = 7500;
const HEALTHZ_BOUND_MS = 500;

const session = new Session();
let upstreams: Upstreams;
let service: ServiceProcess;
let removeDir: (() => Promise<void>) | undefined;
let file: string;
let lock: HeldLock | undefined;

beforeAll(async () => {
  const stale = staleDist();
  if (stale) throw new Error(stale);
  upstreams = await startUpstreams();
  const temp = await tempDir('sqlite-lock-service-');
  removeDir = temp.remove;
  file = join(temp.dir, 'payments.db');
  service = await startServiceProcess({
    ...upstreams.env,
    STORE_URL: `sqlite:${file}`,
    UPSTREAM_TIMEOUT_MS: '3000',
  });
}, 60_000);
afterAll(async () => {
  lock?.kill();
  if (service) session.extraLogs.push(...service.logs);
  await service?.kill('SIGTERM');
  await upstreams?.close();
  await removeDir?.();
});

/** Probes `/healthz` one request after another until stopped; every latency in ms. */
function probeHealthz(url: string) {
  const latencies: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      const response = await fetch(`${url}/healthz`);
      await response.text();
      latencies.push(performance.now() - started);
      expect(response.status).toBe(200);
      await sleep(20);
    }
  })();
  return {
    latencies,
    async stop() {
      running = false;
      await done;
    },
  };
}

describe('the service while another process holds its SQLite write lock for 7.5 s', () => {
  it('should keep /healthz under 500 ms, finish a create Chillr answered in 0.8 s with its batch id, and refuse a new claim with STORE_UNAVAILABLE', async () => {
    const create = (name: string, key: string): Promise<Reply> =>
      session.create(service, name, key);
    // Warm up: the first GraphQL call pays for lazy setup that has nothing to do with the lock.
    const warm = await create(unique('warm'), unique('key-warm'));
    expect(warm.answer.batchId, JSON.stringify(warm.json)).toEqual(expect.any(String));

    const probe = probeHealthz(service.url);
    const sent = { name: unique('batch-sent'), key: unique('key-sent') };
    const late = { name: unique('batch-late'), key: unique('key-late') };
    // The first create is claimed and at the proxy (a barrier) before the lock is taken.
    const hold = upstreams.chillr.hold(sent.name);
    try {
      const first = create(sent.name, sent.key);
      await within(hold.arrived, 'the create to reach Chillr', 20_000);
      lock = await holdSqliteLock(file);
      const lockedAt = Date.now();
      const probesBefore = probe.latencies.length;
      // Chillr answers it in 0.8 s, while the lock is held.
      upstreams.chillrSim.injectFault({ endpoint: 'collect', kind: 'delay', ms: 800 });
      hold.release('pass');
      // The second arrives while the lock is held: its claim waits, then gives up.
      const lateFirst = await create(late.name, late.key);
      expect(lateFirst.answer.error, JSON.stringify(lateFirst.json)).toBe('STORE_UNAVAILABLE');
      expect(upstreams.chillr.received(late.name), 'sent upstream while refused').toBe(0);
      // The lock stays for 7.5 s in all (the scenario's length, not a synchronisation).
      await sleep(Math.max(0, lockedAt + HOLD_MS - Date.now()));
      const probesDuringLock = probe.latencies.length - probesBefore;
      await lock.release();

      const firstReply = await first;
      expect(firstReply.answer.error, JSON.stringify(firstReply.json)).not.toBe(
        'UPSTREAM_OUTCOME_UNKNOWN',
      );
      // The caller has its batch id, at once or by retrying the key.
      const settled = await retryUntil(
        async () => (await create(sent.name, sent.key)).answer,
        (a) => typeof a.batchId === 'string',
        `${sent.key} after the lock`,
      );
      const batchId = settled.at(-1)!.batchId;
      expect([firstReply.answer.batchId, batchId]).toEqual([batchId, batchId]);
      expect(await upstreams.batchesNamed(sent.name)).toEqual([batchId]);
      expect(upstreams.chillr.acts(sent.name), 'Chillr creates for the first key').toBe(1);

      // The refused key, retried after the lock: created once.
      const lateRetry = await create(late.name, late.key);
      expect(lateRetry.answer.batchId, JSON.stringify(lateRetry.json)).toEqual(expect.any(String));
      expect(upstreams.chillr.acts(late.name), 'Chillr creates for the second key').toBe(1);

      await probe.stop();
      expect(probesDuringLock, '/healthz probes answered while the lock was held').toBeGreaterThan(
        20,
      );
      const worst = Math.max(...probe.latencies);
      expect(worst, `worst /healthz latency of ${probe.latencies.length} probes`).toBeLessThan(
        HEALTHZ_BOUND_MS,
      );
    } finally {
      hold.cancel();
      await probe.stop();
      lock?.kill();
    }
    const unknown = service.logs.filter((l) => l.includes('UPSTREAM_OUTCOME_UNKNOWN'));
    expect(unknown, 'log lines recording an unknown outcome').toEqual([]);
  }, 90_000);
});

describe('secrets', () => {
  it('should leak no credential or merchant id into any response body or log line of this file', () => {
    session.extraLogs.push(...service.logs);
    expect(session.leaks()).toEqual([]);
  });
});
