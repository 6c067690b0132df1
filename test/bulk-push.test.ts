import { DatabaseSync } from 'node:sqlite';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StateLog, Store } from '../src/store/index.js';
import { startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import {
  backendTitle,
  memoryBackend,
  postgresBackend,
  redisBackend,
  sqliteBackend,
  type Backend,
} from './helpers/faults/harness.js';
import { FaultyStore, type StoreEvent } from './helpers/faults/store.js';
import { replaceCommit } from './helpers/state-log-commit.js';
import { push } from './helpers/ws.js';

/**
 * Bulk change pushes: a push of 5,000 events over real HTTP is stored in a few state log commits,
 * in the push's order — SQLite transactions (in the state log's writer thread), MULTI/EXEC
 * pipelines on a real redis-server — while /healthz keeps answering; a repeat of it writes
 * nothing; a fault in the middle of it leaves a prefix of the push stored, which the retry
 * completes with each event logged once, in order. Counts only, never times.
 */

const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;
const SIZE = 5000;

const event = (purchaseId: string, numPeople = 4) => ({
  purchase_id: purchaseId,
  merchant_id: 'ABC',
  status: 'pending',
  num_people: numPeople,
  purchase_cost: '90.00 USD',
});
const bulk = (label: string) =>
  Array.from({ length: SIZE }, (_, i) => event(`${label}_${i}`, i % 9));

const isWrite = (e: StoreEvent) => e.op === 'set' || e.op === 'delete' || e.op === 'setIfAbsent';
const isCommit = (e: StoreEvent) => e.namespace === 'stateLog' && e.op === 'set';

type Logged = { purchase: { purchaseId: string; numPeople: number } };

/** Every log entry after `after`, oldest first. */
async function logAfter(stateLog: StateLog, after: string | undefined): Promise<Logged[]> {
  const out: Logged[] = [];
  let cursor = after;
  for (;;) {
    const { entries } = await stateLog.readLog<Logged>(cursor, 500);
    out.push(...entries.map((e) => e.value));
    if (entries.length < 500) return out;
    cursor = entries.at(-1)!.cursor;
  }
}

/**
 * Sends the push and, one after another until it is answered, /healthz probes: how many were
 * answered 200 and how many were not, while it ran.
 */
async function pushWhileProbing(app: TestApp, events: unknown[]) {
  let done = false;
  const answer = push(app, { merchant_auth: auth, events }).finally(() => (done = true));
  let answered = 0;
  let failed = 0;
  while (!done) {
    const health = await fetch(`${app.url}/healthz`).catch(() => undefined);
    if (done) break;
    if (health?.ok) answered += 1;
    else failed += 1;
  }
  return { answer: await answer, answered, failed };
}

/**
 * Fails the state log's next commit after `skip` good ones, once, inside the store the app opened
 * (below the FaultyStore, which still records the call).
 */
class CommitFault {
  #skip = -1;

  failAfter(skip: number): void {
    this.#skip = skip;
  }

  readonly wrap = (store: Store): Store =>
    replaceCommit(store, async (writes, real) => {
      if (this.#skip === 0) {
        this.#skip = -1;
        throw new Error('injected fault: stateLog commit');
      }
      if (this.#skip > 0) this.#skip -= 1;
      return real.commit(writes);
    });
}

const backends: Backend[] = [memoryBackend(), sqliteBackend(), redisBackend(), postgresBackend()];

for (const backend of backends) {
  describe.skipIf(backend.skip !== undefined)(`a 5,000-event push ${backendTitle(backend)}`, () => {
    const store = new FaultyStore();
    const fault = new CommitFault();
    let app: TestApp;
    let storeUrl: string;

    beforeAll(async () => {
      storeUrl = await backend.open();
      app = await startTestApp(
        { STORE_URL: storeUrl, PBG_RECONCILE_INTERVAL_MS: '0' },
        { wrapStore: (real) => store.wrap(fault.wrap(real)) },
      );
    });
    afterAll(async () => {
      await app?.close();
      await backend.close();
    });

    it('should store 5,000 distinct purchases in a few commits, in order, while /healthz answers', async () => {
      const events = bulk('BULK_A');
      const head = await store.real.stateLog.head();
      const from = store.events.length;
      const execs = await redisExecs(backend, storeUrl);

      const { answer, answered, failed } = await pushWhileProbing(app, events);
      expect(answer).toEqual({ status: 200, json: { result: true } });
      // At most one commit per slice of 500 events; each carries a whole number of slices.
      const commits = store.events.slice(from).filter(isCommit);
      expect(commits.length).toBeGreaterThanOrEqual(1);
      expect(commits.length).toBeLessThanOrEqual(SIZE / 500);
      if (execs !== undefined) {
        // At most one MULTI … EXEC per commit (a commit of up to 1,000 writes is one Lua call,
        // atomic without one).
        expect((await redisExecs(backend, storeUrl))! - execs).toBeLessThanOrEqual(commits.length);
      }
      expect(answered).toBeGreaterThan(0);
      expect(failed).toBe(0);
      const logged = await logAfter(store.real.stateLog, head);
      expect(logged.map((e) => e.purchase.purchaseId)).toEqual(events.map((e) => e.purchase_id));
      expect(logged[8]!.purchase.numPeople).toBe(8);
    });

    it('should write nothing when the same push arrives again', async () => {
      const events = bulk('BULK_A');
      const head = await store.real.stateLog.head();
      const from = store.events.length;
      expect(await push(app, { merchant_auth: auth, events })).toEqual({
        status: 200,
        json: { result: true },
      });
      expect(store.events.slice(from).filter(isWrite)).toEqual([]);
      expect(await store.real.stateLog.head()).toBe(head);
    });

    it('should apply a purchase listed twice in one push in order, its second event in a later commit', async () => {
      const head = await store.real.stateLog.head();
      const from = store.events.length;
      const events = [event('TWICE_1', 1), event('TWICE_2', 1), event('TWICE_1', 2)];
      expect(await push(app, { merchant_auth: auth, events })).toEqual({
        status: 200,
        json: { result: true },
      });
      expect(store.events.slice(from).filter(isCommit)).toHaveLength(2);
      const logged = await logAfter(store.real.stateLog, head);
      expect(logged.map((e) => [e.purchase.purchaseId, e.purchase.numPeople])).toEqual([
        ['TWICE_1', 1],
        ['TWICE_2', 1],
        ['TWICE_1', 2],
      ]);
    });

    it('should answer 503 when a later commit of a push fails, keep each purchase in order, and log each event once after the retry', async () => {
      const head = await store.real.stateLog.head();
      // 5,000 distinct purchases and then 5,000 second events for them.
      const events = [...bulk('BULK_R'), ...bulk('BULK_R').map((e) => ({ ...e, num_people: 20 }))];
      const pairs = events.map((e): [string, number] => [e.purchase_id, e.num_people]);
      fault.failAfter(1);
      const refused = await push(app, { merchant_auth: auth, events });
      expect(refused).toMatchObject({ status: 503, json: { result: false } });
      const stored = (await logAfter(store.real.stateLog, head)).map((e): [string, number] => [
        e.purchase.purchaseId,
        e.purchase.numPeople,
      ]);
      // Something stood, not all: the failed commit's events (the second slice) are missing.
      expect(stored.length).toBeGreaterThan(0);
      expect(stored.length).toBeLessThan(events.length);
      expect(stored.map(([id]) => id)).not.toContain('BULK_R_500');
      // Each purchase has a prefix of its own events: never its second without its first.
      expectPerPurchasePrefixes(stored, pairs);
      if (!store.real.stateLog.commitsInCallOrder) {
        // One commit at a time: nothing after the failed one, so a prefix of the push.
        expect(stored).toEqual(pairs.slice(0, stored.length));
      }

      expect(await push(app, { merchant_auth: auth, events })).toEqual({
        status: 200,
        json: { result: true },
      });
      // The retry logged only what was missing: every event once, each purchase in order.
      const logged = (await logAfter(store.real.stateLog, head)).map((e): [string, number] => [
        e.purchase.purchaseId,
        e.purchase.numPeople,
      ]);
      expect(logged).toHaveLength(events.length);
      expect(perPurchase(logged)).toEqual(perPurchase(pairs));
    });

    it.runIf(backend.name === 'sqlite')(
      'should store none of a transaction that fails midway, only the prefix before it, and all 5,000 once PBG retries',
      async () => {
        const events = bulk('BULK_F');
        const head = await store.real.stateLog.head();
        // A real fault inside the engine: the 2,501st log insert aborts its transaction.
        const file = new DatabaseSync(storeUrl.slice('sqlite:'.length));
        file.exec(`CREATE TRIGGER fail_midway BEFORE INSERT ON change_log
                   WHEN NEW.value LIKE '%"BULK_F_2500"%'
                   BEGIN SELECT RAISE(ABORT, 'injected fault midway'); END`);
        try {
          const refused = await push(app, { merchant_auth: auth, events });
          expect(refused).toMatchObject({ status: 503, json: { result: false } });
          // The transaction that held event 2,500 (a commit holds whole slices of 500) stored
          // none of its events; other slices may stand, each whole, in the push's order.
          const stored = (await logAfter(store.real.stateLog, head)).map(
            (e) => e.purchase.purchaseId,
          );
          const ids = events.map((e) => e.purchase_id);
          expect(stored.length % 500).toBe(0);
          expect(stored).not.toContain('BULK_F_2500');
          expect(stored).toEqual(ids.filter((id) => stored.includes(id)));
          const states = await store.real.stateLog.getMany(ids);
          expect([...states.keys()].sort()).toEqual([...stored].sort());
        } finally {
          file.exec('DROP TRIGGER fail_midway');
          file.close();
        }
        expect(await push(app, { merchant_auth: auth, events })).toEqual({
          status: 200,
          json: { result: true },
        });
        const logged = await logAfter(store.real.stateLog, head);
        const ids = logged.map((e) => e.purchase.purchaseId);
        expect(ids).toHaveLength(SIZE);
        expect([...ids].sort()).toEqual(events.map((e) => e.purchase_id).sort());
      },
    );
  });
}

/** Each purchase's logged numPeople values, in log order. */
function perPurchase(pairs: ReadonlyArray<[string, number]>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [id, n] of pairs) out.set(id, [...(out.get(id) ?? []), n]);
  return out;
}

/** Every purchase in `stored` has a prefix of its own events in `pushed`, in order. */
function expectPerPurchasePrefixes(
  stored: ReadonlyArray<[string, number]>,
  pushed: ReadonlyArray<[string, number]>,
): void {
  const all = perPurchase(pushed);
  for (const [id, values] of perPurchase(stored)) {
    expect([id, values]).toEqual([id, all.get(id)!.slice(0, values.length)]);
  }
}

/** Redis's count of EXEC calls so far (INFO commandstats), or undefined off Redis. */
async function redisExecs(backend: Backend, url: string): Promise<number | undefined> {
  if (backend.name !== 'redis') return undefined;
  const admin = createClient({ url });
  await admin.connect();
  try {
    const info = await admin.info('commandstats');
    return Number(/cmdstat_exec:calls=(\d+)/.exec(info)?.[1] ?? 0);
  } finally {
    await admin.close();
  }
}
