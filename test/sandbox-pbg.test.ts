import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SANDBOX_PBG,
  startPbgSimulator,
  type PbgSimulator,
  type PbgSimulatorOptions,
} from '../src/sandbox/pbg/index.js';

// ---------------------------------------------------------------------------------------------
// Helpers: a simulator per test, and a tiny merchant that records what PBG calls it with.
// ---------------------------------------------------------------------------------------------

const open: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function simulator(options: PbgSimulatorOptions = {}): Promise<PbgSimulator> {
  const sim = await startPbgSimulator(options);
  open.push(sim);
  return sim;
}

interface Received {
  path: string;
  query: string;
  body: unknown;
}

type Answer = { status?: number; body: unknown; delayMs?: number };

/**
 * A merchant on port 0. Each path answers from its queue of scripted answers, then from the
 * default (the brief's happy answers).
 */
async function merchant(scripts: Record<string, Answer[]> = {}) {
  const defaults: Record<string, Answer> = {
    '/pbg/purchase_create.json': {
      body: { purchase_cost: '10.00 USD', purchase_image_url: 'http://x/y.png' },
    },
    '/pbg/inventory_status.json': { body: { result: 'available' } },
    '/pbg/change_push': { body: { result: true } },
  };
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      const [path = '', query = ''] = (req.url ?? '').split('?');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the raw text
      }
      received.push({ path, query, body });
      const answer = scripts[path]?.shift() ?? defaults[path] ?? { status: 404, body: {} };
      const send = () => {
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
        res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const handle = {
    url,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  open.push(handle);
  return handle;
}

async function send(
  url: string,
  body: unknown,
  init: { method?: string; raw?: boolean } = {},
): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const res = await fetch(url, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined && {
      body: init.raw ? (body as string) : JSON.stringify(body),
    }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

type Purchase = Record<string, unknown>;

async function queryPbg(sim: PbgSimulator, filters: Record<string, unknown> = {}) {
  const res = await send(`${sim.url}/api/merch_get_purch_info.json`, {
    api_key: SANDBOX_PBG.apiKey,
    ...filters,
  });
  return {
    ...res,
    purchases: (res.json as { group_purchases?: Purchase[] } | undefined)?.group_purchases,
  };
}

async function ids(sim: PbgSimulator, filters: Record<string, unknown>): Promise<string[]> {
  const { status, purchases } = await queryPbg(sim, filters);
  expect(status).toBe(200);
  return (purchases ?? []).map((p) => p.purchase_id as string).sort();
}

function actionUrl(sim: PbgSimulator, merchantId: string | null = SANDBOX_PBG.merchantId) {
  const base = `${sim.url}/api/purchase_action.json`;
  return merchantId === null ? base : `${base}?merchant_id=${encodeURIComponent(merchantId)}`;
}

async function act(sim: PbgSimulator, purchaseId: string, action: string) {
  return send(actionUrl(sim), {
    merchant_auth: SANDBOX_PBG.merchantAuth,
    purchase_id: purchaseId,
    action,
  });
}

async function eventually(check: () => void, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
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

// ---------------------------------------------------------------------------------------------

describe('PBG simulator: seeds and the query endpoint', () => {
  it('should listen on loopback and expose the sandbox credentials', async () => {
    const sim = await simulator();
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(SANDBOX_PBG.merchantAuth).toMatch(/^[\x20-\x7e]{32}$/);
  });

  it('should seed every status, two+ inventories, spread dates, per-person and EUR prices', async () => {
    const sim = await simulator();
    const { purchases = [] } = await queryPbg(sim, { merchant_id: SANDBOX_PBG.merchantId });
    expect(purchases.length).toBeGreaterThanOrEqual(8);
    expect(new Set(purchases.map((p) => p.status))).toEqual(
      new Set([
        'pending',
        'collected',
        'payment_completed',
        'expired',
        'cancelled',
        'refunded',
        'unavailable',
      ]),
    );
    expect(new Set(purchases.map((p) => p.inventory_id)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(purchases.map((p) => String(p.created_at).slice(0, 10))).size).toBeGreaterThan(
      4,
    );
    expect(
      purchases.every((p) => /^2026-\d\d-\d\d \d\d:\d\d PST$/.test(String(p.created_at))),
    ).toBe(true);
    expect(
      purchases.some((p) => p.cost_per_person !== undefined && p.purchase_cost === undefined),
    ).toBe(true);
    expect(purchases.some((p) => String(p.purchase_cost).endsWith(' EUR'))).toBe(true);
  });

  it("should return the document's example purchases with PBG field names", async () => {
    const sim = await simulator();
    const { purchases = [] } = await queryPbg(sim, { purchase_id: 'ABC_12345' });
    expect(purchases).toHaveLength(1);
    expect(purchases[0]).toMatchObject({
      purchase_id: 'ABC_12345',
      merchant_id: SANDBOX_PBG.merchantId,
      status: 'pending',
      purchase_name: '1600 Whitmarsh Avenue',
      purchase_cost: '1250.00 USD',
      commit_deadline: '2026-05-27 23:59 PST',
      num_people: expect.any(Number),
      num_paid: expect.any(Number),
      inventory_id: expect.any(String),
      purchase_description: expect.any(String),
      purchase_link_url: expect.any(String),
      purchase_image_url: expect.any(String),
      merchant_org_email: expect.any(String),
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d PST$/),
    });
    const [other] = (await queryPbg(sim, { purchase_id: 'ABC_98765' })).purchases ?? [];
    expect(other?.status).toBe('payment_completed');
  });

  it('should filter by merchant_id, hiding the other merchant only then', async () => {
    const sim = await simulator();
    expect(await ids(sim, { merchant_id: SANDBOX_PBG.merchantId })).toEqual(ALL_ABC);
    expect(await ids(sim, { merchant_id: 'XYZ' })).toEqual(['XYZ_55555']);
    expect(await ids(sim, { merchant_id: 'NOBODY' })).toEqual([]);
    expect(await ids(sim, {})).toEqual([...ALL_ABC, 'XYZ_55555'].sort());
  });

  it('should filter by inventory_id', async () => {
    const sim = await simulator();
    expect(await ids(sim, { inventory_id: 'INV_WHITMARSH' })).toEqual([
      'ABC_12345',
      'ABC_20001',
      'ABC_20005',
      'XYZ_55555',
    ]);
    expect(await ids(sim, { inventory_id: 'INV_LAKEHOUSE' })).toEqual([
      'ABC_20002',
      'ABC_20006',
      'ABC_98765',
    ]);
  });

  it("should filter by purchase_id, the merchant's or PayByGroup's", async () => {
    const sim = await simulator();
    const { purchases = [] } = await queryPbg(sim, { purchase_id: 'ABC_98765' });
    const pbgId = purchases[0]?.pbg_purchase_id;
    expect(pbgId).toMatch(/^PBG-\d+$/);
    expect(await ids(sim, { purchase_id: pbgId })).toEqual(['ABC_98765']);
    expect(await ids(sim, { purchase_id: 'NOPE' })).toEqual([]);
  });

  it('should treat created_after as inclusive and created_before as exclusive', async () => {
    const sim = await simulator();
    // ABC_12345 was created 2026-05-01, XYZ_55555 2026-05-10.
    expect(await ids(sim, { created_after: '2026-05-01', created_before: '2026-05-10' })).toEqual([
      'ABC_12345',
    ]);
    expect(await ids(sim, { created_after: '2026-05-02', created_before: '2026-05-11' })).toEqual([
      'XYZ_55555',
    ]);
    expect(await ids(sim, { created_before: '2026-02-14' })).toEqual(['ABC_20003']);
    expect(await ids(sim, { created_after: '2026-07-02' })).toEqual(['ABC_20006']);
  });

  it('should filter by a status array, an empty one matching nothing', async () => {
    const sim = await simulator();
    expect(await ids(sim, { status: ['pending'] })).toEqual([
      'ABC_12345',
      'ABC_20006',
      'XYZ_55555',
    ]);
    expect(await ids(sim, { status: ['collected', 'refunded'] })).toEqual([
      'ABC_20001',
      'ABC_20004',
    ]);
    expect(await ids(sim, { status: ['no_such_status'] })).toEqual([]);
    expect(await ids(sim, { status: [] })).toEqual([]);
  });

  it('should combine filters as a conjunction', async () => {
    const sim = await simulator();
    expect(
      await ids(sim, {
        merchant_id: SANDBOX_PBG.merchantId,
        inventory_id: 'INV_WHITMARSH',
        status: ['pending', 'unavailable'],
        created_after: '2026-05-01',
      }),
    ).toEqual(['ABC_12345', 'ABC_20005']);
    expect(
      await ids(sim, { inventory_id: 'INV_CHALET', status: ['pending'], merchant_id: 'ABC' }),
    ).toEqual([]);
    expect(await ids(sim, { purchase_id: 'ABC_12345', status: ['collected'] })).toEqual([]);
  });

  it('should answer 401 with an error for a missing or wrong api_key', async () => {
    const sim = await simulator();
    const url = `${sim.url}/api/merch_get_purch_info.json`;
    for (const body of [{}, { api_key: 'wrong' }, { api_key: 42 }, { api_key: '' }]) {
      const res = await send(url, body);
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: expect.any(String) });
    }
    const custom = await simulator({ apiKey: 'custom-key' });
    expect(
      (await send(`${custom.url}/api/merch_get_purch_info.json`, { api_key: SANDBOX_PBG.apiKey }))
        .status,
    ).toBe(401);
    expect(
      (await send(`${custom.url}/api/merch_get_purch_info.json`, { api_key: 'custom-key' })).status,
    ).toBe(200);
  });

  it('should answer 400 naming the field for malformed dates, status and ids', async () => {
    const sim = await simulator();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ created_after: '2026/05/01' }, 'created_after'],
      [{ created_after: '2026-02-30' }, 'created_after'],
      [{ created_before: 20260501 }, 'created_before'],
      [{ created_before: '2026-05-01T00:00:00Z' }, 'created_before'],
      [{ status: 'pending' }, 'status'],
      [{ status: [1, 2] }, 'status'],
      [{ merchant_id: 7 }, 'merchant_id'],
      [{ inventory_id: ['x'] }, 'inventory_id'],
      [{ purchase_id: {} }, 'purchase_id'],
    ];
    for (const [filters, field] of cases) {
      const res = await queryPbg(sim, filters);
      expect(res.status, JSON.stringify(filters)).toBe(400);
      expect((res.json as { error: string }).error).toContain(field);
    }
  });

  it('should not seed when seed is false', async () => {
    const sim = await simulator({ seed: false });
    expect(await ids(sim, {})).toEqual([]);
  });

  it('should seed for a configured merchant id', async () => {
    const sim = await simulator({ merchantId: 'M42' });
    expect(await ids(sim, { merchant_id: 'M42' })).toEqual(ALL_ABC);
  });
});

