import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from './helpers/app.js';
import {
  postgresBackend,
  redisBackend,
  retryUntil,
  Session,
  sqliteBackend,
  waitUntil,
  within,
  type Answer,
} from './helpers/faults/harness.js';
import {
  expectActedOnce,
  MOVES,
  subject,
  type MoveName,
  type Subject,
} from './helpers/faults/moves.js';
import { staleDist, startServiceProcess } from './helpers/faults/process.js';
import { FaultyStore } from './helpers/faults/store.js';
import { startUpstreams, type Upstreams } from './helpers/faults/upstreams.js';

/**
 * Money safety when the process holding a key dies: `node dist/src/main.js` is killed
 * with SIGKILL while the fault proxy holds its money-moving request (a barrier: the request is
 * at the proxy), then the proxy lets the upstream act (or drops the request). Another instance
 * sharing the store retries the key: the claim is pending past its deadline, so a create is
 * UPSTREAM_OUTCOME_UNKNOWN and a PayByGroup action is settled by reading the purchase back —
 * never a second act. Also: a shutdown with an outcome the store never took logs it at error
 * level with the key. Runs on a SQLite file and on a real redis-server.
 */

const UNKNOWN = 'UPSTREAM_OUTCOME_UNKNOWN';
const session = new Session();
let upstreams: Upstreams;

beforeAll(async () => {
  const stale = staleDist();
  if (stale) throw new Error(stale);
  upstreams = await startUpstreams();
});
afterAll(async () => {
  await session.closeAll();
  await upstreams?.close();
});

/**
 * Retries on `b` until the key settles — UNKNOWN for a create, accepted for an action (which a
 * retry may only settle once the dead attempt's claim deadline has passed) — and returns the
 * settled answer. On the way only IDEMPOTENCY_IN_PROGRESS and UNKNOWN may be answered.
 */
async function settleOn(b: TestApp, s: Subject): Promise<Answer> {
  const seen = await retryUntil(
    async () => (await s.call(b)).answer,
    (a) => (s.move === 'create' ? a.error === UNKNOWN : s.succeeded(a)),
    `${s.key} on the surviving instance`,
    80,
  );
  const final = seen.at(-1)!;
  const interim = seen.slice(0, -1).filter((a) => a.error !== 'IDEMPOTENCY_IN_PROGRESS');
  expect(
    interim.filter((a) => a.error !== UNKNOWN),
    'answers before settling',
  ).toEqual([]);
  return final;
}

