import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, ServiceError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { PbgClient, type PbgClientOptions } from '../src/pbg/client.js';
import { GroupPurchaseStatus, PurchaseAction, type PurchaseQuery } from '../src/pbg/types.js';
import {
  SANDBOX_PBG,
  startPbgSimulator,
  type PbgSimulator,
  type PbgSimulatorOptions,
} from '../src/sandbox/pbg/index.js';

// Distinctive credentials, so a leak into a log line or an error message is easy to spot.
const CREDENTIALS = {
  apiKey: 'pbg-key-DO-NOT-LOG-7f3a9c',
  merchantId: 'ABC',
  merchantAuth: 'auth-DO-NOT-LOG-0123456789abcdef',
};

const open: PbgSimulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function simulator(options: PbgSimulatorOptions = {}): Promise<PbgSimulator> {
  const sim = await startPbgSimulator({ ...CREDENTIALS, ...options });
  open.push(sim);
  return sim;
}

/** Every log line the client writes, raw, for the leak checks. */
const logLines: string[] = [];
const logger = createLogger({
  level: 'debug',
  destination: { write: (line: string) => void logLines.push(line) },
});

function client(sim: PbgSimulator, options: Partial<PbgClientOptions> = {}): PbgClient {
  return new PbgClient({ baseUrl: sim.url, ...CREDENTIALS, timeoutMs: 2_000, logger, ...options });
}

async function ids(c: PbgClient, filter: PurchaseQuery): Promise<string[]> {
  return (await c.query(filter)).map((p) => p.purchaseId).sort();
}