describe('PBG simulator: the action endpoint', () => {
  /** Expected answers for every status × action, written from the brief, not from status.ts. */
  const table: Record<string, Record<string, string | false>> = {
    pending: {
      collect_funds: false,
      set_unavailable: 'unavailable',
      refund: false,
      cancel: 'cancelled',
    },
    payment_completed: {
      collect_funds: 'collected',
      set_unavailable: 'unavailable',
      refund: 'refunded',
      cancel: 'cancelled',
    },
    collected: { collect_funds: false, set_unavailable: false, refund: 'refunded', cancel: false },
    expired: { collect_funds: false, set_unavailable: false, refund: false, cancel: 'cancelled' },
    cancelled: { collect_funds: false, set_unavailable: false, refund: false, cancel: false },
    refunded: { collect_funds: false, set_unavailable: false, refund: false, cancel: false },
    unavailable: {
      collect_funds: false,
      set_unavailable: false,
      refund: false,
      cancel: 'cancelled',
    },
  };

  it('should play the status machine for every status and action', async () => {
    const sim = await simulator();
    for (const [from, actions] of Object.entries(table)) {
      for (const [action, to] of Object.entries(actions)) {
        await sim.updatePurchase('ABC_12345', { status: from });
        const pushesBefore = sim.pushes.length;
        const res = await act(sim, 'ABC_12345', action);
        const label = `${from} + ${action}`;
        expect(res.status, label).toBe(200);
        expect(res.json, label).toEqual({ result: to !== false });
        const [now] = (await queryPbg(sim, { purchase_id: 'ABC_12345' })).purchases ?? [];
        expect(now?.status, label).toBe(to === false ? from : to);
        // A change push for an accepted action, none for a refused one.
        expect(sim.pushes.length - pushesBefore, label).toBe(to === false ? 0 : 1);
      }
    }
  });

  it('should record the change push of an accepted action with all fields', async () => {
    const sim = await simulator();
    expect((await act(sim, 'ABC_98765', 'collect_funds')).json).toEqual({ result: true });
    expect(sim.pushes).toHaveLength(1);
    const push = sim.pushes[0];
    expect(push?.delivered).toBe(false);
    expect(push?.body.merchant_auth).toBe(SANDBOX_PBG.merchantAuth);
    expect(push?.body.events).toEqual([
      expect.objectContaining({
        purchase_id: 'ABC_98765',
        status: 'collected',
        purchase_cost: '2400.00 USD',
        num_people: 4,
        num_paid: 4,
        commit_deadline: expect.any(String),
      }),
    ]);
    // Collecting twice is refused and pushes nothing.
    expect((await act(sim, 'ABC_98765', 'collect_funds')).json).toEqual({ result: false });
    expect(sim.pushes).toHaveLength(1);
  });

  it('should answer 401 {"result": false} for wrong credentials', async () => {
    const sim = await simulator();
    const good = {
      merchant_auth: SANDBOX_PBG.merchantAuth,
      purchase_id: 'ABC_98765',
      action: 'refund',
    };
    const cases: Array<[string, unknown]> = [
      [actionUrl(sim), { ...good, merchant_auth: 'x'.repeat(32) }],
      [actionUrl(sim), { ...good, merchant_auth: undefined }],
      [actionUrl(sim, 'XYZ'), good],
      [actionUrl(sim, null), good],
    ];
    for (const [url, body] of cases) {
      const res = await send(url, body);
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ result: false });
    }
    const [p] = (await queryPbg(sim, { purchase_id: 'ABC_98765' })).purchases ?? [];
    expect(p?.status).toBe('payment_completed');
  });

  it("should answer result false for an unknown or another merchant's purchase", async () => {
    const sim = await simulator();
    expect((await act(sim, 'NO_SUCH', 'cancel')).json).toEqual({ result: false });
    expect((await act(sim, 'XYZ_55555', 'cancel')).json).toEqual({ result: false });
    expect(sim.pushes).toHaveLength(0);
  });

  it('should answer 400 for an unknown action word or a missing purchase_id', async () => {
    const sim = await simulator();
    for (const action of ['collect', ':refund', 'CANCEL', '', 3, undefined]) {
      const res = await act(sim, 'ABC_12345', action as string);
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ result: false, error: expect.stringContaining('action') });
    }
    const res = await send(actionUrl(sim), {
      merchant_auth: SANDBOX_PBG.merchantAuth,
      action: 'cancel',
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      result: false,
      error: expect.stringContaining('purchase_id'),
    });
  });
});

