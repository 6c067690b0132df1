import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from './helpers/app.js';
import {
  redisBackend,
  retryUntil,
  Session,
  waitUntil,
  type Answer,
  type Reply,
} from './helpers/faults/harness.js';
import {
  expectActedOnce,
  expectSameAnswers,
  MOVES,
  subject,
  type Subject,
} from './helpers/faults/moves.js';
import { FaultyStore } from './helpers/faults/store.js';
import { startUpstreams, type Upstreams } from './helpers/faults/upstreams.js';

/**
 * Money safety across two instances, A and B, sharing one real redis-server: A's store
 * fails (the outcome, the bookkeeping, or everything from the moment the request leaves) while
 * B retries the same key. B must wait on A's claim — never call the upstream again — and answer
 * what A answered once A's outbox has written the outcome. An unknown outcome on A is settled
 * by a retry on B. The upstream timeout is 2 s here so the claim deadline (2 × timeout +
 * margin) stays far beyond A's recovery: B is meant to see A's outcome, not an owner presumed
 * dead. The last cases let A stay down past the deadline: B then calls a create unknown (and
 * settles an action by read-back) without acting again, and agrees with A once A recovers.
 */

const session = new Session();
const redis = redisBackend();
let upstreams: Upstreams;

describe.skipIf(redis.skip !== undefined)(
  `two instances on one redis-server${redis.skip ? ` (${redis.skip})` : ''}`,
  () => {
    const faultyA = new FaultyStore();
    /** B's store never fails; the wrapper only shows when B is polling A's claim. */
    const watchB = new FaultyStore();
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      upstreams = await startUpstreams();
      const env = { ...upstreams.env, STORE_URL: await redis.open(), UPSTREAM_TIMEOUT_MS: '2000' };
      a = await session.start(env, faultyA);
      b = await session.start(env, watchB);
    });
    afterEach(() => {
      faultyA.recover();
      upstreams.healthy();
    });
    afterAll(async () => {
      await session.closeAll();
      await upstreams?.close();
      await redis.close();
    });

    /**
     * B retries while A's store is still failing; once B is seen polling A's claim, A's store
     * recovers. B's answer (after any IDEMPOTENCY_IN_PROGRESS) is returned.
     */
    const retryOnBWhileARecovers = async (s: Subject): Promise<Answer> => {
      const polls = () => watchB.count({ op: 'get', namespace: 'idempotency', key: s.key });
      const before = polls();
      const onB = s.call(b);
      await waitUntil(() => polls() > before, 'B to poll the claim A holds');
      expect(s.proxy.received(s.actKey), 'requests sent upstream while B waits').toBe(1);
      faultyA.recover();
      const first = (await onB).answer;
      if (first.error !== 'IDEMPOTENCY_IN_PROGRESS') return first;
      const seen = await retryUntil(
        async () => (await s.call(b)).answer,
        (x) => x.error !== 'IDEMPOTENCY_IN_PROGRESS',
        'B once A recovered',
      );
      return seen.at(-1)!;
    };

    const expectAgreement = async (s: Subject, earlier: Reply[], fromB: Answer) => {
      const later = [(await s.call(a)).answer, (await s.call(b)).answer];
      expectSameAnswers([...earlier.map((r) => r.answer), fromB, ...later]);
      await expectActedOnce(s);
    };

    for (const move of MOVES) {
      describe(move, () => {
        it("should answer on B what A answered when A's store cannot take the outcome", async () => {
          const s = await subject(move, session, upstreams);
          faultyA.fail({ ops: ['set'], namespaces: ['idempotency'] });
          const first = await s.call(a);
          expect(s.succeeded(first.answer), JSON.stringify(first.json)).toBe(true);
          const againOnA = await s.call(a);
          const fromB = await retryOnBWhileARecovers(s);
          await expectAgreement(s, [first, againOnA], fromB);
        });

        it("should answer on B what A answered when A's whole store goes down as the request leaves", async () => {
          const s = await subject(move, session, upstreams);
          const off = s.proxy.onRequest((r) => {
            if (r.kind === 'act' && r.key === s.actKey) faultyA.fail();
          });
          const first = await s.call(a);
          off();
          expect(s.succeeded(first.answer), JSON.stringify(first.json)).toBe(true);
          const againOnA = await s.call(a);
          const fromB = await retryOnBWhileARecovers(s);
          await expectAgreement(s, [first, againOnA], fromB);
        });

        it("should answer on B what A answered when A's bookkeeping cannot be stored", async () => {
          const s = await subject(move, session, upstreams);
          faultyA.fail({ ops: ['set', 'delete'], except: ['idempotency'] });
          const first = await s.call(a);
          expect(s.succeeded(first.answer), JSON.stringify(first.json)).toBe(true);
          // A batch record commits with the outcome in one step: a store that refuses the record
          // refuses the outcome, and B waits for it. A purchase's state is bookkeeping after the
          // outcome, so B answers at once.
          const fromB =
            move === 'create' ? await retryOnBWhileARecovers(s) : (await s.call(b)).answer;
          faultyA.recover();
          await expectAgreement(s, [first], fromB);
        });

        it('should let B take the key when the claim on A failed, and act once', async () => {
          const s = await subject(move, session, upstreams);
          faultyA.fail({ ops: ['setIfAbsent'], namespaces: ['idempotency'] });
          expect((await s.call(a)).answer.error).toBe('STORE_UNAVAILABLE');
          const fromB = await s.call(b);
          expect(s.succeeded(fromB.answer), JSON.stringify(fromB.json)).toBe(true);
          faultyA.recover();
          expect((await s.call(a)).answer).toEqual(fromB.answer);
          await expectActedOnce(s);
        });

        it('should settle on B a key whose answer A lost, without a second act', async () => {
          const s = await subject(move, session, upstreams);
          s.inject('http5xx');
          expect((await s.call(a)).answer.error).toBe('UPSTREAM_OUTCOME_UNKNOWN');
          const fromB = (await s.call(b)).answer;
          if (move === 'create') expect(fromB.error).toBe('UPSTREAM_OUTCOME_UNKNOWN');
          else expect(s.succeeded(fromB), JSON.stringify(fromB)).toBe(true);
          expect((await s.call(a)).answer).toEqual(fromB);
          await expectActedOnce(s);
        });
      });
    }

    describe("A's store down past the claim deadline", () => {
      const faultyA2 = new FaultyStore();
      let a2: TestApp;
      let b2: TestApp;

      beforeAll(async () => {
        // A short timeout: the claim deadline (2 × 300 ms + 500 ms) passes while A is down.
        const env = { ...upstreams.env, STORE_URL: redis.server().url, UPSTREAM_TIMEOUT_MS: '300' };
        a2 = await session.start(env, faultyA2);
        b2 = await session.start(env);
      });
      afterEach(() => faultyA2.recover());

      for (const move of ['create', 'refund'] as const) {
        it(`should have B call a ${move} unknown (or settle it by read-back), never act again, and agree once A recovers`, async () => {
          const s = await subject(move, session, upstreams);
          faultyA2.fail({ ops: ['set'], namespaces: ['idempotency'] });
          const first = await s.call(a2);
          expect(s.succeeded(first.answer), JSON.stringify(first.json)).toBe(true);
          // B waits on A's claim until its deadline, then takes A for dead.
          const fromB = (await s.call(b2)).answer;
          if (move === 'create')
            expect(fromB).toEqual({ error: 'UPSTREAM_OUTCOME_UNKNOWN', userErrors: [] });
          else expect(fromB).toEqual(first.answer);
          expect(s.proxy.received(s.actKey), 'requests sent upstream').toBe(1);

          const mark = faultyA2.events.length;
          faultyA2.recover();
          await waitUntil(
            () =>
              faultyA2.events
                .slice(mark)
                .some((e) => e.op === 'set' && e.namespace === 'idempotency' && !e.failed),
            "A's outbox to write the outcome",
          );
          expectSameAnswers([first.answer, (await s.call(b2)).answer, (await s.call(a2)).answer]);
          await expectActedOnce(s);
        });
      }
    });

    it('should leak no credential or merchant id into any response body or log line of this file', () => {
      expect(session.bodies.length).toBeGreaterThan(20);
      expect(session.leaks()).toEqual([]);
    });
  },
);
