import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupPurchaseDocument } from './generated/graphql.js';
import type { Store } from '../src/store/index.js';
import { writeTexts } from '../src/store/state-log.js';
import { PurchaseAction } from '../src/pbg/types.js';
import { startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { replaceCommit } from './helpers/state-log-commit.js';
import { allBackends, backendTitle } from './helpers/faults/harness.js';
import { push } from './helpers/ws.js';

/**
 * A purchase's state and its change-log entry are stored as JSON text that src/purchase/stored.ts
 * makes itself, with the purchase stringified once and shared by both (storedTexts) — and the
 * SQLite state log posts those parts to its writer thread joined by U+0001 (packWrites). This
 * checks, over real HTTP, for every source of a change, that the text each commit carries is
 * exactly JSON.stringify of the value and of the log entry, and that the SQLite file holds
 * exactly that text: a field added to a change but not to the splice, or a character that
 * breaks the joined transport, fails here.
 */

/** PayByGroup objects with what JSON escapes, numbers JSON writes its own way, and U+0001. */
const awkward = (purchaseId: string, numPeople: number) => ({
  purchase_id: purchaseId,
  merchant_id: 'ABC',
  status: 'pending',
  num_people: numPeople,
  purchase_cost: '90.00 USD',
  purchase_name: 'Quote " backslash \\ tab \t newline \n U+0001 \u0001 NUL \u0000 é 漢 😀',
  purchase_description: 'lone surrogate \ud800 and U+2028 \u2028',
  extra: { nested: [1, -0, 1e21, 0.1, 2 ** 60, null, true, { '': 'empty key' }] },
  __proto__weird: { __proto__: null },
});

interface Recorded {
  key: string;
  text: { value: string; log?: string } | undefined;
  value: string;
  log: string | undefined;
}

/** Records every write of every state log commit, with what JSON.stringify gives for it. */
function recordingStore(recorded: Recorded[]) {
  return (store: Store): Store =>
    replaceCommit(store, (writes, real) => {
      for (const w of writes) {
        recorded.push({
          key: w.key,
          // The shared form joined, as an engine stores it.
          text: w.text === undefined ? undefined : writeTexts(w),
          value: JSON.stringify(w.value),
          log: w.log === undefined ? undefined : JSON.stringify(w.log),
        });
      }
      return real.commit(writes);
    });
}

for (const backend of allBackends()) {
  describe.skipIf(backend.skip !== undefined)(`stored JSON text ${backendTitle(backend)}`, () => {
    const recorded: Recorded[] = [];
    let app: TestApp;
    let storeUrl: string;

    beforeAll(async () => {
      storeUrl = await backend.open();
      app = await startTestApp(
        { STORE_URL: storeUrl, PBG_RECONCILE_INTERVAL_MS: '0', PBG_CACHE_TTL_MS: '0' },
        { wrapStore: recordingStore(recorded) },
      );
    });
    afterAll(async () => {
      await app?.close();
      await backend.close();
    });

    it('should store a push, a change, an accepted action and a read as exactly JSON.stringify of each state and log entry', async () => {
      const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;
      const ids = Array.from({ length: 600 }, (_, i) => `TEXT_${backend.name}_${i}`);
      // New purchases (more than one slice of 500, so the joined transport has two strings) …
      const first = await push(app, {
        merchant_auth: auth,
        events: ids.map((id, i) => awkward(id, i % 7)),
      });
      expect(first).toEqual({ status: 200, json: { result: true } });
      // … a change of each (previousStatus and changedFields set) …
      const second = await push(app, {
        merchant_auth: auth,
        events: ids.map((id) => ({ ...awkward(id, 99), status: 'payment_completed' })),
      });
      expect(second).toEqual({ status: 200, json: { result: true } });
      // … an ACTION change (observedAt 0) and a read that finds what no push said.
      await app.purchaseState.actionAccepted(ids[0]!, PurchaseAction.COLLECT_FUNDS);
      await app.sandbox.pbg!.updatePurchase('ABC_12345', { num_people: 17 }, { push: false });
      const read = await app.gql(GroupPurchaseDocument, { purchaseId: 'ABC_12345' });
      expect(read.data?.groupPurchase?.numPeople).toBe(17);

      const sources = new Set(recorded.map((r) => JSON.parse(r.log ?? '{}').source));
      expect([...sources].sort()).toEqual(['ACTION', 'PUSH', 'RECONCILIATION']);
      expect(recorded.length).toBe(2 * ids.length + 2);
      for (const r of recorded) {
        expect(r.text).toEqual({ value: r.value, log: r.log });
      }

      if (backend.name !== 'sqlite') return;
      // The SQLite file holds the text as it was made, through the joined transport.
      const db = new DatabaseSync(storeUrl.slice('sqlite:'.length), { readOnly: true });
      try {
        const logs = db.prepare('SELECT value FROM change_log ORDER BY seq').all() as Array<{
          value: string;
        }>;
        expect(logs.map((row) => row.value)).toEqual(recorded.map((r) => r.log));
        const states = new Map(
          (
            db.prepare('SELECT key, value FROM ledger_state').all() as Array<{
              key: string;
              value: string;
            }>
          ).map((row) => [row.key, row.value]),
        );
        const latest = new Map(recorded.map((r) => [r.key, r.value]));
        expect(states).toEqual(latest);
      } finally {
        db.close();
      }
    });
  });
}