/** The ServiceError a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ServiceError);
  return error as ServiceError;
}

const ALL_ABC = [
  'ABC_12345',
  'ABC_20001',
  'ABC_20002',
  'ABC_20003',
  'ABC_20004',
  'ABC_20005',
  'ABC_20006',
  'ABC_98765',
];

describe('PbgClient.query against the simulator', () => {
  it('should send only api_key when no filter is given, and read every purchase', async () => {
    const sim = await simulator();
    const purchases = await client(sim).query({});
    expect(sim.calls.queryBodies).toEqual([{ api_key: CREDENTIALS.apiKey }]);
    expect(purchases.map((p) => p.purchaseId).sort()).toEqual([...ALL_ABC, 'XYZ_55555'].sort());
    const whitmarsh = purchases.find((p) => p.purchaseId === 'ABC_12345');
    expect(whitmarsh).toMatchObject({
      merchantId: 'ABC',
      inventoryId: 'INV_WHITMARSH',
      status: GroupPurchaseStatus.PENDING,
      rawStatus: 'pending',
      name: '1600 Whitmarsh Avenue',
      purchaseCost: { amount: '1250.00', currency: 'USD' },
      costPerPerson: null,
      numPeople: 5,
      commitDeadline: '2026-05-27T23:59:00-08:00',
      createdAt: '2026-05-01T08:30:00-08:00',
      attributes: expect.objectContaining({ purchase_id: 'ABC_12345', num_paid: 2 }),
    });
    // Priced per person, in another currency, and with an extra merchant field.
    expect(purchases.find((p) => p.purchaseId === 'ABC_20006')).toMatchObject({
      purchaseCost: null,
      costPerPerson: { amount: '45.00', currency: 'USD' },
      attributes: expect.objectContaining({ organizer_name: 'Dana Whitfield' }),
    });
    expect(purchases.find((p) => p.purchaseId === 'ABC_20004')?.purchaseCost).toEqual({
      amount: '99.50',
      currency: 'EUR',
    });
  });

  it("should work with the sandbox's well-known credentials", async () => {
    const sim = await startPbgSimulator();
    open.push(sim);
    const c = new PbgClient({ baseUrl: sim.url, ...SANDBOX_PBG, timeoutMs: 2_000, logger });
    expect(await ids(c, { purchaseId: 'ABC_98765' })).toEqual(['ABC_98765']);
    expect(await c.action('ABC_98765', PurchaseAction.COLLECT_FUNDS)).toBe(true);
  });

  it("should send each filter in the document's field names and narrow the result", async () => {
    const sim = await simulator();
    const c = client(sim);
    const cases: Array<[PurchaseQuery, Record<string, unknown>, string[]]> = [
      [{ merchantId: 'ABC' }, { merchant_id: 'ABC' }, ALL_ABC],
      [{ merchantId: 'XYZ' }, { merchant_id: 'XYZ' }, ['XYZ_55555']],
      [{ inventoryId: 'INV_CHALET' }, { inventory_id: 'INV_CHALET' }, ['ABC_20003', 'ABC_20004']],
      [{ purchaseId: 'ABC_98765' }, { purchase_id: 'ABC_98765' }, ['ABC_98765']],
      [
        { createdAfter: '2026-06-05' },
        { created_after: '2026-06-05' },
        ['ABC_20004', 'ABC_20005', 'ABC_20006'],
      ],
      [{ createdBefore: '2026-02-14' }, { created_before: '2026-02-14' }, ['ABC_20003']],
      [
        {
          merchantId: 'ABC',
          inventoryId: 'INV_WHITMARSH',
          createdAfter: '2026-03-01',
          createdBefore: '2026-06-01',
          status: [GroupPurchaseStatus.PENDING, GroupPurchaseStatus.COLLECTED],
        },
        {
          merchant_id: 'ABC',
          inventory_id: 'INV_WHITMARSH',
          created_after: '2026-03-01',
          created_before: '2026-06-01',
          status: ['pending', 'collected'],
        },
        ['ABC_12345', 'ABC_20001'],
      ],
    ];
    for (const [filter, wire, expected] of cases) {
      sim.resetCalls();
      expect(await ids(c, filter), JSON.stringify(filter)).toEqual(expected);
      expect(sim.calls.queryBodies).toEqual([{ api_key: CREDENTIALS.apiKey, ...wire }]);
    }
  });

  it('should round-trip a status list: domain → PBG words → domain', async () => {
    const sim = await simulator();
    const purchases = await client(sim).query({
      merchantId: 'ABC',
      status: [
        GroupPurchaseStatus.PAYMENT_COMPLETED,
        GroupPurchaseStatus.CANCELLED,
        GroupPurchaseStatus.REFUNDED,
        GroupPurchaseStatus.EXPIRED,
        GroupPurchaseStatus.UNAVAILABLE,
      ],
    });
    expect(sim.calls.queryBodies[0]).toMatchObject({
      status: ['payment_completed', 'cancelled', 'refunded', 'expired', 'unavailable'],
    });
    expect(purchases.map((p) => [p.purchaseId, p.status, p.rawStatus]).sort()).toEqual([
      ['ABC_20002', GroupPurchaseStatus.EXPIRED, 'expired'],
      ['ABC_20003', GroupPurchaseStatus.CANCELLED, 'cancelled'],
      ['ABC_20004', GroupPurchaseStatus.REFUNDED, 'refunded'],
      ['ABC_20005', GroupPurchaseStatus.UNAVAILABLE, 'unavailable'],
      ['ABC_98765', GroupPurchaseStatus.PAYMENT_COMPLETED, 'payment_completed'],
    ]);
    expect(await ids(client(sim), { status: [] })).toEqual([]);
  });

  it('should find unknown status words by filtering UNKNOWN client-side', async () => {
    const sim = await simulator();
    await sim.updatePurchase('ABC_20001', { status: 'on_hold' });
    sim.resetCalls();
    const purchases = await client(sim).query({
      merchantId: 'ABC',
      status: [GroupPurchaseStatus.UNKNOWN, GroupPurchaseStatus.EXPIRED],
    });
    // No word means "unknown", so the status constraint is not sent at all.
    expect(sim.calls.queryBodies).toEqual([{ api_key: CREDENTIALS.apiKey, merchant_id: 'ABC' }]);
    expect(purchases.map((p) => [p.purchaseId, p.status, p.rawStatus])).toEqual([
      ['ABC_20001', GroupPurchaseStatus.UNKNOWN, 'on_hold'],
      ['ABC_20002', GroupPurchaseStatus.EXPIRED, 'expired'],
    ]);
  });

  it('should null garbled fields, log a warning each, and still return the purchase', async () => {
    const sim = await simulator();
    await sim.updatePurchase('ABC_12345', {
      purchase_cost: 'twelve fifty',
      num_people: 'five',
      commit_deadline: '2026-05-27 23:59 XYZ',
    });
    const from = logLines.length;
    const [purchase] = await client(sim).query({ purchaseId: 'ABC_12345' });
    expect(purchase).toMatchObject({
      purchaseId: 'ABC_12345',
      status: GroupPurchaseStatus.PENDING,
      purchaseCost: null,
      numPeople: null,
      commitDeadline: null,
      createdAt: '2026-05-01T08:30:00-08:00',
      attributes: expect.objectContaining({ purchase_cost: 'twelve fifty' }),
    });
    const warnings = logLines
      .slice(from)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.level === 40);
    expect(warnings.map((w) => [w.purchaseId, w.field])).toEqual([
      ['ABC_12345', 'purchase_cost'],
      ['ABC_12345', 'num_people'],
      ['ABC_12345', 'commit_deadline'],
    ]);
  });

  it('should retry a query after a 500 and give up after queryRetries', async () => {
    const sim = await simulator();
    sim.injectFault({ endpoint: 'query', kind: 'http500', times: 2 });
    expect(await ids(client(sim), { purchaseId: 'ABC_12345' })).toEqual(['ABC_12345']);
    expect(sim.calls.query).toBe(3);

    sim.resetCalls();
    sim.injectFault({ endpoint: 'query', kind: 'http500', times: 2 });
    const error = await failure(client(sim, { queryRetries: 1 }).query({}));
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(sim.calls.query).toBe(2);
  });

  it('should report UPSTREAM_TIMEOUT when PBG answers too late', async () => {
    const sim = await simulator();
    sim.injectFault({ endpoint: 'query', kind: 'delay', ms: 1_000 });
    const error = await failure(client(sim, { timeoutMs: 100, queryRetries: 0 }).query({}));
    expect(error.code).toBe(ErrorCode.UPSTREAM_TIMEOUT);
    expect(error.message).toContain('100 ms');
  });

  it('should report UPSTREAM_AUTH for a wrong api key', async () => {
    const sim = await simulator();
    const error = await failure(client(sim, { apiKey: 'wrong-key-DO-NOT-LOG' }).query({}));
    expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH);
    expect(error.message).not.toContain('wrong-key');
  });

  it('should report UPSTREAM_BAD_RESPONSE for garbage, without retrying it', async () => {
    const sim = await simulator();
    sim.injectFault({ endpoint: 'query', kind: 'garbage' });
    const error = await failure(client(sim).query({}));
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toMatch(/not JSON/);
    expect(sim.calls.query).toBe(1);
  });

  it("should turn PBG's 400 into UPSTREAM_BAD_RESPONSE carrying PBG's message", async () => {
    const sim = await simulator();
    // Only an untyped caller can send a non-string id; PBG's 400 must still read well.
    const error = await failure(client(sim).query({ merchantId: 42 as unknown as string }));
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain('merchant_id must be a string');
    // PBG refused to read the request, so nothing happened.
    expect(error.outcomeUnknown).toBe(false);
  });

  it('should report a wrong base URL as UPSTREAM_BAD_RESPONSE naming PBG_BASE_URL', async () => {
    const sim = await simulator();
    const error = await failure(client(sim, { baseUrl: `${sim.url}/v2/` }).query({}));
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toContain('PBG_BASE_URL');
  });

  it('should report a refused connection as UPSTREAM_UNAVAILABLE', async () => {
    const sim = await simulator();
    const url = sim.url;
    await sim.close();
    const error = await failure(client(sim, { baseUrl: url, queryRetries: 0 }).query({}));
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
  });

  it('should refuse a filter date that is not a calendar day without calling PBG', async () => {
    const sim = await simulator();
    const error = await failure(client(sim).query({ createdBefore: '2026-02-30' }));
    expect(error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(error.message).toContain('createdBefore');
    expect(sim.calls.query).toBe(0);
  });
});

describe('PbgClient.action against the simulator', () => {
  it("should send each action's word and return PBG's verdict per its state machine", async () => {
    const sim = await simulator();
    const c = client(sim);
    const steps: Array<[string, PurchaseAction, string, boolean]> = [
      ['ABC_98765', PurchaseAction.COLLECT_FUNDS, 'collect_funds', true],
      // Collected once: the money has moved, a second collect is refused.
      ['ABC_98765', PurchaseAction.COLLECT_FUNDS, 'collect_funds', false],
      ['ABC_12345', PurchaseAction.SET_UNAVAILABLE, 'set_unavailable', true],
      ['ABC_20005', PurchaseAction.SET_UNAVAILABLE, 'set_unavailable', false],
      ['ABC_20001', PurchaseAction.REFUND, 'refund', true],
      ['ABC_20002', PurchaseAction.REFUND, 'refund', false],
      ['ABC_20002', PurchaseAction.CANCEL, 'cancel', true],
      ['ABC_20003', PurchaseAction.CANCEL, 'cancel', false],
      // Unknown, and another merchant's: both simply refused.
      ['ABC_NOPE', PurchaseAction.CANCEL, 'cancel', false],
      ['XYZ_55555', PurchaseAction.CANCEL, 'cancel', false],
    ];
    for (const [purchaseId, action, word, accepted] of steps) {
      sim.resetCalls();
      expect(await c.action(purchaseId, action), `${word} ${purchaseId}`).toBe(accepted);
      expect(sim.calls.actionBodies).toEqual([
        { merchant_auth: CREDENTIALS.merchantAuth, purchase_id: purchaseId, action: word },
      ]);
    }
    const after = await c.query({ merchantId: 'ABC' });
    const statusOf = (id: string) => after.find((p) => p.purchaseId === id)?.status;
    expect(statusOf('ABC_98765')).toBe(GroupPurchaseStatus.COLLECTED);
    expect(statusOf('ABC_12345')).toBe(GroupPurchaseStatus.UNAVAILABLE);
    expect(statusOf('ABC_20001')).toBe(GroupPurchaseStatus.REFUNDED);
    expect(statusOf('ABC_20002')).toBe(GroupPurchaseStatus.CANCELLED);
  });

  it('should URL-encode the merchant id in the action URL', async () => {
    const sim = await simulator({ merchantId: 'A&B C/1' });
    const c = client(sim, { merchantId: 'A&B C/1' });
    expect(await c.action('ABC_98765', PurchaseAction.COLLECT_FUNDS)).toBe(true);
  });

  it('should never retry an action, even after a 500', async () => {
    const sim = await simulator();
    sim.injectFault({ endpoint: 'action', kind: 'http500' });
    const error = await failure(
      client(sim, { queryRetries: 5 }).action('ABC_98765', PurchaseAction.COLLECT_FUNDS),
    );
    expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
    expect(sim.calls.action).toBe(1);
  });

  it('should time out an action once, even though PBG may still carry it out', async () => {
    const sim = await simulator();
    sim.injectFault({ endpoint: 'action', kind: 'delay', ms: 300 });
    const c = client(sim, { timeoutMs: 100 });
    const error = await failure(c.action('ABC_98765', PurchaseAction.COLLECT_FUNDS));
    expect(error.code).toBe(ErrorCode.UPSTREAM_TIMEOUT);
    expect(error.outcomeUnknown).toBe(true);
    expect(sim.calls.action).toBe(1);
    // Why actions are never retried: the lost answer's action happened anyway.
    await expect
      .poll(async () => (await c.query({ purchaseId: 'ABC_98765' }))[0]?.status, {
        timeout: 3_000,
      })
      .toBe(GroupPurchaseStatus.COLLECTED);
  });

  it('should report UPSTREAM_AUTH for a wrong merchant_auth or merchant id', async () => {
    const sim = await simulator();
    const wrongAuth = client(sim, { merchantAuth: 'x'.repeat(32) });
    const wrongId = client(sim, { merchantId: 'XYZ' });
    for (const c of [wrongAuth, wrongId]) {
      const error = await failure(c.action('ABC_98765', PurchaseAction.COLLECT_FUNDS));
      expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH);
    }
  });

  it('should report UPSTREAM_BAD_RESPONSE for a garbage action answer, sent once', async () => {
    const sim = await simulator();
    sim.injectFault({ endpoint: 'action', kind: 'garbage' });
    const error = await failure(client(sim).action('ABC_98765', PurchaseAction.REFUND));
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(sim.calls.action).toBe(1);
  });

  it('should report UPSTREAM_BAD_RESPONSE for JSON without a boolean result', async () => {
    // The simulator always answers a boolean, so a stand-in PBG answers the odd shapes.
    for (const answer of ['{"result":"true"}', '{"ok":true}', '[true]', 'true']) {
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(answer);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const c = new PbgClient({
          baseUrl: `http://127.0.0.1:${port}`,
          ...CREDENTIALS,
          timeoutMs: 2_000,
          logger,
        });
        const error = await failure(c.action('ABC_98765', PurchaseAction.REFUND));
        expect(error.code, answer).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
        expect(error.message).toContain('{"result": true|false}');
        expect(error.outcomeUnknown).toBe(true);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
  });

  it('should refuse an empty purchase id without calling PBG', async () => {
    const sim = await simulator();
    const error = await failure(client(sim).action(' ', PurchaseAction.REFUND));
    expect(error.code).toBe(ErrorCode.BAD_USER_INPUT);
    expect(sim.calls.action).toBe(0);
  });
});

describe('PbgClient and credentials', () => {
  it('should never write a credential into a log line or an error message', async () => {
    const sim = await simulator();
    const c = client(sim);
    const messages: string[] = [];
    const collect = (p: Promise<unknown>) =>
      p.catch((e: unknown) => messages.push(e instanceof Error ? e.message : String(e)));
    logLines.length = 0;
    await c.query({ merchantId: 'ABC', status: [GroupPurchaseStatus.PENDING] });
    await c.action('ABC_98765', PurchaseAction.COLLECT_FUNDS);
    await sim.updatePurchase('ABC_20006', { num_people: -3 });
    await c.query({ purchaseId: 'ABC_20006' });
    sim.injectFault({ endpoint: 'query', kind: 'http500', times: 3 });
    await collect(c.query({}));
    sim.injectFault({ endpoint: 'action', kind: 'garbage' });
    await collect(c.action('ABC_12345', PurchaseAction.CANCEL));
    await collect(client(sim, { apiKey: `${CREDENTIALS.apiKey}-stale` }).query({}));
    await collect(
      client(sim, { merchantAuth: `${CREDENTIALS.merchantAuth.slice(0, 31)}!` }).action(
        'ABC_12345',
        PurchaseAction.CANCEL,
      ),
    );
    await collect(c.query({ merchantId: 42 as unknown as string }));

    expect(messages).toHaveLength(5);
    expect(logLines.length).toBeGreaterThan(10);
    expect(logLines.some((l) => l.includes('"level":20'))).toBe(true);
    for (const text of [...logLines, ...messages]) {
      expect(text).not.toContain(CREDENTIALS.apiKey);
      expect(text).not.toContain(CREDENTIALS.merchantAuth);
      expect(text).not.toContain(CREDENTIALS.merchantAuth.slice(0, 31));
      expect(text).not.toContain('DO-NOT-LOG');
    }
  });
});