describe('PBG simulator: callbacks to the merchant', () => {
  const now = () => new Date('2026-08-01T20:00:00Z');

  it('should ask purchase_create.json and create a pending purchase from the answer', async () => {
    const shop = await merchant({
      '/pbg/purchase_create.json': [
        {
          body: {
            purchase_cost: '10.00 USD',
            purchase_image_url: 'http://x/y.png',
            purchase_name: 'Boat trip',
            cabin_class: 'deluxe',
            status: 'collected', // PBG owns status: ignored
          },
        },
      ],
    });
    const sim = await simulator({ merchantBaseUrl: `${shop.url}/`, now });
    const created = await sim.startPurchase({ purchaseId: 'ABC_NEW1', numPeople: 3 });
    expect(shop.received).toEqual([
      {
        path: '/pbg/purchase_create.json',
        query: `merchant_id=${SANDBOX_PBG.merchantId}`,
        body: { merchant_auth: SANDBOX_PBG.merchantAuth, purchase_id: 'ABC_NEW1' },
      },
    ]);
    expect(created).toMatchObject({
      purchase_id: 'ABC_NEW1',
      merchant_id: SANDBOX_PBG.merchantId,
      status: 'pending',
      purchase_cost: '10.00 USD',
      purchase_image_url: 'http://x/y.png',
      purchase_name: 'Boat trip',
      cabin_class: 'deluxe',
      num_people: 3,
      num_paid: 0,
      created_at: '2026-08-01 12:00 PST',
      commit_deadline: '2026-08-15 23:59 PST',
    });
    expect(sim.callbacks).toEqual([
      {
        path: '/pbg/purchase_create.json',
        body: { merchant_auth: SANDBOX_PBG.merchantAuth, purchase_id: 'ABC_NEW1' },
        status: 200,
        response: expect.objectContaining({ purchase_cost: '10.00 USD' }),
      },
    ]);
    expect(await ids(sim, { created_after: '2026-08-01' })).toEqual(['ABC_NEW1']);
    // Creation is not a change: the merchant already knows from purchase_create.json.
    expect(sim.pushes).toHaveLength(0);
  });

  it('should reject a merchant answer with neither, both or a bad cost, or no image', async () => {
    const answers: Array<[unknown, string]> = [
      [{ purchase_image_url: 'http://x/y.png' }, 'neither'],
      [
        {
          purchase_cost: '10.00 USD',
          cost_per_person: '5.00 USD',
          purchase_image_url: 'http://x/y.png',
        },
        'both',
      ],
      [{ purchase_cost: '10 dollars', purchase_image_url: 'http://x/y.png' }, 'purchase_cost'],
      [{ cost_per_person: 10, purchase_image_url: 'http://x/y.png' }, 'cost_per_person'],
      [{ purchase_cost: '10.00 USD' }, 'purchase_image_url'],
      ['not json', 'JSON object'],
    ];
    const shop = await merchant({
      '/pbg/purchase_create.json': answers.map(([body]) => ({ body })),
    });
    const sim = await simulator({ merchantBaseUrl: shop.url });
    for (const [i, [, why]] of answers.entries()) {
      await expect(sim.startPurchase({ purchaseId: `ABC_BAD${i}` })).rejects.toThrow(why);
      expect(sim.callbacks[i]?.error).toContain(why);
    }
    expect(await ids(sim, { created_after: '2026-08-01' })).toEqual([]);
  });

  it('should reject when the merchant answers an error or cannot be reached', async () => {
    const shop = await merchant({ '/pbg/purchase_create.json': [{ status: 500, body: {} }] });
    const sim = await simulator({ merchantBaseUrl: shop.url });
    await expect(sim.startPurchase({ purchaseId: 'ABC_E1' })).rejects.toThrow('HTTP 500');
    await shop.close();
    await expect(sim.startPurchase({ purchaseId: 'ABC_E2' })).rejects.toThrow(
      'could not reach the merchant',
    );
  });

  it('should reject a duplicate purchase id and bad input', async () => {
    const sim = await simulator();
    await expect(sim.startPurchase({ purchaseId: 'ABC_12345' })).rejects.toThrow('already exists');
    await expect(sim.startPurchase({ purchaseId: '' })).rejects.toThrow('purchaseId');
    await expect(sim.startPurchase({ purchaseId: 'A', numPeople: 0 })).rejects.toThrow('numPeople');
    await expect(
      sim.startPurchase({ purchaseId: 'A', commitDeadline: '2026-05-27' }),
    ).rejects.toThrow('commitDeadline');
  });

  it('should only record callbacks when no merchantBaseUrl is set', async () => {
    const sim = await simulator({ now });
    const created = await sim.startPurchase({ purchaseId: 'ABC_OFFLINE', inventoryId: 'INV_X' });
    expect(created).toMatchObject({ status: 'pending', inventory_id: 'INV_X' });
    expect(sim.callbacks).toEqual([
      {
        path: '/pbg/purchase_create.json',
        body: { merchant_auth: SANDBOX_PBG.merchantAuth, purchase_id: 'ABC_OFFLINE' },
      },
    ]);
    const paid = await sim.payShare('ABC_OFFLINE');
    expect(paid.num_paid).toBe(1);
    expect(sim.callbacks[1]?.path).toBe('/pbg/inventory_status.json');
    expect(sim.callbacks[1]?.status).toBeUndefined();
  });

  it('should ask inventory before each payment and complete when everyone paid', async () => {
    const shop = await merchant({
      '/pbg/inventory_status.json': [{ body: { result: 'unknown' } }],
    });
    const sim = await simulator({ merchantBaseUrl: shop.url, now });
    await sim.startPurchase({ purchaseId: 'ABC_PAY', numPeople: 2 });
    const first = await sim.payShare('ABC_PAY');
    expect(first).toMatchObject({ status: 'pending', num_paid: 1 });
    const second = await sim.payShare('ABC_PAY');
    expect(second).toMatchObject({ status: 'payment_completed', num_paid: 2 });
    const inventoryCalls = shop.received.filter((r) => r.path === '/pbg/inventory_status.json');
    expect(inventoryCalls).toEqual([
      {
        path: '/pbg/inventory_status.json',
        query: `merchant_id=${SANDBOX_PBG.merchantId}`,
        body: { merchant_auth: SANDBOX_PBG.merchantAuth, purchase_id: 'ABC_PAY' },
      },
      expect.objectContaining({ path: '/pbg/inventory_status.json' }),
    ]);
    expect(sim.pushes.map((p) => [p.body.events[0]?.status, p.body.events[0]?.num_paid])).toEqual([
      ['pending', 1],
      ['payment_completed', 2],
    ]);
    // Not delivered: deliverChangePushes is off by default.
    expect(shop.received.some((r) => r.path === '/pbg/change_push')).toBe(false);
    await expect(sim.payShare('ABC_PAY')).rejects.toThrow('only pending purchases');
  });

  it('should make the purchase unavailable when inventory says so', async () => {
    const shop = await merchant({
      '/pbg/inventory_status.json': [{ body: { inventory_state: 'unavailable' } }],
    });
    const sim = await simulator({ merchantBaseUrl: shop.url });
    const after = await sim.payShare('ABC_12345');
    expect(after).toMatchObject({ status: 'unavailable', num_paid: 2 });
    expect(sim.pushes.at(-1)?.body.events[0]).toMatchObject({ status: 'unavailable' });
  });

  it('should reject a payment on a bad inventory answer, or an unknown or foreign purchase', async () => {
    const shop = await merchant({
      '/pbg/inventory_status.json': [{ body: { result: 'maybe' } }],
    });
    const sim = await simulator({ merchantBaseUrl: shop.url });
    await expect(sim.payShare('ABC_12345')).rejects.toThrow('inventory_status.json');
    await expect(sim.payShare('NOPE')).rejects.toThrow('no purchase');
    await expect(sim.payShare('XYZ_55555')).rejects.toThrow('belongs to merchant');
    const [p] = (await queryPbg(sim, { purchase_id: 'ABC_12345' })).purchases ?? [];
    expect(p?.num_paid).toBe(2);
    expect(sim.pushes).toHaveLength(0);
  });
});

