import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from './helpers/app.js';
import {
  allBackends,
  backendTitle,
  retryUntil,
  Session,
  sqliteBackend,
  type Answer,
} from './helpers/faults/harness.js';
import {
  expectActedOnce,
  expectSameAnswers,
  MOVES,
  subject,
  type MoveName,
  type Subject,
} from './helpers/faults/moves.js';
import { FaultyStore } from './helpers/faults/store.js';
import { startUpstreams, type Upstreams } from './helpers/faults/upstreams.js';

/**
 * Money safety under concurrency: 100 identical requests at once (on one instance,
 * and split over two instances sharing the store), with a healthy upstream and with one that
 * acts and then answers 5xx; and a seeded randomized soak — 20 % 5xx + 10 % hangs + 5 % garbage
 * on every upstream call, clients retrying on the same key — after which no key acted twice
 * and, once the faults stop, every PayByGroup action key ends accepted — also with a store that
 * fails 15 % of its calls meanwhile. MONEY_SAFETY_SEED=<n> replays or varies the soak.
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

const UNKNOWN = 'UPSTREAM_OUTCOME_UNKNOWN';
const CONCURRENCY = 100;

/** `count` calls of `s` at once, spread round-robin over `apps`. */
async function burst(s: Subject, apps: TestApp[], count = CONCURRENCY): Promise<Answer[]> {
  const calls = Array.from({ length: count }, (_, i) => s.call(apps[i % apps.length]!));
  return (await Promise.all(calls)).map((reply) => reply.answer);
}

for (const backend of allBackends()) {
  describe.skipIf(backend.skip !== undefined)(`concurrency ${backendTitle(backend)}`, () => {
    let app: TestApp;
    let peer: TestApp | undefined;

    beforeAll(async () => {
      // No hangs here, and 100 requests at once on a busy machine can be slow: a roomy timeout.
      const env = {
        ...upstreams.env,
        STORE_URL: await backend.open(),
        UPSTREAM_TIMEOUT_MS: '3000',
      };
      app = await session.start(env);
      if (backend.shared) peer = await session.start(env);
    });
    afterEach(() => upstreams.healthy());
    afterAll(async () => {
      await Promise.all([app?.close(), peer?.close()]);
      await backend.close();
    });

    for (const move of MOVES) {
      it(`should act once for ${CONCURRENCY} identical ${move} requests at once, all answered alike`, async () => {
        const s = await subject(move, session, upstreams);
        const answers = await burst(s, [app]);
        expect(s.succeeded(answers[0]!), JSON.stringify(answers[0])).toBe(true);
        expectSameAnswers(answers);
        await expectActedOnce(s);
      });

      it(`should act once for ${CONCURRENCY} identical ${move} requests whose answer is lost`, async () => {
        const s = await subject(move, session, upstreams);
        s.inject('http5xx');
        const answers = await burst(s, [app]);
        expect(answers[0]).toEqual({ error: UNKNOWN, userErrors: [] });
        expectSameAnswers(answers);
        await expectActedOnce(s);
        expect(s.proxy.received(s.actKey)).toBe(1);
      });

      // Two instances share only a SQLite file or Redis; memory:// has no second instance.
      if (backend.shared) {
        it(`should act once for ${CONCURRENCY} identical ${move} requests split over two instances`, async () => {
          const s = await subject(move, session, upstreams);
          const answers = await burst(s, [app, peer!]);
          expect(s.succeeded(answers[0]!), JSON.stringify(answers[0])).toBe(true);
          expectSameAnswers(answers);
          await expectActedOnce(s);
        });
      }
    }
  });
}

/** A client's answers for one key: retries on the same key until a final answer, at most `tries`. */
async function client(s: Subject, apps: TestApp[], tries: number): Promise<Answer[]> {
  const seen: Answer[] = [];
  for (let i = 0; i < tries; i++) {
    const answer = (await s.call(apps[i % apps.length]!)).answer;
    seen.push(answer);
    if (!answer.error) break;
  }
  return seen;
}

/** Answers a caller can act on as final: success, a rejection, or UNKNOWN (for a create). */
const isVerdict = (a: Answer) => !a.error || a.error === UNKNOWN;

/** The soak: keys of every move, clients retrying under random faults, then faults off. */
interface SoakOptions {
  /** Names this run's keys, batches and purchases. */
  label: string;
  apps: TestApp[];
  seed: number;
  keysPerMove: number;
  /** When given, also fails a share of every store call while the upstream faults last. */
  store?: { faulty: FaultyStore; probability: number };
}