for (const backend of [sqliteBackend(), redisBackend(), postgresBackend()]) {
  // Concurrent: each case waits on its own process and its own claim deadline.
  describe.skipIf(backend.skip !== undefined)(
    `process death on ${backend.name}${backend.skip ? ` (${backend.skip})` : ''}`,
    { concurrent: true },
    () => {
      let env: Record<string, string>;
      let b: TestApp;

      beforeAll(async () => {
        env = { ...upstreams.env, STORE_URL: await backend.open() };
        b = await session.start({ ...env, UPSTREAM_TIMEOUT_MS: '1000' });
      });
      afterAll(async () => {
        await b?.close();
        await backend.close();
      });

      /** Starts a service process, sends `s` through it, and kills it once the proxy holds it. */
      const killMidCall = async (s: Subject, then: 'pass' | 'drop') => {
        const hold = s.proxy.hold(s.actKey);
        // Long enough for the kill to land before the child gives up on the held call (the
        // kill follows the barrier at once, but a loaded machine can take a while), short
        // enough that the claim deadline (2 × timeout + 1 s) does not slow the retry much.
        const child = await startServiceProcess({
          ...env,
          UPSTREAM_TIMEOUT_MS: '1000',
          IDEMPOTENCY_CLAIM_MARGIN_MS: '500',
        });
        try {
          const inflight = s.call(child).then(
            (reply) => `answered ${JSON.stringify(reply.json)}`,
            () => 'cut off',
          );
          const first = await within(
            Promise.race([hold.arrived.then(() => 'held'), inflight]),
            `the service process to send ${s.actKey}`,
            20_000,
          );
          expect(
            first,
            `the request at the proxy; the process log:\n${child.logs.join('\n')}`,
          ).toBe('held');
          await child.kill('SIGKILL');
          expect(await inflight).toBe('cut off');
          hold.release(then);
          if (then === 'pass') {
            await waitUntil(
              () => s.proxy.acts(s.actKey) === 1,
              'the upstream to act after the kill',
            );
          }
        } finally {
          hold.cancel();
          await child.kill('SIGKILL');
          session.extraLogs.push(...child.logs);
        }
      };

      // Every move on SQLite; on Redis and PostgreSQL the create and one action (each case costs
      // a process).
      const moves: MoveName[] = backend.name === 'sqlite' ? MOVES : ['create', 'refund'];
      for (const move of moves) {
        it(`should never act twice when the process dies mid-${move} and the upstream acts after`, async () => {
          const s = await subject(move, session, upstreams);
          await killMidCall(s, 'pass');
          const final = await settleOn(b, s);
          if (move === 'create') expect(final).toEqual({ error: UNKNOWN, userErrors: [] });
          else expect(s.succeeded(final), JSON.stringify(final)).toBe(true);
          expect((await s.call(b)).answer).toEqual(final);
          await expectActedOnce(s);
          expect(s.proxy.received(s.actKey), 'requests sent upstream').toBe(1);
        }, 60_000);
      }

      for (const move of backend.name === 'sqlite' ? (['create', 'refund'] as MoveName[]) : []) {
        it(`should never act twice when the process dies mid-${move} and the request never reached the upstream`, async () => {
          const s = await subject(move, session, upstreams);
          await killMidCall(s, 'drop');
          const final = await settleOn(b, s);
          expect((await s.call(b)).answer).toEqual(final);
          if (move === 'create') {
            expect(final).toEqual({ error: UNKNOWN, userErrors: [] });
            expect(s.proxy.acts(s.actKey)).toBe(0);
            expect(s.proxy.received(s.actKey)).toBe(1);
          } else {
            // The read-back shows no refund, so the retry sends it once; PBG refuses a second.
            expect(s.succeeded(final), JSON.stringify(final)).toBe(true);
            await expectActedOnce(s, 2);
          }
        }, 60_000);
      }

      for (const move of backend.name === 'sqlite' ? (['create', 'refund'] as MoveName[]) : []) {
        it(`should log an unwritten ${move} outcome at shutdown with its key, and never act twice after`, async () => {
          const faulty = new FaultyStore();
          // A roomy timeout: these cases run beside process starts on a busy machine.
          const a = await session.start({ ...env, UPSTREAM_TIMEOUT_MS: '1000' }, faulty);
          const s = await subject(move, session, upstreams);
          faulty.fail({ ops: ['set'], namespaces: ['idempotency'] });
          const first = await s.call(a);
          expect(s.succeeded(first.answer), JSON.stringify(first.json)).toBe(true);
          await a.close();
          const unwritten = a.logs.filter((l) => l.includes('"level":50') && l.includes(s.key));
          expect(unwritten.length, 'error lines naming the key').toBeGreaterThan(0);
          if (move === 'create') expect(unwritten.join('\n')).toContain(first.answer.batchId!);

          const final = await settleOn(b, s);
          if (move === 'create') expect(final.error).toBe(UNKNOWN);
          else expect(final).toEqual(first.answer);
          await expectActedOnce(s);
        }, 60_000);
      }
    },
  );
}

describe('secrets', () => {
  it('should leak no credential or merchant id into any response body or log line of this file', () => {
    expect(session.extraLogs.length, 'service process log lines').toBeGreaterThan(10);
    expect(session.leaks()).toEqual([]);
  });
});
