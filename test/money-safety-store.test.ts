import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from './helpers/app.js';
import {
  allBackends,
  backendTitle,
  Session,
  waitUntil,
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
 * Money safety when the store fails at each step of a money-moving mutation — the
 * claim, the outcome record, the bookkeeping, or everything from the moment the request leaves
 * for the upstream — and then recovers. Each case runs for a Chillr create, a PayByGroup REFUND
 * and a COLLECT_FUNDS, on memory://, a SQLite file and a real redis-server. On the shared
 * backends a second instance (its store healthy) answers the key after recovery too.
 */

const session = new Session();
let upstreams: Upstreams;

beforeAll(async () => {
  upstreams = await startUpstreams();
});
afterAll(async () => {
  await session.closeAll();
  await upstreams?.close();
});

for (const backend of allBackends()) {
  describe.skipIf(backend.skip !== undefined)(`store faults ${backendTitle(backend)}`, () => {
    const faulty = new FaultyStore();
    let app: TestApp;
    /** A second instance on the same store (shared backends only), never faulted. */
    let peer: TestApp | undefined;

    beforeAll(async () => {
      const env = { ...upstreams.env, STORE_URL: await backend.open() };
      app = await session.start(env, faulty);
      if (backend.shared) peer = await session.start(env);
    });
    afterEach(() => {
      faulty.recover();
      upstreams.healthy();
    });
    afterAll(async () => {
      await Promise.all([app?.close(), peer?.close()]);
      await backend.close();
    });

    /** Recovers the store and waits until a write to `idempotency` has gone through. */
    const recoverAndDrain = async () => {
      const mark = faulty.events.length;
      faulty.recover();
      await waitUntil(
        () =>
          faulty.events
            .slice(mark)
            .some((e) => e.op === 'set' && e.namespace === 'idempotency' && !e.failed),
        'the outbox to write the kept outcome once the store recovered',
      );
    };

    /** After recovery: this instance and the peer answer like `first`; the upstream acted once. */
    const expectSettled = async (s: Subject, earlier: Reply[]) => {
      const after = await s.call(app);
      const fromPeer = peer ? [await s.call(peer)] : [];
      expectSameAnswers([...earlier, after, ...fromPeer].map((r) => r.answer));
      await expectActedOnce(s);
    };

    for (const move of MOVES) {
      describe(move, () => {
        it('should refuse with STORE_UNAVAILABLE and call no upstream when the claim fails, then act once after recovery', async () => {
          const s = await subject(move, session, upstreams);
          faulty.fail({ ops: ['setIfAbsent'], namespaces: ['idempotency'] });
          const first = await s.call(app);
          expect(first.answer.error).toBe('STORE_UNAVAILABLE');
          expect(s.proxy.received(s.actKey), 'requests that reached the upstream').toBe(0);

          faulty.recover();
          const second = await s.call(app);
          expect(s.succeeded(second.answer), JSON.stringify(second.json)).toBe(true);
          const third = await s.call(app);
          expect(third.answer).toEqual(second.answer);
          await expectActedOnce(s);
        });

        it("should answer the upstream's result when the outcome cannot be stored, and the same on every retry", async () => {
          const s = await subject(move, session, upstreams);
          faulty.fail({ ops: ['set'], namespaces: ['idempotency'] });
          const first = await s.call(app);
          expect(s.succeeded(first.answer), JSON.stringify(first.json)).toBe(true);
          expect(
            faulty.count({ op: 'set', namespace: 'idempotency', failed: true }),
          ).toBeGreaterThan(0);
          const beforeRecovery = await s.call(app);

          await recoverAndDrain();
          await expectSettled(s, [first, beforeRecovery]);
        });

        it("should answer the upstream's result and log a warning when the bookkeeping cannot be stored", async () => {
          const s = await subject(move, session, upstreams);
          faulty.fail({ ops: ['set', 'delete'], except: ['idempotency'] });
          const logMark = app.logs.length;
          const first = await s.call(app);
          expect(s.succeeded(first.answer), JSON.stringify(first.json)).toBe(true);
          expect(faulty.count({ failed: true }), 'bookkeeping writes attempted').toBeGreaterThan(0);
          const warnings = app.logs.slice(logMark).filter((line) => line.includes('"level":40'));
          expect(warnings.length, 'warning lines logged').toBeGreaterThan(0);
          const beforeRecovery = await s.call(app);

          faulty.recover();
          await expectSettled(s, [first, beforeRecovery]);
        });

        it('should keep the answer when the whole store goes down as the request leaves, and the same on every retry', async () => {
          const s = await subject(move, session, upstreams);
          const off = s.proxy.onRequest((request) => {
            if (request.kind === 'act' && request.key === s.actKey) faulty.fail();
          });
          const first = await s.call(app);
          off();
          expect(s.succeeded(first.answer), JSON.stringify(first.json)).toBe(true);
          expect(
            faulty.count({ failed: true }),
            'store calls failed after the send',
          ).toBeGreaterThan(0);
          // Store down (claims, reads and writes): the retry is answered from the outbox.
          const beforeRecovery = await s.call(app);

          await recoverAndDrain();
          await expectSettled(s, [first, beforeRecovery]);
        });
      });
    }
  });
}

describe('secrets', () => {
  it('should leak no credential or merchant id into any response body or log line of this file', () => {
    expect(session.bodies.length).toBeGreaterThan(10);
    expect(session.leaks()).toEqual([]);
  });
});
