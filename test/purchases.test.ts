import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  GroupPurchaseDocument,
  GroupPurchasesDocument,
  GroupPurchaseStatusDocument,
  PerformPurchaseActionDocument,
  PurchaseOfferDocument,
  UpsertPurchaseOfferDocument,
  type GroupPurchaseFilter,
  type GroupPurchaseStatus,
  type PurchaseOfferInput,
} from './generated/graphql.js';
import { startPbgSimulator } from '../src/sandbox/pbg/index.js';
import { recordingApps, TEST_SECRETS, type TestApp } from './helpers/app.js';

/** The seeded purchases of the configured merchant (ABC), by status. */
const SEEDED = {
  ABC_12345: 'PENDING',
  ABC_98765: 'PAYMENT_COMPLETED',
  ABC_20001: 'COLLECTED',
  ABC_20002: 'EXPIRED',
  ABC_20003: 'CANCELLED',
  ABC_20004: 'REFUNDED',
  ABC_20005: 'UNAVAILABLE',
  ABC_20006: 'PENDING',
} as const;
const OURS = Object.keys(SEEDED).sort();
const OTHER_MERCHANTS = 'XYZ_55555';

/** Every app this file starts, and every response body it received (checked for secrets). */
const { apps, closeAll, responseBodies, start, gql, raw } = recordingApps();

afterAll(async () => {
  await closeAll();
});

