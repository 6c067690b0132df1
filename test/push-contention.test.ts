import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroupPurchaseChangesDocument } from './generated/graphql.js';
import { startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { push } from './helpers/ws.js';

/**
 * PayByGroup may push one purchase's changes faster than a push is stored. Overlapping pushes
 * of one purchase on one instance are queued per purchase (src/purchase/key-serializer.ts):
 * none loses a compare-and-set to another, so none runs out of rounds and is answered 503,
 * and every change is in the log in the order the pushes were taken.
 */
describe('overlapping pushes of one purchase on one instance', () => {
  let app: TestApp;
  // SQLite: its reads and its writer thread's commits interleave with other requests, as a
  // shared store's do (the memory store answers at once, so nothing could overlap).
  const dir = mkdtempSync(join(tmpdir(), 'push-contention-'));
  beforeAll(async () => {
    app = await startTestApp({
      STORE_URL: `sqlite:${join(dir, 'store.db')}`,
      PBG_RECONCILE_INTERVAL_MS: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should acknowledge all 60 at once, losing no compare-and-set, each change logged once', async () => {
    const before = app.purchaseState.stats();
    const bodies = Array.from({ length: 60 }, (_, n) => ({
      merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH,
      events: [{ purchase_id: 'HOT_1', status: 'pending', num_people: n + 1 }],
    }));
    const answers = await Promise.all(bodies.map((body) => push(app, body)));

    expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 200));
    expect(answers.every((a) => (a.json as { result: boolean }).result)).toBe(true);
    const after = app.purchaseState.stats();
    expect(after.conflicts - before.conflicts).toBe(0);
    expect(after.changes - before.changes).toBe(60);
    const page = await app.gql(GroupPurchaseChangesDocument, {
      filter: { purchaseIds: ['HOT_1'] },
      first: 100,
    });
    const seen = page.data!.groupPurchaseChanges.edges.map((e) => e.node.purchase.numPeople);
    expect(new Set(seen).size).toBe(60);
  });
});