describe('PBG simulator: change pushes', () => {
  it('should push on status, commit_deadline and num_people changes only', async () => {
    const sim = await simulator();
    await sim.updatePurchase('ABC_12345', { purchase_cost: 'garbled', purchase_name: 'X' });
    expect(sim.pushes).toHaveLength(0);
    await sim.updatePurchase('ABC_12345', { commit_deadline: '2026-06-01 23:59 PST' });
    await sim.updatePurchase('ABC_12345', { num_people: 6 });
    await sim.updatePurchase('ABC_12345', { status: 'expired' });
    await sim.updatePurchase('ABC_12345', { status: 'expired' }); // no change, no push
    expect(sim.pushes.map((p) => p.body.events[0])).toEqual([
      expect.objectContaining({
        commit_deadline: '2026-06-01 23:59 PST',
        purchase_cost: 'garbled',
      }),
      expect.objectContaining({ num_people: 6 }),
      expect.objectContaining({ status: 'expired' }),
    ]);
    // Garbled values are served as set; undefined removes a field.
    const after = await sim.updatePurchase('ABC_12345', { purchase_name: undefined });
    expect(after).not.toHaveProperty('purchase_name');
    const [p] = (await queryPbg(sim, { purchase_id: 'ABC_12345' })).purchases ?? [];
    expect(p?.purchase_cost).toBe('garbled');
    await expect(sim.updatePurchase('ABC_12345', { purchase_id: 'OTHER' })).rejects.toThrow(
      'purchase_id',
    );
    await expect(sim.updatePurchase('NOPE', {})).rejects.toThrow('no purchase');
  });

  it('should deliver pushes in order with merchant_auth and every field', async () => {
    const shop = await merchant({
      // The first push is slow: the second must still arrive after it.
      '/pbg/change_push': [{ body: { result: true }, delayMs: 800 }],
    });
    const sim = await simulator({ merchantBaseUrl: shop.url, deliverChangePushes: true });
    const started = Date.now();
    expect((await act(sim, 'ABC_98765', 'collect_funds')).json).toEqual({ result: true });
    expect((await act(sim, 'ABC_98765', 'refund')).json).toEqual({ result: true });
    // The action's answer did not wait for the slow merchant.
    expect(Date.now() - started).toBeLessThan(600);
    await sim.settled();
    const pushes = shop.received.filter((r) => r.path === '/pbg/change_push');
    expect(pushes.map((r) => r.query)).toEqual([
      `merchant_id=${SANDBOX_PBG.merchantId}`,
      `merchant_id=${SANDBOX_PBG.merchantId}`,
    ]);
    expect(pushes.map((r) => r.body)).toEqual([
      {
        merchant_auth: SANDBOX_PBG.merchantAuth,
        events: [expect.objectContaining({ purchase_id: 'ABC_98765', status: 'collected' })],
      },
      {
        merchant_auth: SANDBOX_PBG.merchantAuth,
        events: [expect.objectContaining({ purchase_id: 'ABC_98765', status: 'refunded' })],
      },
    ]);
    const [event] = (pushes[0]?.body as { events: Purchase[] }).events;
    expect(Object.keys(event ?? {})).toEqual(
      expect.arrayContaining([
        'purchase_id',
        'merchant_id',
        'inventory_id',
        'status',
        'purchase_name',
        'purchase_cost',
        'num_people',
        'num_paid',
        'commit_deadline',
        'created_at',
      ]),
    );
    expect(sim.pushes.map((p) => [p.delivered, p.status, p.attempts])).toEqual([
      [true, 200, 1],
      [true, 200, 1],
    ]);
  });

  it('should retry a push until the merchant answers {"result": true}', async () => {
    const shop = await merchant({
      '/pbg/change_push': [
        { status: 500, body: { error: 'down' } },
        { body: { result: false } },
        { body: { result: true } },
      ],
    });
    const sim = await simulator({ merchantBaseUrl: shop.url, deliverChangePushes: true });
    await act(sim, 'ABC_12345', 'cancel');
    expect(sim.pushes[0]?.delivered).toBe(false);
    await sim.settled();
    expect(sim.pushes[0]).toMatchObject({ delivered: true, status: 200, attempts: 3 });
    expect(sim.pushes[0]?.error).toBeUndefined();
    expect(shop.received.filter((r) => r.path === '/pbg/change_push')).toHaveLength(3);
  });

  it('should give up after three attempts and record why', async () => {
    const shop = await merchant({
      '/pbg/change_push': [
        { status: 503, body: {} },
        { status: 503, body: {} },
        { body: 'OK' },
        { body: { result: true } }, // never reached
      ],
    });
    const sim = await simulator({ merchantBaseUrl: shop.url, deliverChangePushes: true });
    await act(sim, 'ABC_12345', 'cancel');
    await sim.settled();
    expect(sim.pushes[0]).toMatchObject({ delivered: false, status: 200, attempts: 3 });
    expect(sim.pushes[0]?.error).toContain('{"result":true}');
  });

  it('should record an unreachable merchant as an undelivered push', async () => {
    const shop = await merchant();
    await shop.close();
    const sim = await simulator({ merchantBaseUrl: shop.url, deliverChangePushes: true });
    await act(sim, 'ABC_12345', 'cancel');
    await sim.settled();
    expect(sim.pushes[0]).toMatchObject({ delivered: false, attempts: 3 });
    expect(sim.pushes[0]?.error).toContain('could not reach the merchant');
  });
});