describe('PayByGroup purchases over GraphQL', () => {
  describe('reading purchases', () => {
    let app: TestApp;
    const pbg = () => app.sandbox.pbg!;
    const list = async (filter?: GroupPurchaseFilter) => {
      const result = await gql(app, GroupPurchasesDocument, { filter });
      expect(result.errors).toBeUndefined();
      return result.data!.groupPurchases;
    };
    const ids = (purchases: Array<{ purchaseId: string }>) =>
      purchases.map((p) => p.purchaseId).sort();

    beforeAll(async () => {
      app = await start();
    });
    beforeEach(() => pbg().resetCalls());

    it('should default the merchant to the configured one', async () => {
      const purchases = await list();
      expect(ids(purchases)).toEqual(OURS);
      expect(ids(purchases)).not.toContain(OTHER_MERCHANTS);
      expect(pbg().calls.query).toBe(1);
      expect(pbg().calls.queryBodies).toEqual([
        { api_key: TEST_SECRETS.PBG_API_KEY, merchant_id: 'ABC' },
      ]);
      for (const purchase of purchases) {
        expect(purchase.status).toBe(SEEDED[purchase.purchaseId as keyof typeof SEEDED]);
        expect(purchase.merchantId).toBe('ABC');
      }
    });

    it('should send merchantId as merchant_id and narrow to that merchant', async () => {
      const purchases = await list({ merchantId: 'XYZ' });
      expect(ids(purchases)).toEqual([OTHER_MERCHANTS]);
      expect(pbg().calls.queryBodies).toEqual([
        { api_key: TEST_SECRETS.PBG_API_KEY, merchant_id: 'XYZ' },
      ]);
    });

    it('should send inventoryId as inventory_id and narrow the result', async () => {
      const purchases = await list({ inventoryId: 'INV_WHITMARSH' });
      expect(ids(purchases)).toEqual(['ABC_12345', 'ABC_20001', 'ABC_20005']);
      expect(purchases.every((p) => p.inventoryId === 'INV_WHITMARSH')).toBe(true);
      expect(pbg().calls.queryBodies).toEqual([
        { api_key: TEST_SECRETS.PBG_API_KEY, merchant_id: 'ABC', inventory_id: 'INV_WHITMARSH' },
      ]);
    });

    it('should send purchaseId as purchase_id and narrow the result', async () => {
      const purchases = await list({ purchaseId: 'ABC_20003' });
      expect(ids(purchases)).toEqual(['ABC_20003']);
      expect(pbg().calls.queryBodies).toEqual([
        { api_key: TEST_SECRETS.PBG_API_KEY, merchant_id: 'ABC', purchase_id: 'ABC_20003' },
      ]);
    });

    it('should send createdAfter/createdBefore as created_after/created_before (inclusive/exclusive)', async () => {
      // ABC_12345 was created on 2026-05-01 (kept: inclusive), ABC_20005 on 2026-06-18
      // (dropped: exclusive), XYZ_55555 on 2026-05-10 (another merchant's).
      const purchases = await list({ createdAfter: '2026-05-01', createdBefore: '2026-06-18' });
      expect(ids(purchases)).toEqual(['ABC_12345', 'ABC_20004']);
      expect(pbg().calls.queryBodies).toEqual([
        {
          api_key: TEST_SECRETS.PBG_API_KEY,
          merchant_id: 'ABC',
          created_after: '2026-05-01',
          created_before: '2026-06-18',
        },
      ]);
      const created = purchases.find((p) => p.purchaseId === 'ABC_12345')!.createdAt;
      expect(created).toBe('2026-05-01T08:30:00-08:00');
    });

    it('should send status as PayByGroup words and map them back to the enum', async () => {
      const purchases = await list({ status: ['PAYMENT_COMPLETED', 'CANCELLED'] });
      expect(pbg().calls.queryBodies).toEqual([
        {
          api_key: TEST_SECRETS.PBG_API_KEY,
          merchant_id: 'ABC',
          status: ['payment_completed', 'cancelled'],
        },
      ]);
      expect(
        purchases
          .map((p) => [p.purchaseId, p.status, p.rawStatus])
          .sort((a, b) => a[0]!.localeCompare(b[0]!)),
      ).toEqual([
        ['ABC_20003', 'CANCELLED', 'cancelled'],
        ['ABC_98765', 'PAYMENT_COMPLETED', 'payment_completed'],
      ]);
    });

    it('should round-trip every known status between the enum and PayByGroup words', async () => {
      const words: Record<string, string> = {
        PENDING: 'pending',
        COLLECTED: 'collected',
        PAYMENT_COMPLETED: 'payment_completed',
        EXPIRED: 'expired',
        CANCELLED: 'cancelled',
        REFUNDED: 'refunded',
        UNAVAILABLE: 'unavailable',
      };
      for (const [status, word] of Object.entries(words)) {
        pbg().resetCalls();
        const purchases = await list({ status: [status as GroupPurchaseStatus] });
        expect(pbg().calls.queryBodies).toEqual([
          { api_key: TEST_SECRETS.PBG_API_KEY, merchant_id: 'ABC', status: [word] },
        ]);
        const expected = OURS.filter((id) => SEEDED[id as keyof typeof SEEDED] === status);
        expect(ids(purchases)).toEqual(expected);
        expect(purchases.every((p) => p.status === status && p.rawStatus === word)).toBe(true);
      }
    });

    it('should send every filter at once in the document’s field names', async () => {
      const purchases = await list({
        merchantId: 'ABC',
        inventoryId: 'INV_LAKEHOUSE',
        createdAfter: '2026-01-01',
        createdBefore: '2027-01-01',
        status: ['PENDING', 'EXPIRED'],
      });
      expect(ids(purchases)).toEqual(['ABC_20002', 'ABC_20006']);
      expect(pbg().calls.queryBodies).toEqual([
        {
          api_key: TEST_SECRETS.PBG_API_KEY,
          merchant_id: 'ABC',
          inventory_id: 'INV_LAKEHOUSE',
          created_after: '2026-01-01',
          created_before: '2027-01-01',
          status: ['pending', 'expired'],
        },
      ]);
    });

    it('should refuse an impossible date filter as BAD_USER_INPUT without calling PayByGroup', async () => {
      const result = await gql(app, GroupPurchasesDocument, {
        filter: { createdAfter: '2026-13-01' },
      });
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toMatch(/createdAfter/);
      expect(pbg().calls.query).toBe(0);
    });

    it("should read the document's example purchase with money and PST deadlines parsed", async () => {
      const result = await gql(app, GroupPurchaseDocument, { purchaseId: 'ABC_12345' });
      expect(result.errors).toBeUndefined();
      const purchase = result.data!.groupPurchase!;
      expect(purchase).toMatchObject({
        purchaseId: 'ABC_12345',
        merchantId: 'ABC',
        inventoryId: 'INV_WHITMARSH',
        status: 'PENDING',
        rawStatus: 'pending',
        name: '1600 Whitmarsh Avenue',
        imageUrl: 'https://merchant.example/img/inv_whitmarsh.png',
        purchaseCost: { amount: '1250.00', currency: 'USD' },
        costPerPerson: null,
        numPeople: 5,
        commitDeadline: '2026-05-27T23:59:00-08:00',
        createdAt: '2026-05-01T08:30:00-08:00',
        inventoryState: null,
      });
      expect(purchase.attributes).toMatchObject({
        purchase_id: 'ABC_12345',
        purchase_cost: '1250.00 USD',
        commit_deadline: '2026-05-27 23:59 PST',
        num_paid: 2,
      });
      expect(pbg().calls.queryBodies).toEqual([
        { api_key: TEST_SECRETS.PBG_API_KEY, merchant_id: 'ABC', purchase_id: 'ABC_12345' },
      ]);
    });

    it('should read a cost_per_person purchase and keep extra fields in attributes', async () => {
      const result = await gql(app, GroupPurchaseDocument, { purchaseId: 'ABC_20006' });
      expect(result.errors).toBeUndefined();
      const purchase = result.data!.groupPurchase!;
      expect(purchase.costPerPerson).toEqual({ amount: '45.00', currency: 'USD' });
      expect(purchase.purchaseCost).toBeNull();
      expect(purchase.numPeople).toBe(8);
      expect(purchase.attributes).toMatchObject({
        cost_per_person: '45.00 USD',
        organizer_name: 'Dana Whitfield',
      });
    });

    it('should keep a non-USD currency as sent', async () => {
      const result = await gql(app, GroupPurchaseDocument, { purchaseId: 'ABC_20004' });
      expect(result.data!.groupPurchase!.purchaseCost).toEqual({
        amount: '99.50',
        currency: 'EUR',
      });
      expect(result.data!.groupPurchase!.status).toBe('REFUNDED');
    });

    it('should still return a purchase whose cost is garbled, with purchaseCost null', async () => {
      await pbg().updatePurchase('ABC_12345', { purchase_cost: 'twelve hundred' });
      try {
        pbg().resetCalls();
        const result = await gql(app, GroupPurchaseDocument, { purchaseId: 'ABC_12345' });
        expect(result.errors).toBeUndefined();
        const purchase = result.data!.groupPurchase!;
        expect(purchase.purchaseCost).toBeNull();
        expect(purchase.attributes.purchase_cost).toBe('twelve hundred');
        expect(purchase.status).toBe('PENDING');
        expect(purchase.commitDeadline).toBe('2026-05-27T23:59:00-08:00');
        // The list shows it too, and its siblings are untouched.
        const purchases = await list();
        expect(ids(purchases)).toEqual(OURS);
        // The warning names the field, not the value.
        const warnings = app.logs.filter((line) => line.includes('"field":"purchase_cost"'));
        expect(warnings.length).toBeGreaterThan(0);
        expect(app.logs.filter((line) => line.includes('twelve hundred'))).toEqual([]);
      } finally {
        await pbg().updatePurchase('ABC_12345', { purchase_cost: '1250.00 USD' });
      }
    });

    it('should report an unknown status word as UNKNOWN with rawStatus', async () => {
      await pbg().updatePurchase('ABC_20002', { status: 'on_hold' });
      try {
        pbg().resetCalls();
        const result = await gql(app, GroupPurchaseDocument, { purchaseId: 'ABC_20002' });
        expect(result.errors).toBeUndefined();
        expect(result.data!.groupPurchase).toMatchObject({
          status: 'UNKNOWN',
          rawStatus: 'on_hold',
        });
        // UNKNOWN has no PayByGroup word: the filter is applied to the answer instead.
        pbg().resetCalls();
        const unknown = await list({ status: ['UNKNOWN'] });
        expect(ids(unknown)).toEqual(['ABC_20002']);
        expect(pbg().calls.queryBodies).toEqual([
          { api_key: TEST_SECRETS.PBG_API_KEY, merchant_id: 'ABC' },
        ]);
      } finally {
        await pbg().updatePurchase('ABC_20002', { status: 'expired' });
      }
    });

    it('should resolve an unknown id and another merchant’s purchase to null without an error', async () => {
      const result = await raw(
        app,
        '{ a: groupPurchase(purchaseId: "NOPE_404") { purchaseId } b: groupPurchase(purchaseId: "XYZ_55555") { purchaseId } }',
      );
      expect(result.json.errors).toBeUndefined();
      expect(result.json.data).toEqual({ a: null, b: null });
    });

    it('should make 6 upstream query calls for 30 aliases over 6 distinct ids', async () => {
      const six = ['ABC_12345', 'ABC_98765', 'ABC_20001', 'ABC_20004', 'ABC_20006', 'NOPE_1'];
      const fields = Array.from(
        { length: 30 },
        (_, i) =>
          `a${i}: groupPurchase(purchaseId: "${six[i % 6]}") { purchaseId status purchaseCost { amount currency } }`,
      );
      const result = await raw(app, `{ ${fields.join('\n')} }`);
      expect(result.json.errors).toBeUndefined();
      const data = result.json.data as Record<
        string,
        { purchaseId: string; status: string } | null
      >;
      expect(Object.keys(data)).toHaveLength(30);
      expect(data.a7).toMatchObject({ purchaseId: 'ABC_98765', status: 'PAYMENT_COMPLETED' });
      expect(data.a27).toMatchObject({ purchaseId: 'ABC_20004', status: 'REFUNDED' });
      expect(data.a5).toBeNull();
      expect(pbg().calls.query).toBe(6);
      const asked = pbg().calls.queryBodies.map((b) => (b as { purchase_id?: string }).purchase_id);
      expect(asked.sort()).toEqual([...six].sort());
    });

    it('should make 6 upstream query calls for 30 _entities representations over 6 ids', async () => {
      const six = ['ABC_12345', 'ABC_98765', 'ABC_20001', 'ABC_20002', 'ABC_20003', 'ABC_20006'];
      const representations = Array.from({ length: 30 }, (_, i) => ({
        __typename: 'GroupPurchase',
        purchaseId: six[i % 6],
      }));
      const result = await raw(
        app,
        'query ($r: [_Any!]!) { _entities(representations: $r) { ... on GroupPurchase { purchaseId status costPerPerson { amount } } } }',
        { r: representations },
      );
      expect(result.json.errors).toBeUndefined();
      const entities = (
        result.json.data as {
          _entities: Array<{ purchaseId: string; status: string; costPerPerson: unknown }>;
        }
      )._entities;
      expect(entities).toHaveLength(30);
      expect(entities.map((e) => e.purchaseId)).toEqual(representations.map((r) => r.purchaseId));
      expect(entities[11]).toEqual({
        purchaseId: 'ABC_20006',
        status: 'PENDING',
        costPerPerson: { amount: '45.00' },
      });
      expect(pbg().calls.query).toBe(6);
    });

    it('should resolve an unknown _entities representation to null without an error', async () => {
      const result = await raw(
        app,
        'query ($r: [_Any!]!) { _entities(representations: $r) { ... on GroupPurchase { purchaseId status } } }',
        {
          r: [
            { __typename: 'GroupPurchase', purchaseId: 'NOPE_2' },
            { __typename: 'GroupPurchase', purchaseId: 'ABC_20001' },
            { __typename: 'GroupPurchase', purchaseId: 'NOPE_2' },
          ],
        },
      );
      expect(result.json.errors).toBeUndefined();
      expect((result.json.data as { _entities: unknown[] })._entities).toEqual([
        null,
        { purchaseId: 'ABC_20001', status: 'COLLECTED' },
        null,
      ]);
      expect(pbg().calls.query).toBe(2);
    });

    it('should retry a query after a 500 from PayByGroup', async () => {
      pbg().injectFault({ endpoint: 'query', kind: 'http500', times: 1 });
      const result = await gql(app, GroupPurchaseStatusDocument, { purchaseId: 'ABC_20001' });
      expect(result.errors).toBeUndefined();
      expect(result.data!.groupPurchase!.status).toBe('COLLECTED');
      expect(pbg().calls.query).toBe(2);
    });

    it('should fail only the purchase whose upstream read fails, not its siblings', async () => {
      pbg().injectFault({ endpoint: 'query', kind: 'garbage', times: 1 });
      const result = await raw(
        app,
        '{ a: groupPurchase(purchaseId: "ABC_12345") { purchaseId } b: groupPurchase(purchaseId: "ABC_98765") { purchaseId } }',
      );
      expect(result.json.errors).toHaveLength(1);
      expect(result.json.errors![0]!.extensions!.code).toBe('UPSTREAM_BAD_RESPONSE');
      const failed = result.json.errors![0]!.path![0] as 'a' | 'b';
      const data = result.json.data as Record<'a' | 'b', { purchaseId: string } | null>;
      expect(data[failed]).toBeNull();
      const other = failed === 'a' ? 'b' : 'a';
      expect(data[other]).toEqual({ purchaseId: other === 'a' ? 'ABC_12345' : 'ABC_98765' });
    });
  });

  describe('acting on purchases', () => {
    let app: TestApp;
    const pbg = () => app.sandbox.pbg!;
    const setStatus = (purchaseId: string, status: string) =>
      pbg().updatePurchase(purchaseId, { status });
    const act = (input: {
      purchaseId: string;
      action: 'COLLECT_FUNDS' | 'SET_UNAVAILABLE' | 'REFUND' | 'CANCEL';
      idempotencyKey?: string;
    }) => gql(app, PerformPurchaseActionDocument, { input });
    const statusOf = async (purchaseId: string) =>
      (await gql(app, GroupPurchaseStatusDocument, { purchaseId })).data!.groupPurchase?.status;

    // A fresh service per test: the tests rewind the simulator's statuses (setStatus), and a
    // service that had already seen a later status would rightly keep it (a move backwards is
    // stale), which is not what these tests are about.
    beforeEach(async () => {
      app = await start();
      pbg().resetCalls();
    });
    afterEach(() => app.close());

    const cases = [
      ['COLLECT_FUNDS', 'collect_funds', 'ABC_98765', 'payment_completed', 'COLLECTED'],
      ['SET_UNAVAILABLE', 'set_unavailable', 'ABC_12345', 'pending', 'UNAVAILABLE'],
      ['REFUND', 'refund', 'ABC_20001', 'collected', 'REFUNDED'],
      ['CANCEL', 'cancel', 'ABC_20006', 'pending', 'CANCELLED'],
    ] as const;
    for (const [action, word, purchaseId, before, after] of cases) {
      it(`should send ${action} as "${word}" and return the purchase re-read as ${after}`, async () => {
        await setStatus(purchaseId, before);
        // Read it first (a client typically has), then act in a separate request.
        const read = await gql(app, GroupPurchaseStatusDocument, { purchaseId });
        expect(read.data!.groupPurchase!.status).not.toBe(after);
        pbg().resetCalls();

        const result = await act({ purchaseId, action });
        expect(result.errors).toBeUndefined();
        expect(result.data!.performPurchaseAction).toEqual({
          accepted: true,
          purchase: { purchaseId, status: after, rawStatus: after.toLowerCase() },
          userErrors: [],
        });
        expect(pbg().calls.action).toBe(1);
        expect(pbg().calls.actionBodies).toEqual([
          { merchant_auth: TEST_SECRETS.PBG_MERCHANT_AUTH, purchase_id: purchaseId, action: word },
        ]);
        // The payload's purchase was read from PayByGroup after the action.
        expect(pbg().calls.query).toBe(1);
        expect(pbg().calls.queryBodies[0]).toMatchObject({ purchase_id: purchaseId });
        expect(await statusOf(purchaseId)).toBe(after);
      });
    }

    it('should re-read the purchase after an action even when the same operation loaded it before', async () => {
      await setStatus('ABC_20002', 'pending');
      // Mutation fields run in order: the first (refused) loads the purchase as PENDING into
      // the request's loader; the second cancels it and must not show that cached PENDING.
      const result = await raw(
        app,
        `mutation {
          a: performPurchaseAction(input: { purchaseId: "ABC_20002", action: REFUND }) { accepted purchase { status } }
          b: performPurchaseAction(input: { purchaseId: "ABC_20002", action: CANCEL }) { accepted purchase { status } }
        }`,
      );
      expect(result.json.errors).toBeUndefined();
      expect(result.json.data).toEqual({
        a: { accepted: false, purchase: { status: 'PENDING' } },
        b: { accepted: true, purchase: { status: 'CANCELLED' } },
      });
      expect(pbg().calls.action).toBe(2);
      expect(pbg().calls.query).toBe(2);
    });

    it('should report a refused action as accepted: false with ACTION_REJECTED', async () => {
      await setStatus('ABC_12345', 'pending');
      const result = await act({ purchaseId: 'ABC_12345', action: 'COLLECT_FUNDS' });
      expect(result.errors).toBeUndefined();
      const payload = result.data!.performPurchaseAction;
      expect(payload.accepted).toBe(false);
      expect(payload.userErrors).toEqual([
        expect.objectContaining({ code: 'ACTION_REJECTED', field: ['action'] }),
      ]);
      expect(payload.purchase).toEqual({
        purchaseId: 'ABC_12345',
        status: 'PENDING',
        rawStatus: 'pending',
      });
      expect(pbg().calls.action).toBe(1);
      expect(pbg().calls.actionBodies[0]).toMatchObject({ action: 'collect_funds' });
    });

    it('should reject an action on an unknown purchase with a null purchase', async () => {
      const result = await act({ purchaseId: 'NOPE_9', action: 'CANCEL' });
      expect(result.errors).toBeUndefined();
      expect(result.data!.performPurchaseAction).toMatchObject({
        accepted: false,
        purchase: null,
        userErrors: [expect.objectContaining({ code: 'ACTION_REJECTED' })],
      });
      expect(pbg().calls.action).toBe(1);
    });

    it('should refuse an empty purchaseId with INVALID_INPUT and no upstream call', async () => {
      const result = await act({ purchaseId: '  ', action: 'CANCEL' });
      expect(result.errors).toBeUndefined();
      expect(result.data!.performPurchaseAction).toMatchObject({
        accepted: false,
        purchase: null,
        userErrors: [expect.objectContaining({ code: 'INVALID_INPUT', field: ['purchaseId'] })],
      });
      expect(pbg().calls.action).toBe(0);
    });

    describe('idempotency', () => {
      it('should act once for a retry with the same key and return the same payload', async () => {
        await setStatus('ABC_98765', 'payment_completed');
        pbg().resetCalls();
        const input = {
          purchaseId: 'ABC_98765',
          action: 'COLLECT_FUNDS',
          idempotencyKey: 'collect-98765',
        } as const;
        const first = await act(input);
        const second = await act(input);
        expect(first.errors).toBeUndefined();
        expect(first.data!.performPurchaseAction).toEqual({
          accepted: true,
          purchase: { purchaseId: 'ABC_98765', status: 'COLLECTED', rawStatus: 'collected' },
          userErrors: [],
        });
        expect(second.data).toEqual(first.data);
        expect(pbg().calls.action).toBe(1);
      });

      it('should refuse the same key with other input as IDEMPOTENCY_KEY_REUSED', async () => {
        await setStatus('ABC_20001', 'collected');
        pbg().resetCalls();
        await act({ purchaseId: 'ABC_20001', action: 'REFUND', idempotencyKey: 'refund-20001' });
        for (const other of [
          { purchaseId: 'ABC_20001', action: 'CANCEL', idempotencyKey: 'refund-20001' },
          { purchaseId: 'ABC_20005', action: 'REFUND', idempotencyKey: 'refund-20001' },
        ] as const) {
          const result = await act(other);
          expect(result.errors).toBeUndefined();
          expect(result.data!.performPurchaseAction).toEqual({
            accepted: false,
            purchase: null,
            userErrors: [
              expect.objectContaining({
                code: 'IDEMPOTENCY_KEY_REUSED',
                field: ['idempotencyKey'],
              }),
            ],
          });
        }
        expect(pbg().calls.action).toBe(1);
      });

      it('should make one action call for 10 concurrent identical requests with one key', async () => {
        await setStatus('ABC_20005', 'payment_completed');
        pbg().resetCalls();
        const input = {
          purchaseId: 'ABC_20005',
          action: 'COLLECT_FUNDS',
          idempotencyKey: 'collect-20005-concurrent',
        } as const;
        const results = await Promise.all(Array.from({ length: 10 }, () => act(input)));
        for (const result of results) {
          expect(result.errors).toBeUndefined();
          expect(result.data!.performPurchaseAction).toEqual({
            accepted: true,
            purchase: { purchaseId: 'ABC_20005', status: 'COLLECTED', rawStatus: 'collected' },
            userErrors: [],
          });
        }
        expect(pbg().calls.action).toBe(1);
      });

      it('should replay a refusal under its key even after the purchase changed', async () => {
        await setStatus('ABC_20003', 'pending');
        pbg().resetCalls();
        const input = {
          purchaseId: 'ABC_20003',
          action: 'COLLECT_FUNDS',
          idempotencyKey: 'collect-20003',
        } as const;
        const first = await act(input);
        expect(first.data!.performPurchaseAction.accepted).toBe(false);
        await setStatus('ABC_20003', 'payment_completed');
        const again = await act(input);
        expect(again.data!.performPurchaseAction.accepted).toBe(false);
        expect(again.data!.performPurchaseAction.userErrors[0]!.code).toBe('ACTION_REJECTED');
        expect(pbg().calls.action).toBe(1);
        expect(await statusOf('ABC_20003')).toBe('PAYMENT_COMPLETED');
      });
    });

    it('should never retry an action after a 500 and report UPSTREAM_OUTCOME_UNKNOWN', async () => {
      await setStatus('ABC_98765', 'payment_completed');
      pbg().resetCalls();
      pbg().injectFault({ endpoint: 'action', kind: 'http500', times: 1 });
      const result = await act({ purchaseId: 'ABC_98765', action: 'COLLECT_FUNDS' });
      expect(result.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_OUTCOME_UNKNOWN',
        upstreamFailure: 'UPSTREAM_UNAVAILABLE',
      });
      expect(result.data?.performPurchaseAction ?? null).toBeNull();
      expect(pbg().calls.action).toBe(1);
      expect(await statusOf('ABC_98765')).toBe('PAYMENT_COMPLETED');
    });

    it('should never retry an action whose answer is unreadable and report UPSTREAM_OUTCOME_UNKNOWN', async () => {
      await setStatus('ABC_98765', 'payment_completed');
      pbg().resetCalls();
      pbg().injectFault({ endpoint: 'action', kind: 'garbage', times: 1 });
      const result = await act({ purchaseId: 'ABC_98765', action: 'COLLECT_FUNDS' });
      expect(result.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_OUTCOME_UNKNOWN',
        upstreamFailure: 'UPSTREAM_BAD_RESPONSE',
      });
      expect(pbg().calls.action).toBe(1);
    });

    it('should resolve a lost answer by reading the purchase back: no effect, so act once more', async () => {
      await setStatus('ABC_98765', 'payment_completed');
      pbg().resetCalls();
      // The sandbox's 500 comes before it acts: the purchase does not show the collect.
      pbg().injectFault({ endpoint: 'action', kind: 'http500', times: 1 });
      const input = {
        purchaseId: 'ABC_98765',
        action: 'COLLECT_FUNDS',
        idempotencyKey: 'collect-98765-after-500',
      } as const;
      const first = await act(input);
      expect(first.errors?.[0]?.extensions?.code).toBe('UPSTREAM_OUTCOME_UNKNOWN');
      const again = await act(input);
      expect(again.errors).toBeUndefined();
      expect(again.data!.performPurchaseAction.accepted).toBe(true);
      expect(pbg().calls.action).toBe(2);
      expect(await statusOf('ABC_98765')).toBe('COLLECTED');
      // Resolved and stored: a third try replays it.
      const third = await act(input);
      expect(third.data!.performPurchaseAction.accepted).toBe(true);
      expect(pbg().calls.action).toBe(2);
    });

    it('should resolve a lost answer by reading the purchase back: effect shown, so accepted', async () => {
      await setStatus('ABC_98765', 'payment_completed');
      pbg().resetCalls();
      // PayByGroup is slow: the client gives up after 2 s, the refund happens at 4 s.
      pbg().injectFault({ endpoint: 'action', kind: 'delay', ms: 4000, times: 1 });
      const input = {
        purchaseId: 'ABC_98765',
        action: 'REFUND',
        idempotencyKey: 'refund-98765-after-timeout',
      } as const;
      const first = await act(input);
      expect(first.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_OUTCOME_UNKNOWN',
        upstreamFailure: 'UPSTREAM_TIMEOUT',
      });
      // At once: no effect yet, but the first attempt may still be under way, so nothing is
      // sent again (a second REFUND could race it and make the key answer "rejected").
      const early = await act(input);
      expect(early.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_OUTCOME_UNKNOWN',
        upstreamFailure: 'NOT_SETTLED',
      });
      expect(pbg().calls.action).toBe(1);
      await vi.waitFor(async () => expect(await statusOf('ABC_98765')).toBe('REFUNDED'), {
        timeout: 10_000,
      });
      const again = await act(input);
      expect(again.data!.performPurchaseAction.accepted).toBe(true);
      expect(pbg().calls.action).toBe(1);
    });
  });

  describe('purchase offers', () => {
    let app: TestApp;
    const offerInput = (purchaseId: string): PurchaseOfferInput => ({
      purchaseId,
      purchaseCost: '1250',
      currency: 'USD',
      imageUrl: 'https://merchant.example/img/house.png',
      name: '1600 Whitmarsh Avenue',
      description: 'Four nights for the whole group',
      linkUrl: 'https://merchant.example/stays/whitmarsh',
      merchantOrgEmail: 'groups@merchant.example',
    });
    const upsert = (input: PurchaseOfferInput) => gql(app, UpsertPurchaseOfferDocument, { input });
    const readOffer = async (purchaseId: string) => {
      const result = await gql(app, PurchaseOfferDocument, { purchaseId });
      expect(result.errors).toBeUndefined();
      return result.data!.purchaseOffer;
    };

    beforeAll(async () => {
      app = await start();
    });

    it('should store an offer with upsertPurchaseOffer and return it from purchaseOffer', async () => {
      const created = await upsert(offerInput('OFFER_1'));
      expect(created.errors).toBeUndefined();
      const offer = created.data!.upsertPurchaseOffer;
      expect(offer).toMatchObject({
        purchaseId: 'OFFER_1',
        purchaseCost: { amount: '1250.00', currency: 'USD' },
        costPerPerson: null,
        imageUrl: 'https://merchant.example/img/house.png',
        name: '1600 Whitmarsh Avenue',
        description: 'Four nights for the whole group',
        linkUrl: 'https://merchant.example/stays/whitmarsh',
        merchantOrgEmail: 'groups@merchant.example',
        inventoryState: 'AVAILABLE',
      });
      expect(Number.isNaN(Date.parse(offer.updatedAt))).toBe(false);
      expect(await readOffer('OFFER_1')).toEqual(offer);
    });

    it('should replace an offer and keep its inventory state when the update omits it', async () => {
      await upsert({ ...offerInput('OFFER_2'), inventoryState: 'UNAVAILABLE' });
      const replaced = await upsert({
        ...offerInput('OFFER_2'),
        purchaseCost: null,
        costPerPerson: '45.5',
        currency: 'EUR',
      });
      expect(replaced.errors).toBeUndefined();
      expect(replaced.data!.upsertPurchaseOffer).toMatchObject({
        purchaseCost: null,
        costPerPerson: { amount: '45.50', currency: 'EUR' },
        inventoryState: 'UNAVAILABLE',
      });
      expect(await readOffer('OFFER_2')).toEqual(replaced.data!.upsertPurchaseOffer);
    });

    it('should answer purchaseOffer with null for a purchase without an offer', async () => {
      expect(await readOffer('NO_OFFER')).toBeNull();
    });

    const invalid: Array<[string, Partial<PurchaseOfferInput>, string[]]> = [
      ['both purchaseCost and costPerPerson', { costPerPerson: '10' }, ['costPerPerson']],
      ['neither purchaseCost nor costPerPerson', { purchaseCost: null }, ['purchaseCost']],
      ['a currency that is not ISO-4217', { currency: 'DOLLARS' }, ['currency']],
      ['a two-letter currency', { currency: 'US' }, ['currency']],
      ['an imageUrl that is not a URL', { imageUrl: 'house.png' }, ['imageUrl']],
      [
        'an imageUrl that is not http(s)',
        { imageUrl: 'ftp://merchant.example/a.png' },
        ['imageUrl'],
      ],
      ['a linkUrl that is not http(s)', { linkUrl: 'javascript:alert(1)' }, ['linkUrl']],
      ['a cost with three decimals', { purchaseCost: '12.345' }, ['purchaseCost']],
      ['a negative cost', { purchaseCost: '-5' }, ['purchaseCost']],
      [
        'a cost that is not a number',
        { purchaseCost: null, costPerPerson: 'ten' },
        ['costPerPerson'],
      ],
      [
        'a malformed e-mail address',
        { merchantOrgEmail: 'groups at merchant' },
        ['merchantOrgEmail'],
      ],
      ['a name over 2000 characters', { name: 'x'.repeat(2001) }, ['name']],
    ];
    for (const [what, override, field] of invalid) {
      it(`should refuse ${what} as BAD_USER_INPUT with field ${field.join('.')}`, async () => {
        const purchaseId = `BAD_${field.join('_')}_${what.length}`;
        expect(purchaseId.length).toBeLessThan(40);
        const result = await upsert({ ...offerInput(purchaseId), ...override });
        expect(result.data ?? null).toBeNull();
        expect(result.errors).toHaveLength(1);
        expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
        expect(result.errors![0]!.message.length).toBeGreaterThan(10);
        expect(await readOffer(purchaseId)).toBeNull();
      });
    }

    it('should show the offer catalog’s inventoryState on GroupPurchase', async () => {
      await upsert({ ...offerInput('ABC_12345'), inventoryState: 'UNAVAILABLE' });
      await upsert({ ...offerInput('ABC_98765'), inventoryState: 'UNKNOWN' });
      const one = await gql(app, GroupPurchaseDocument, { purchaseId: 'ABC_12345' });
      expect(one.data!.groupPurchase!.inventoryState).toBe('UNAVAILABLE');
      const all = await gql(app, GroupPurchasesDocument, {});
      const states = Object.fromEntries(
        all.data!.groupPurchases.map((p) => [p.purchaseId, p.inventoryState]),
      );
      expect(states).toMatchObject({
        ABC_12345: 'UNAVAILABLE',
        ABC_98765: 'UNKNOWN',
        ABC_20001: null,
      });
      await upsert({ ...offerInput('ABC_12345'), inventoryState: 'AVAILABLE' });
      const again = await gql(app, GroupPurchaseDocument, { purchaseId: 'ABC_12345' });
      expect(again.data!.groupPurchase!.inventoryState).toBe('AVAILABLE');
    });
  });

  describe('with the default 30 s purchase cache', () => {
    let app: TestApp;
    const pbg = () => app.sandbox.pbg!;

    beforeAll(async () => {
      // The other apps ask PayByGroup on every read; production serves known states for 30 s.
      app = await start({ PBG_CACHE_TTL_MS: '30000' });
    });
    beforeEach(() => pbg().resetCalls());

    it('should return the new status after an action although the old one is cached', async () => {
      const first = await gql(app, GroupPurchaseStatusDocument, { purchaseId: 'ABC_98765' });
      expect(first.data!.groupPurchase!.status).toBe('PAYMENT_COMPLETED');
      pbg().resetCalls();
      const cached = await gql(app, GroupPurchaseStatusDocument, { purchaseId: 'ABC_98765' });
      expect(cached.data!.groupPurchase!.status).toBe('PAYMENT_COMPLETED');
      expect(pbg().calls.query).toBe(0);

      const result = await gql(app, PerformPurchaseActionDocument, {
        input: { purchaseId: 'ABC_98765', action: 'COLLECT_FUNDS' },
      });
      expect(result.data!.performPurchaseAction).toMatchObject({
        accepted: true,
        purchase: { status: 'COLLECTED' },
      });
      expect(pbg().calls.action).toBe(1);
      expect(pbg().calls.query).toBe(1);
      const after = await gql(app, GroupPurchaseStatusDocument, { purchaseId: 'ABC_98765' });
      expect(after.data!.groupPurchase!.status).toBe('COLLECTED');
    });

    // Regression: the purchase cache once served what any read saw, other merchants' too.
    it('should not serve another merchant’s purchase from the cache to groupPurchase', async () => {
      const alone = await gql(app, GroupPurchaseStatusDocument, { purchaseId: OTHER_MERCHANTS });
      expect(alone.data!.groupPurchase).toBeNull();
      const listed = await gql(app, GroupPurchasesDocument, { filter: { merchantId: 'XYZ' } });
      expect(listed.data!.groupPurchases.map((p) => p.purchaseId)).toEqual([OTHER_MERCHANTS]);
      const again = await gql(app, GroupPurchaseStatusDocument, { purchaseId: OTHER_MERCHANTS });
      expect(again.errors).toBeUndefined();
      expect(again.data!.groupPurchase).toBeNull();
    });
  });

  describe('when PayByGroup refuses our credentials', () => {
    it('should report UPSTREAM_AUTH without echoing the credentials', async () => {
      // A PayByGroup that issued other credentials than the ones configured.
      const upstream = await startPbgSimulator({
        apiKey: 'another-api-key-of-the-merchant',
        merchantAuth: 'another-merchant-auth-0123456789',
      });
      try {
        const app = await start({
          PBG_BASE_URL: upstream.url,
          PBG_API_KEY: TEST_SECRETS.PBG_API_KEY,
          PBG_MERCHANT_ID: 'ABC',
          PBG_MERCHANT_AUTH: TEST_SECRETS.PBG_MERCHANT_AUTH,
        });
        const read = await gql(app, GroupPurchaseStatusDocument, { purchaseId: 'ABC_12345' });
        expect(read.errors?.[0]?.extensions?.code).toBe('UPSTREAM_AUTH');
        expect(read.data?.groupPurchase ?? null).toBeNull();
        const acted = await gql(app, PerformPurchaseActionDocument, {
          input: { purchaseId: 'ABC_98765', action: 'COLLECT_FUNDS' },
        });
        expect(acted.errors?.[0]?.extensions?.code).toBe('UPSTREAM_AUTH');
        expect(upstream.calls.query).toBeGreaterThanOrEqual(1);
        expect(upstream.calls.action).toBe(1);
        for (const secret of Object.values(TEST_SECRETS)) {
          expect(read.body).not.toContain(secret);
          expect(acted.body).not.toContain(secret);
        }
      } finally {
        await upstream.close();
      }
    });
  });

  it('should never put a configured secret in a response body or a log line', () => {
    expect(responseBodies.length).toBeGreaterThan(50);
    for (const app of apps) expect(app.logs.length).toBeGreaterThan(5);
    for (const secret of Object.values(TEST_SECRETS)) {
      expect(responseBodies.filter((body) => body.includes(secret))).toEqual([]);
      for (const app of apps) {
        expect(app.logs.filter((line) => line.includes(secret))).toEqual([]);
      }
    }
  });
});