async function soak({ label, apps, seed, keysPerMove, store }: SoakOptions): Promise<void> {
  const subjects: Subject[] = [];
  for (const move of MOVES) {
    for (let i = 0; i < keysPerMove; i++) {
      const name = `soak-${seed}-${label}-${move}-${i}`;
      subjects.push(await subject(move as MoveName, session, upstreams, `key-${name}`, name));
    }
  }
  const rates = { http5xx: 0.2, hang: 0.1, garbage: 0.05 };
  upstreams.chillr.randomly({ seed, rates, on: 'any' });
  upstreams.pbg.randomly({ seed, rates, on: 'any' });
  store?.faulty.fail({ probability: store.probability, seed });
  const during = await Promise.all(subjects.map((s) => client(s, apps, 4)));
  upstreams.healthy();
  store?.faulty.recover();

  for (const [i, s] of subjects.entries()) {
    const after = await retryUntil(
      async () => (await s.call(apps[i % apps.length]!)).answer,
      (a) => (s.move === 'create' ? isVerdict(a) : s.succeeded(a)),
      `${s.key} once the faults stopped`,
    );
    const all = [...during[i]!, ...after];
    expect(s.proxy.acts(s.actKey), `acts for ${s.key}; answers ${JSON.stringify(all)}`).toBe(1);
    expect(await s.effects(), `simulator effects for ${s.key}`).toBe(1);
    expect(s.proxy.received(s.actKey), `requests sent upstream for ${s.key}`).toBe(1);
    if (s.move === 'create') expectOneCreateVerdict(s, all, await upstreams.batchesNamed(s.actKey));
    else
      expect(
        all.filter((a) => a.userErrors.length > 0),
        `rejections for ${s.key}`,
      ).toEqual([]);
  }
  // The soak must have put keys of both upstreams into the unknown state, or it proved nothing.
  for (const upstream of ['create', 'action']) {
    const unknown = subjects.filter(
      (s, i) =>
        (s.move === 'create') === (upstream === 'create') &&
        during[i]!.some((a) => a.error === UNKNOWN),
    );
    expect(
      unknown.length,
      `${upstream} keys that went through UPSTREAM_OUTCOME_UNKNOWN`,
    ).toBeGreaterThan(0);
  }
  const kinds = new Set(
    [...upstreams.chillr.applied, ...upstreams.pbg.applied].map((a) => a.fault),
  );
  for (const kind of Object.keys(rates)) expect(kinds, `${kind} faults applied`).toContain(kind);
}

/** Every verdict a create key gave is the same: the batch Chillr made, or UNKNOWN throughout. */
function expectOneCreateVerdict(s: Subject, answers: Answer[], made: string[]): void {
  const verdicts = answers.filter(isVerdict);
  expect(verdicts.length, `verdicts for ${s.key}`).toBeGreaterThan(0);
  expectSameAnswers(verdicts);
  if (!verdicts[0]!.error) expect(verdicts[0]!.batchId).toBe(made[0]);
}

describe('randomized soak: 20 % 5xx + 10 % hangs + 5 % garbage, clients retrying on the same key', () => {
  /** Replay or vary a run with MONEY_SAFETY_SEED=<n>. */
  const SEED = Number(process.env.MONEY_SAFETY_SEED ?? 20261122);

  it(`should act once per key on one instance (memory://, seed ${SEED})`, async () => {
    const app = await session.start(upstreams.env);
    await soak({ label: 'memory', apps: [app], seed: SEED, keysPerMove: 20 });
  });

  it(`should act once per key when the store fails 15 % of its calls too (SQLite, seed ${SEED})`, async () => {
    const sqlite = sqliteBackend();
    const faulty = new FaultyStore();
    const app = await session.start({ ...upstreams.env, STORE_URL: await sqlite.open() }, faulty);
    await soak({
      label: 'flaky-store',
      apps: [app],
      seed: SEED,
      keysPerMove: 20,
      store: { faulty, probability: 0.15 },
    });
    expect(faulty.count({ failed: true }), 'store calls failed on purpose').toBeGreaterThan(20);
    const lostOutcomes = faulty.count({ op: 'set', namespace: 'idempotency', failed: true });
    expect(lostOutcomes, 'outcome writes the outbox had to keep').toBeGreaterThan(0);
    await app.close();
    await sqlite.close();
  });

  const redis = allBackends().find((b) => b.name === 'redis')!;
  describe.skipIf(redis.skip !== undefined)(backendTitle(redis), () => {
    afterAll(() => redis.close());
    it(`should act once per key with retries alternating between two instances (seed ${SEED})`, async () => {
      const env = { ...upstreams.env, STORE_URL: await redis.open() };
      const apps = [await session.start(env), await session.start(env)];
      await soak({ label: 'two-instances', apps, seed: SEED, keysPerMove: 20 });
      await Promise.all(apps.map((a) => a.close()));
    });
  });
});

describe('secrets', () => {
  it('should leak no credential or merchant id into any response body or log line of this file', () => {
    expect(session.bodies.length).toBeGreaterThan(100);
    expect(session.leaks()).toEqual([]);
  });
});