describe('PBG simulator: faults', () => {
  it('should answer 500 once, then normally, without changing state', async () => {
    const sim = await simulator();
    sim.injectFault({ endpoint: 'action', kind: 'http500' });
    const failed = await act(sim, 'ABC_98765', 'collect_funds');
    expect(failed.status).toBe(500);
    expect(sim.pushes).toHaveLength(0);
    expect((await act(sim, 'ABC_98765', 'collect_funds')).json).toEqual({ result: true });
    expect(sim.calls.action).toBe(2);
  });

  it('should answer garbage the given number of times', async () => {
    const sim = await simulator();
    sim.injectFault({ endpoint: 'query', kind: 'garbage', times: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await queryPbg(sim);
      expect(res.status).toBe(200);
      expect(res.json).toBeUndefined();
    }
    expect((await queryPbg(sim)).purchases?.length).toBeGreaterThan(0);
  });

  it('should delay and then answer normally; faults queue in order', async () => {
    const sim = await simulator();
    sim.injectFault({ endpoint: 'query', kind: 'delay', ms: 200 });
    sim.injectFault({ endpoint: 'query', kind: 'http500' });
    const started = Date.now();
    expect((await queryPbg(sim)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect((await queryPbg(sim)).status).toBe(500);
    expect((await queryPbg(sim)).status).toBe(200);
  });

  it('should refuse a malformed fault', () => {
    return simulator().then((sim) => {
      const bad = [
        { endpoint: 'nope', kind: 'http500' },
        { endpoint: 'query', kind: 'explode' },
        { endpoint: 'query', kind: 'delay', ms: -1 },
        { endpoint: 'query', kind: 'http500', times: 0 },
      ];
      for (const fault of bad) {
        expect(() => sim.injectFault(fault as never)).toThrow('invalid fault');
      }
    });
  });

  it('should end a delayed request promptly on close', async () => {
    const sim = await startPbgSimulator();
    sim.injectFault({ endpoint: 'query', kind: 'delay', ms: 60_000 });
    const pending = queryPbg(sim).then(
      () => 'answered',
      () => 'failed',
    );
    await eventually(() => expect(sim.calls.query).toBe(1));
    const started = Date.now();
    await sim.close();
    expect(await pending).toBe('failed');
    expect(Date.now() - started).toBeLessThan(2_000);
    await sim.close(); // twice is fine
  });
});

describe('PBG simulator: junk input and call recording', () => {
  it('should answer 400 to bodies that are not a JSON object', async () => {
    const sim = await simulator();
    for (const path of ['/api/merch_get_purch_info.json', '/api/purchase_action.json']) {
      for (const raw of ['{not json', '', '[]', 'null', '"text"', '\u0000\uffff']) {
        const res = await send(`${sim.url}${path}`, raw, { raw: true });
        expect(res.status, `${path} ${raw}`).toBe(400);
        expect(res.json).toMatchObject({ error: expect.any(String) });
      }
    }
  });

  it('should answer 413 above 1 MiB', async () => {
    const sim = await simulator();
    const big = JSON.stringify({ api_key: SANDBOX_PBG.apiKey, pad: 'x'.repeat(1024 * 1024) });
    const res = await send(`${sim.url}/api/merch_get_purch_info.json`, big, { raw: true });
    expect(res.status).toBe(413);
    // Still alive.
    expect((await queryPbg(sim)).status).toBe(200);
  });

  it('should answer 405 to other methods and 404 to unknown paths', async () => {
    const sim = await simulator();
    const get = await send(`${sim.url}/api/merch_get_purch_info.json`, undefined, {
      method: 'GET',
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const put = await send(`${sim.url}/api/purchase_action.json`, {}, { method: 'PUT' });
    expect(put.status).toBe(405);
    for (const path of [
      '/',
      '/api/other.json',
      '//evil/api/merch_get_purch_info.json',
      '/_sandboxx',
    ]) {
      const res = await send(`${sim.url}${path}`, {});
      expect(res.status, path).toBe(404);
      expect(res.json).toMatchObject({ error: expect.any(String) });
    }
  });

  it('should record request bodies as received and reset them in place', async () => {
    const sim = await simulator();
    const calls = sim.calls;
    await queryPbg(sim, { status: ['pending'] });
    await send(`${sim.url}/api/merch_get_purch_info.json`, 'junk', { raw: true });
    await act(sim, 'ABC_12345', 'cancel');
    await send(`${sim.url}/_sandbox/calls`, undefined, { method: 'GET' }); // not counted
    expect(calls.query).toBe(2);
    expect(calls.action).toBe(1);
    expect(calls.queryBodies).toEqual([
      { api_key: SANDBOX_PBG.apiKey, status: ['pending'] },
      'junk',
    ]);
    expect(calls.actionBodies).toEqual([
      { merchant_auth: SANDBOX_PBG.merchantAuth, purchase_id: 'ABC_12345', action: 'cancel' },
    ]);
    sim.resetCalls();
    expect(sim.calls).toBe(calls);
    expect(calls).toEqual({ query: 0, action: 0, queryBodies: [], actionBodies: [] });
  });

  it('should refuse bad options', async () => {
    await expect(startPbgSimulator({ merchantAuth: 'short' })).rejects.toThrow('merchantAuth');
    await expect(startPbgSimulator({ merchantBaseUrl: 'ftp://x' })).rejects.toThrow(
      'merchantBaseUrl',
    );
    await expect(startPbgSimulator({ port: -1 })).rejects.toThrow('port');
  });
});

describe('PBG simulator: HTTP controls', () => {
  it('should start, pay and patch purchases over /_sandbox/', async () => {
    const shop = await merchant();
    const sim = await simulator({ merchantBaseUrl: shop.url });
    const created = await send(`${sim.url}/_sandbox/purchases`, {
      purchase_id: 'ABC_HTTP',
      numPeople: 1,
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ purchase_id: 'ABC_HTTP', status: 'pending' });

    const paid = await send(`${sim.url}/_sandbox/purchases/ABC_HTTP/pay`, undefined);
    expect(paid.status).toBe(200);
    expect(paid.json).toMatchObject({ status: 'payment_completed', num_paid: 1 });

    const patched = await send(
      `${sim.url}/_sandbox/purchases/ABC_HTTP`,
      { commit_deadline: '2026-12-31 23:59 PST' },
      { method: 'PATCH' },
    );
    expect(patched.json).toMatchObject({ commit_deadline: '2026-12-31 23:59 PST' });

    const one = await send(`${sim.url}/_sandbox/purchases/ABC_HTTP`, undefined, { method: 'GET' });
    expect(one.json).toMatchObject({ purchase_id: 'ABC_HTTP' });
    const all = await send(`${sim.url}/_sandbox/purchases`, undefined, { method: 'GET' });
    expect((all.json as { group_purchases: unknown[] }).group_purchases).toHaveLength(10);

    const pushes = await send(`${sim.url}/_sandbox/pushes`, undefined, { method: 'GET' });
    expect((pushes.json as { pushes: unknown[] }).pushes).toHaveLength(2);

    const calls = await send(`${sim.url}/_sandbox/calls`, undefined, { method: 'GET' });
    expect(calls.json).toMatchObject({
      query: 0,
      action: 0,
      callbacks: [
        { path: '/pbg/purchase_create.json', status: 200 },
        { path: '/pbg/inventory_status.json', status: 200 },
      ],
    });
  });

  it('should inject faults and reset calls over /_sandbox/', async () => {
    const sim = await simulator();
    const fault = await send(`${sim.url}/_sandbox/faults`, { endpoint: 'query', kind: 'http500' });
    expect(fault.status).toBe(201);
    expect((await queryPbg(sim)).status).toBe(500);
    const bad = await send(`${sim.url}/_sandbox/faults`, { endpoint: 'query', kind: 'boom' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: expect.stringContaining('kind') });
    expect(sim.calls.query).toBe(1);
    expect((await send(`${sim.url}/_sandbox/calls`, undefined, { method: 'DELETE' })).status).toBe(
      200,
    );
    expect(sim.calls.query).toBe(0);
  });

  it('should answer clear 400, 404, 405, 409 and 502 errors', async () => {
    const shop = await merchant({
      '/pbg/purchase_create.json': [{ body: { purchase_image_url: 'http://x/y.png' } }],
    });
    const sim = await simulator({ merchantBaseUrl: shop.url });
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/_sandbox/purchases', 'junk', 400, 'JSON'],
      ['POST', '/_sandbox/purchases', { numPeople: 2 }, 400, 'purchaseId'],
      ['POST', '/_sandbox/purchases', { purchaseId: 'ABC_12345' }, 409, 'already exists'],
      ['POST', '/_sandbox/purchases', { purchaseId: 'ABC_X' }, 502, 'neither'],
      ['POST', '/_sandbox/purchases/NOPE/pay', undefined, 404, 'no purchase'],
      ['POST', '/_sandbox/purchases/ABC_20001/pay', undefined, 409, 'only pending'],
      ['PATCH', '/_sandbox/purchases/NOPE', {}, 404, 'no purchase'],
      ['PATCH', '/_sandbox/purchases/ABC_12345', [1], 400, 'object'],
      ['GET', '/_sandbox/purchases/NOPE', undefined, 404, 'no purchase'],
      ['GET', '/_sandbox/purchases/%E0%A4%A', undefined, 400, 'percent-encoding'],
      ['DELETE', '/_sandbox/purchases', undefined, 405, 'GET or POST'],
      ['GET', '/_sandbox/nothing', undefined, 404, 'no sandbox control'],
    ];
    for (const [method, path, body, status, message] of cases) {
      const raw = typeof body === 'string';
      const res = await send(`${sim.url}${path}`, body, { method, raw });
      expect(res.status, `${method} ${path}`).toBe(status);
      expect((res.json as { error: string }).error, `${method} ${path}`).toContain(message);
    }
  });
});
