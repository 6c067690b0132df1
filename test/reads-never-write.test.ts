import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupPurchaseDocument, GroupPurchasesDocument } from './generated/graphql.js';
import { openStore } from '../src/store/index.js';
import { PurchaseStateStore } from '../src/purchase/state.js';
import type { EventBus } from '../src/events/pubsub.js';
import { silentLogger } from '../src/logger.js';
import { readGroupPurchase } from '../src/pbg/parse.js';
import { GroupPurchaseChangeSource as Source } from '../src/purchase/stored.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { allBackends, backendTitle } from './helpers/faults/harness.js';
import { FaultyStore, type StoreEvent } from './helpers/faults/store.js';

/**
 * Reads never write on the hot path: a read that shows nothing new writes nothing
 * to the store — no keyv set or delete, no create-if-absent, no state log commit — on every engine.
 * Every store call goes through a FaultyStore (nothing armed), which records it.
 */

const isWrite = (e: StoreEvent) => e.op === 'set' || e.op === 'delete' || e.op === 'setIfAbsent';

for (const backend of allBackends()) {
  describe.skipIf(backend.skip !== undefined)(`reads ${backendTitle(backend)}`, () => {
    const store = new FaultyStore();
    let app: TestApp;

    beforeAll(async () => {
      // Every read goes to PayByGroup and is observed (PBG_CACHE_TTL_MS 0); no reconciliation
      // sweep (it rotates open purchases, a write) runs during the counts.
      app = await startTestApp(
        { STORE_URL: await backend.open(), PBG_CACHE_TTL_MS: '0', PBG_RECONCILE_INTERVAL_MS: '0' },
        { wrapStore: store.wrap },
      );
    });
    afterAll(async () => {
      await app?.close();
      await backend.close();
    });

    const listPending = async () => {
      const result = await app.gql(GroupPurchasesDocument, { filter: { status: ['PENDING'] } });
      expect(result.errors).toBeUndefined();
      return result.data!.groupPurchases.map((p) => p.purchaseId);
    };

    it('should write nothing for 20 repeated groupPurchases(PENDING) and groupPurchase reads after the first', async () => {
      const ids = await listPending();
      expect(ids.length).toBeGreaterThan(1);
      const one = await app.gql(GroupPurchaseDocument, { purchaseId: ids[0]! });
      expect(one.data?.groupPurchase?.status).toBe('PENDING');

      const from = store.events.length;
      const repeatsBefore = app.purchaseState.stats().repeats;
      for (let i = 0; i < 20; i++) {
        expect(await listPending()).toEqual(ids);
        const again = await app.gql(GroupPurchaseDocument, { purchaseId: ids[0]! });
        expect(again.data?.groupPurchase?.purchaseId).toBe(ids[0]);
      }
      const during = store.events.slice(from);
      // The reads were compared with the stored state (so the path that used to write ran) …
      expect(app.purchaseState.stats().repeats - repeatsBefore).toBe(20 * (ids.length + 1));
      expect(
        during.filter((e) => e.namespace === 'stateLog' && e.op === 'get').length,
      ).toBeGreaterThan(0);
      // … and not one of them wrote.
      expect(during.filter(isWrite)).toEqual([]);
    });

    it('should write exactly the change a read shows: one commit, one log entry', async () => {
      const [id] = await listPending();
      const stateLog = store.real.stateLog;
      const head = await stateLog.head();
      await app.sandbox.pbg!.updatePurchase(id!, { num_people: 11 }, { push: false });

      const from = store.events.length;
      const read = await app.raw(`{ groupPurchase(purchaseId: "${id}") { numPeople } }`);
      expect(read.json.data).toEqual({ groupPurchase: { numPeople: 11 } });
      const writes = store.events.slice(from).filter(isWrite);
      expect(writes).toEqual([{ op: 'set', namespace: 'stateLog', key: undefined, failed: false }]);
      const { entries } = await stateLog.readLog<{
        purchase: { purchaseId: string };
        source: string;
      }>(head, 100);
      expect(entries.map((e) => [e.value.purchase.purchaseId, e.value.source])).toEqual([
        [id, 'RECONCILIATION'],
      ]);

      // Read again: nothing new, nothing written.
      const next = store.events.length;
      await app.raw(`{ groupPurchase(purchaseId: "${id}") { numPeople } }`);
      expect(store.events.slice(next).filter(isWrite)).toEqual([]);
    });
  });
}

describe('the read cache after a read that repeats the known state', () => {
  it('should serve the state as fresh from the repeat on, without writing anything', async () => {
    const backing = await openStore('memory://');
    const store = new FaultyStore();
    const wrapped = store.wrap(backing);
    let clock = Date.parse('2026-11-01T00:00:00Z');
    const state = new PurchaseStateStore({
      store: wrapped,
      bus: { publish: () => undefined } as unknown as EventBus,
      logger: silentLogger,
      now: () => new Date(clock),
    });
    const record = readGroupPurchase(
      { purchase_id: 'SEEN_1', merchant_id: 'ABC', status: 'pending', num_people: 2 },
      silentLogger,
    )!;
    try {
      expect((await state.observe([record], Source.RECONCILIATION))[0]!.kind).toBe('change');
      // Stored at `clock`; a minute later it is no longer fresh for a 30 s cache …
      clock += 60_000;
      expect(await state.fresh('SEEN_1', 30_000, clock)).toBeNull();
      // … until a read confirms it: a repeat, which writes nothing, and it is fresh again.
      const from = store.events.length;
      expect((await state.observe([record], Source.RECONCILIATION))[0]!.kind).toBe('repeat');
      expect(store.events.slice(from).filter(isWrite)).toEqual([]);
      expect(await state.fresh('SEEN_1', 30_000, clock + 1_000)).toMatchObject({ numPeople: 2 });
      expect(await state.fresh('SEEN_1', 30_000, clock + 31_000)).toBeNull();
      // An accepted action's inferred state confirms nothing.
      clock += 60_000;
      expect((await state.observe([record], Source.ACTION))[0]!.kind).toBe('repeat');
      expect(await state.fresh('SEEN_1', 30_000, clock)).toBeNull();
    } finally {
      await backing.close();
    }
  });
});

describe('the change-log stamp of reads about to be sent', () => {
  it('should read the head once for the stamps of one turn, and again after a change', async () => {
    const backing = await openStore('memory://');
    const store = new FaultyStore();
    const state = new PurchaseStateStore({
      store: store.wrap(backing),
      bus: { publish: () => undefined } as unknown as EventBus,
      logger: silentLogger,
    });
    const headReads = () => store.events.filter((e) => e.namespace === 'stateLog').length;
    const record = readGroupPurchase(
      { purchase_id: 'STAMP_1', merchant_id: 'ABC', status: 'pending', num_people: 2 },
      silentLogger,
    )!;
    try {
      const before = headReads();
      const stamps = await Promise.all(Array.from({ length: 50 }, () => state.readStamp()));
      expect(new Set(stamps)).toEqual(new Set(['0']));
      expect(headReads() - before).toBe(1);
      // A change logged after that read: a stamp asked for now must see it.
      await state.observe([record], Source.RECONCILIATION);
      const after = await state.readStamp();
      expect(after).not.toBe('0');
      expect(await backing.stateLog.head()).toBe(after);
    } finally {
      await backing.close();
    }
  });
});
