import { connect } from 'node:net';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  SANDBOX_CHILLR_CREDENTIALS,
  startChillrSimulator,
  type ChillrSimulator,
} from '../src/sandbox/chillr/index.js';

const CREDS = {
  api_key: SANDBOX_CHILLR_CREDENTIALS.apiKey,
  api_secret_key: SANDBOX_CHILLR_CREDENTIALS.apiSecretKey,
};
const COLLECT = '/api/v5/collect';
const STATUS = '/api/v5/check_collect_status';
const SAMPLE_BATCH = '5743fcb263686923fc0d0000';

/** Verbatim from upstream/chillr-mass-collect.md. */
const SAMPLE_CREATE_REQUEST = {
  api_key: '5695d71a6368690df2030000',
  api_secret_key: 'f333884a36ccfc54787e6d96eac5e3d3',
  name: 'Electricity bill',
  expiry_date: '27-05-2016',
  customers: [
    { msisdn: '9447741462', amount: '200' },
    { msisdn: '9633789451', amount: '600' },
  ],
};

/** 20 May 2026, noon in Kolkata; tests move it to probe expiry. */
const NOON_IST = Date.parse('2026-05-20T12:00:00+05:30');

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // Tests read arbitrary paths of upstream JSON; `any` keeps those reads short.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

async function call(
  sim: ChillrSimulator,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
  if (body !== undefined) {
    init.body =
      typeof body === 'string' || body instanceof Uint8Array
        ? (body as RequestInit['body'])
        : JSON.stringify(body);
  }
  const res = await fetch(sim.url + path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const post = (sim: ChillrSimulator, path: string, body?: unknown): Promise<Reply> =>
  call(sim, 'POST', path, body);

function batchRequest(customers: unknown[], overrides: Record<string, unknown> = {}) {
  return { ...CREDS, name: 'Water bill', expiry_date: '31-05-2026', customers, ...overrides };
}

async function createBatch(sim: ChillrSimulator, customers: unknown[]): Promise<string> {
  const reply = await post(sim, COLLECT, batchRequest(customers));
  expect(reply.json.status, reply.text).toBe('success');
  return reply.json.data.batch_id as string;
}

async function status(sim: ChillrSimulator, batchId: string): Promise<Reply> {
  return post(sim, STATUS, { ...CREDS, batch_id: batchId });
}

describe('Chillr sandbox: the document samples', () => {
  let sim: ChillrSimulator;
  beforeAll(async () => {
    sim = await startChillrSimulator({ now: () => new Date(NOON_IST) });
  });
  afterAll(() => sim.close());

  it('should answer the sample create request like the document, with an ObjectId', async () => {
    const reply = await post(sim, COLLECT, SAMPLE_CREATE_REQUEST);
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({
      status: 'success',
      status_code: 0,
      message: 'Collect batch creation accepted',
      data: {
        batch_id: expect.stringMatching(/^[0-9a-f]{24}$/),
        non_chillr_customers: ['9633789451'],
      },
    });
  });

  it('should mint time-ordered ObjectIds: the clock in the first 8 hex digits, then increasing', async () => {
    const first = await createBatch(sim, [{ msisdn: '9447741462', amount: '1' }]);
    const second = await createBatch(sim, [{ msisdn: '9447741462', amount: '1' }]);
    const seconds = Math.floor(NOON_IST / 1000)
      .toString(16)
      .padStart(8, '0');
    expect(first.slice(0, 8)).toBe(seconds);
    expect(second.slice(0, 8)).toBe(seconds);
    expect(second.slice(8, 18)).toBe(first.slice(8, 18));
    expect(BigInt(`0x${second}`)).toBe(BigInt(`0x${first}`) + 1n);
  });

  it('should mint ids no other simulator (another run) mints', async () => {
    const other = await startChillrSimulator({ now: () => new Date(NOON_IST) });
    try {
      const ours = await createBatch(sim, [{ msisdn: '9447741462', amount: '1' }]);
      const theirs = await createBatch(other, [{ msisdn: '9447741462', amount: '1' }]);
      expect(theirs).not.toBe(ours);
      expect(theirs.slice(8, 18)).not.toBe(ours.slice(8, 18));
    } finally {
      await other.close();
    }
  });

  it('should answer the sample status request like the document, as valid JSON', async () => {
    const reply = await post(sim, STATUS, {
      api_key: '5695d71a6368690df2030000',
      api_secret_key: 'f333884a36ccfc54787e6d96eac5e3d3',
      batch_id: SAMPLE_BATCH,
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.json).toEqual({
      status: 'success',
      status_code: 0,
      data: {
        batch_id: SAMPLE_BATCH,
        batch_status: 'expired',
        customers: [
          { msisdn: '9447741462', payment_status: 'expired', transaction_id: '614410700416' },
          { msisdn: '9633789451', message: 'Transaction not generated' },
          { non_chillr_customers: ['9633789451'] },
        ],
      },
    });
  });

  it('should give Chillr users 12-digit transaction ids and pending payments', async () => {
    const batchId = await createBatch(sim, [
      { msisdn: '9000000002', amount: '10' },
      { msisdn: '9000000003', amount: '20.50' },
    ]);
    const reply = await status(sim, batchId);
    expect(reply.json.data.batch_status).toBe('active');
    const [first, second, tail] = reply.json.data.customers;
    expect(first).toEqual({
      msisdn: '9000000002',
      payment_status: 'pending',
      transaction_id: expect.stringMatching(/^\d{12}$/),
    });
    expect(second.transaction_id).not.toBe(first.transaction_id);
    expect(tail).toEqual({ non_chillr_customers: [] });
  });

  it('should normalise +91, 91 and 0 prefixes to 10 digits', async () => {
    const reply = await post(
      sim,
      COLLECT,
      batchRequest([
        { msisdn: '+919447741462', amount: '1' },
        { msisdn: '919633789451', amount: '1' },
        { msisdn: '09000000002', amount: '1' },
        { msisdn: '9100000002', amount: '1' },
      ]),
    );
    expect(reply.json.data.non_chillr_customers).toEqual(['9633789451']);
    const customers = (await status(sim, reply.json.data.batch_id)).json.data.customers;
    expect(customers.map((c: { msisdn?: string }) => c.msisdn)).toEqual([
      '9447741462',
      '9633789451',
      '9000000002',
      '9100000002',
      undefined,
    ]);
  });

  it('should not seed the sample batch when seed is false', async () => {
    const bare = await startChillrSimulator({ seed: false });
    try {
      expect((await status(bare, SAMPLE_BATCH)).json.status_code).toBe(62);
    } finally {
      await bare.close();
    }
  });

  it('should accept only the configured credentials', async () => {
    const own = await startChillrSimulator({ credentials: { apiKey: 'k1', apiSecretKey: 's1' } });
    try {
      const ok = await post(own, STATUS, { api_key: 'k1', api_secret_key: 's1', batch_id: 'x' });
      expect(ok.json.status_code).toBe(61);
      expect((await post(own, STATUS, { ...CREDS, batch_id: 'x' })).json.status_code).toBe(57);
    } finally {
      await own.close();
    }
  });
});

describe('Chillr sandbox: failure codes', () => {
  let sim: ChillrSimulator;
  beforeAll(async () => {
    sim = await startChillrSimulator({ now: () => new Date(NOON_IST) });
  });
  afterAll(() => sim.close());

  const good = [
    { msisdn: '9447741462', amount: '200' },
    { msisdn: '9633789451', amount: '600' },
  ];
  const without = (key: string) => {
    const body: Record<string, unknown> = batchRequest(good);
    delete body[key];
    return body;
  };

  it.each([
    ['api_key missing', 50, without('api_key')],
    ['api_key blank', 50, batchRequest(good, { api_key: '' })],
    ['api_secret_key missing', 51, without('api_secret_key')],
    ['both keys missing (50 first)', 50, { name: 'x' }],
    ['unknown api_key', 57, batchRequest(good, { api_key: 'nope' })],
    [
      'unknown api_key and wrong secret (57 first)',
      57,
      { ...without('name'), api_key: 'n', api_secret_key: 'n' },
    ],
    ['wrong api_secret_key', 56, batchRequest(good, { api_secret_key: 'nope' })],
    ['name missing', 52, without('name')],
    ['expiry_date missing', 53, without('expiry_date')],
    ['customers missing', 54, without('customers')],
    ['customers empty', 54, batchRequest([])],
    ['expiry_date as ISO', 55, batchRequest(good, { expiry_date: '2026-05-31' })],
    ['expiry_date 31 February', 55, batchRequest(good, { expiry_date: '31-02-2026' })],
    [
      'expiry_date 29 February of a common year',
      55,
      batchRequest(good, { expiry_date: '29-02-2025' }),
    ],
    ['expiry_date without leading zeros', 55, batchRequest(good, { expiry_date: '1-6-2026' })],
  ])('should answer %s with failure code %i', async (_label, code, body) => {
    const reply = await post(sim, COLLECT, body);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ status: 'failure', status_code: code });
    expect(reply.json.message).toEqual(expect.any(String));
  });

  it('should accept 29 February of a leap year', async () => {
    const reply = await post(sim, COLLECT, batchRequest(good, { expiry_date: '29-02-2028' }));
    expect(reply.json.status).toBe('success');
  });

  it('should answer a customer without msisdn exactly like the document sample', async () => {
    const reply = await post(sim, COLLECT, batchRequest([good[0], { amount: '600' }]));
    expect(reply.json).toEqual({
      status: 'failure',
      status_code: 58,
      message: 'Failed to create batch',
      data: { reason: ['customer 2 : mobile number is not present'] },
    });
  });

  it('should give one 1-based reason per bad customer', async () => {
    const reply = await post(
      sim,
      COLLECT,
      batchRequest([
        { msisdn: '9447741462', amount: 'abc' },
        { msisdn: '9447741472', amount: '10' },
        { msisdn: '12345', amount: '10' },
        { msisdn: '9447741482', amount: '0' },
        { msisdn: '9447741492', amount: '1.234' },
        { msisdn: '9447741402', amount: 200 },
        { msisdn: '9447741412' },
        null,
        { msisdn: '9447741462', amount: '5' },
      ]),
    );
    expect(reply.json.status_code).toBe(58);
    expect(reply.json.data.reason).toEqual([
      'customer 1 : amount is invalid',
      'customer 3 : mobile number is invalid',
      'customer 4 : amount is invalid',
      'customer 5 : amount is invalid',
      'customer 6 : amount is invalid',
      'customer 7 : amount is not present',
      'customer 8 : customer details are invalid',
      'customer 9 : mobile number is repeated',
    ]);
  });

  it('should refuse a batch in which nobody is a Chillr user like the document sample', async () => {
    const reply = await post(sim, COLLECT, batchRequest([{ msisdn: '9633789451', amount: '6' }]));
    expect(reply.json).toEqual({
      status: 'failure',
      status_code: 58,
      message: 'Failed to create batch',
      data: { reason: ['None of the customers are Chillr users.'] },
    });
  });

  it('should answer a body that is not JSON with 58 and a reason', async () => {
    for (const path of [COLLECT, STATUS]) {
      const reply = await post(sim, path, 'api_key=1&api_secret_key=2');
      expect(reply.status).toBe(200);
      expect(reply.json.status_code).toBe(58);
      expect(reply.json.data.reason).toEqual(['request body is not valid JSON']);
    }
  });

  it.each([
    ['api_key missing', 50, { api_secret_key: 'x', batch_id: SAMPLE_BATCH }],
    ['api_secret_key missing', 51, { api_key: CREDS.api_key, batch_id: SAMPLE_BATCH }],
    ['unknown api_key', 57, { ...CREDS, api_key: 'nope', batch_id: SAMPLE_BATCH }],
    ['wrong secret', 56, { ...CREDS, api_secret_key: 'nope', batch_id: SAMPLE_BATCH }],
    ['batch_id missing', 60, { ...CREDS }],
    ['batch_id that is not an id', 61, { ...CREDS, batch_id: 'batch-1' }],
    ['batch_id that is a number', 61, { ...CREDS, batch_id: 42 }],
    ['well-formed unknown batch_id', 62, { ...CREDS, batch_id: 'ffffffffffffffffffffffff' }],
  ])('should answer a status check with %s with failure code %i', async (_l, code, body) => {
    const reply = await post(sim, STATUS, body);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ status: 'failure', status_code: code });
  });

  it('should answer an unknown batch exactly like the document sample', async () => {
    const reply = await status(sim, '5743fcb263686923fc0dffff');
    expect(reply.json).toEqual({
      status: 'failure',
      status_code: 62,
      message: 'Batch not found error',
    });
  });

  it('should answer an id that is not an id with 61 "Batch not found"', async () => {
    expect((await status(sim, 'nope')).json).toEqual({
      status: 'failure',
      status_code: 61,
      message: 'Batch not found',
    });
  });
});

describe('Chillr sandbox: control API', () => {
  let sim: ChillrSimulator;
  let nowMs = NOON_IST;
  beforeAll(async () => {
    sim = await startChillrSimulator({ now: () => new Date(nowMs) });
  });
  afterAll(() => sim.close());

  const threeCustomers = [
    { msisdn: '9447741462', amount: '200' },
    { msisdn: '9633789451', amount: '600' },
    { msisdn: '9000000002', amount: '99.50' },
  ];

  it('should show a payment set paid, and complete the batch once all are settled', async () => {
    const batchId = await createBatch(sim, threeCustomers);
    const paid = await post(sim, `/_sandbox/batches/${batchId}/payments/9447741462`, {
      status: 'paid',
    });
    expect(paid.status).toBe(200);
    expect(paid.json.customers[0]).toMatchObject({ paymentStatus: 'paid', amount: '200' });

    let reply = await status(sim, batchId);
    expect(reply.json.data.batch_status).toBe('active');
    expect(reply.json.data.customers[0].payment_status).toBe('paid');
    expect(reply.json.data.customers[2].payment_status).toBe('pending');

    // A +91 form addresses the same customer.
    await post(sim, `/_sandbox/batches/${batchId}/payments/%2B919000000002`, { status: 'failed' });
    reply = await status(sim, batchId);
    expect(reply.json.data.batch_status).toBe('completed');
    expect(reply.json.data.customers[2].payment_status).toBe('failed');
  });

  it('should show the full internal state of a batch, amounts included', async () => {
    const batchId = await createBatch(sim, threeCustomers);
    const reply = await call(sim, 'GET', `/_sandbox/batches/${batchId}`);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      batchId,
      name: 'Water bill',
      expiryDate: '31-05-2026',
      expiresAt: '2026-05-31T18:30:00.000Z',
      batchStatus: 'active',
      customers: [
        { msisdn: '9447741462', amount: '200', chillrUser: true, paymentStatus: 'pending' },
        { msisdn: '9633789451', amount: '600', chillrUser: false, transactionId: null },
        { msisdn: '9000000002', amount: '99.50', chillrUser: true },
      ],
    });
    const all = await call(sim, 'GET', '/_sandbox/batches');
    expect(all.json.map((b: { batchId: string }) => b.batchId)).toContain(SAMPLE_BATCH);
  });

  it('should expire a batch on request, leaving settled payments as they are', async () => {
    const batchId = await createBatch(sim, threeCustomers);
    sim.setPaymentStatus(batchId, '9447741462', 'paid');
    const expired = await post(sim, `/_sandbox/batches/${batchId}/expire`);
    expect(expired.status).toBe(200);
    expect(expired.json.batchStatus).toBe('expired');
    const reply = await status(sim, batchId);
    expect(reply.json.data.batch_status).toBe('expired');
    expect(reply.json.data.customers[0].payment_status).toBe('paid');
    expect(reply.json.data.customers[2].payment_status).toBe('expired');
  });

  it('should expire a batch at the end of its expiry day in Kolkata', async () => {
    const batchId = await createBatch(sim, threeCustomers);
    nowMs = Date.parse('2026-05-31T23:59:59.999+05:30');
    expect((await status(sim, batchId)).json.data.batch_status).toBe('active');
    nowMs = Date.parse('2026-06-01T00:00:00+05:30');
    const reply = await status(sim, batchId);
    expect(reply.json.data.batch_status).toBe('expired');
    expect(reply.json.data.customers[0].payment_status).toBe('expired');
    nowMs = NOON_IST;
  });

  it('should expire a batch through the programmatic API', async () => {
    const batchId = await createBatch(sim, threeCustomers);
    sim.expireBatch(batchId);
    expect((await status(sim, batchId)).json.data.batch_status).toBe('expired');
  });

  it('should answer bad control requests with clear 400 and 404 messages', async () => {
    const batchId = await createBatch(sim, threeCustomers);
    const cases: [string, string, unknown, number, RegExp][] = [
      ['GET', '/_sandbox/batches/ffffffffffffffffffffffff', undefined, 404, /Unknown .*batch/],
      ['POST', '/_sandbox/batches/nope/expire', undefined, 404, /Unknown .*batch "nope"/],
      [
        'POST',
        `/_sandbox/batches/${batchId}/payments/9999999992`,
        { status: 'paid' },
        404,
        /no customer/,
      ],
      [
        'POST',
        `/_sandbox/batches/${batchId}/payments/9447741462`,
        { status: 'done' },
        400,
        /Invalid payment status/,
      ],
      [
        'POST',
        `/_sandbox/batches/${batchId}/payments/9447741462`,
        '"paid"',
        400,
        /Invalid payment status/,
      ],
      ['POST', `/_sandbox/batches/${batchId}/payments/9447741462`, '{nope', 400, /must be JSON/],
      [
        'POST',
        `/_sandbox/batches/${batchId}/payments/9633789451`,
        { status: 'paid' },
        400,
        /not a Chillr user/,
      ],
      [
        'POST',
        `/_sandbox/batches/${batchId}/payments/%E0%A4%A`,
        { status: 'paid' },
        400,
        /percent-encoding/,
      ],
      ['GET', '/_sandbox/nothing', undefined, 404, /No sandbox control route/],
      ['PUT', '/_sandbox/calls', undefined, 405, /not allowed/],
      ['POST', '/_sandbox/faults', { endpoint: 'collect', kind: 'boom' }, 400, /Invalid fault/],
      ['POST', '/_sandbox/faults', { endpoint: 'x', kind: 'http500' }, 400, /endpoint must be/],
      [
        'POST',
        '/_sandbox/faults',
        { endpoint: 'collect', kind: 'delay', ms: -1 },
        400,
        /ms must be/,
      ],
    ];
    for (const [method, path, body, code, message] of cases) {
      const reply = await call(sim, method, path, body);
      expect(reply.status, `${method} ${path}`).toBe(code);
      expect(reply.json.error, `${method} ${path}`).toMatch(message);
    }
  });

  it('should throw clear errors from the programmatic controls', async () => {
    const batchId = await createBatch(sim, threeCustomers);
    expect(() => sim.setPaymentStatus('nope', '9447741462', 'paid')).toThrow(/Unknown .*"nope"/);
    expect(() => sim.setPaymentStatus(batchId, '9999999992', 'paid')).toThrow(/no customer/);
    expect(() => sim.setPaymentStatus(batchId, '9633789451', 'paid')).toThrow(/not a Chillr user/);
    expect(() => sim.expireBatch('nope')).toThrow(/Unknown/);
    expect(() =>
      // @ts-expect-error a fault shape the types forbid, as untyped callers could send
      sim.injectFault({ endpoint: 'collect', kind: 'status' }),
    ).toThrow(/statusCode/);
  });
});

describe('Chillr sandbox: faults', () => {
  let sim: ChillrSimulator;
  beforeAll(async () => {
    sim = await startChillrSimulator({ now: () => new Date(NOON_IST) });
  });
  afterAll(() => sim.close());

  it('should answer an injected 59 with the failure envelope, for the given number of calls', async () => {
    sim.injectFault({ endpoint: 'check_collect_status', kind: 'status', statusCode: 59, times: 2 });
    for (let i = 0; i < 2; i++) {
      const reply = await status(sim, SAMPLE_BATCH);
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({
        status: 'failure',
        status_code: 59,
        message: 'Internal server error',
      });
    }
    expect((await status(sim, SAMPLE_BATCH)).json.status).toBe('success');
  });

  it('should keep faults to the endpoint they were queued for', async () => {
    sim.injectFault({ endpoint: 'collect', kind: 'http500' });
    expect((await status(sim, SAMPLE_BATCH)).json.status).toBe('success');
    const reply = await post(sim, COLLECT, SAMPLE_CREATE_REQUEST);
    expect(reply.status).toBe(500);
    expect(reply.json).toBeUndefined();
  });

  it('should send garbage that is not JSON under a JSON content type', async () => {
    sim.injectFault({ endpoint: 'collect', kind: 'garbage' });
    const reply = await post(sim, COLLECT, SAMPLE_CREATE_REQUEST);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/json/);
    expect(() => JSON.parse(reply.text)).toThrow();
  });

  it('should delay a call and then answer it normally', async () => {
    sim.injectFault({ endpoint: 'check_collect_status', kind: 'delay', ms: 300 });
    const started = performance.now();
    const reply = await status(sim, SAMPLE_BATCH);
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(reply.json.status).toBe('success');
  });

  it('should take faults over HTTP and use them in the order queued', async () => {
    const queued = await post(sim, '/_sandbox/faults', {
      endpoint: 'collect',
      kind: 'status',
      statusCode: 57,
    });
    expect(queued.status).toBe(201);
    await post(sim, '/_sandbox/faults', { endpoint: 'collect', kind: 'http500' });
    expect((await call(sim, 'GET', '/_sandbox/faults')).json).toHaveLength(2);
    expect((await post(sim, COLLECT, SAMPLE_CREATE_REQUEST)).json.status_code).toBe(57);
    expect((await post(sim, COLLECT, SAMPLE_CREATE_REQUEST)).status).toBe(500);
    expect((await post(sim, COLLECT, SAMPLE_CREATE_REQUEST)).json.status).toBe('success');
  });

  it('should clear queued faults', async () => {
    sim.injectFault({ endpoint: 'collect', kind: 'http500', times: 5 });
    expect((await call(sim, 'DELETE', '/_sandbox/faults')).status).toBe(200);
    expect((await post(sim, COLLECT, SAMPLE_CREATE_REQUEST)).status).toBe(200);
  });

  it('should close promptly while a delayed call is waiting', async () => {
    const own = await startChillrSimulator();
    own.injectFault({ endpoint: 'collect', kind: 'delay', ms: 60_000 });
    const pending = post(own, COLLECT, SAMPLE_CREATE_REQUEST).catch((error: unknown) => error);
    // Counted as it arrives, just before its delay starts: the call is now held.
    await expect.poll(() => own.calls.collect).toBe(1);
    const started = performance.now();
    await own.close();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('Chillr sandbox: call counting', () => {
  let sim: ChillrSimulator;
  beforeAll(async () => {
    sim = await startChillrSimulator();
  });
  afterAll(() => sim.close());

  it('should count upstream calls per endpoint and per batch id, but not control calls', async () => {
    const calls = sim.calls;
    const batchId = await createBatch(sim, [{ msisdn: '9447741462', amount: '1' }]);
    await status(sim, batchId);
    await status(sim, batchId);
    await status(sim, SAMPLE_BATCH);
    await post(sim, STATUS, { ...CREDS });
    await call(sim, 'GET', `/_sandbox/batches/${batchId}`);
    await post(sim, `/_sandbox/batches/${batchId}/expire`);

    expect(calls.collect).toBe(1);
    expect(calls.checkCollectStatus).toBe(4);
    expect(calls.byBatchId).toEqual(
      new Map([
        [batchId, 2],
        [SAMPLE_BATCH, 1],
      ]),
    );
    expect((await call(sim, 'GET', '/_sandbox/calls')).json).toEqual({
      collect: 1,
      checkCollectStatus: 4,
      byBatchId: { [batchId]: 2, [SAMPLE_BATCH]: 1 },
    });

    sim.resetCalls();
    expect(calls).toEqual({ collect: 0, checkCollectStatus: 0, byBatchId: new Map() });
  });

  it('should count faulted calls and reset over HTTP', async () => {
    sim.injectFault({ endpoint: 'check_collect_status', kind: 'http500' });
    await status(sim, SAMPLE_BATCH);
    expect(sim.calls.byBatchId.get(SAMPLE_BATCH)).toBe(1);
    const reset = await call(sim, 'DELETE', '/_sandbox/calls');
    expect(reset.json).toEqual({ collect: 0, checkCollectStatus: 0, byBatchId: {} });
    expect(sim.calls.checkCollectStatus).toBe(0);
  });
});

describe('Chillr sandbox: junk input', () => {
  let sim: ChillrSimulator;
  beforeAll(async () => {
    sim = await startChillrSimulator();
  });
  afterAll(() => sim.close());

  it('should refuse other methods on the API paths with 405', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const reply = await call(sim, method, COLLECT);
      expect(reply.status).toBe(405);
      expect(reply.headers.get('allow')).toBe('POST');
    }
  });

  it('should answer unknown paths with 404', async () => {
    for (const path of ['/', '/api/v5/collect/', '/api/v4/collect', '/api/v5/collect2']) {
      expect((await post(sim, path, {})).status).toBe(404);
    }
  });

  it('should refuse bodies over 1 MiB with 413', async () => {
    const huge = JSON.stringify({ ...CREDS, pad: 'x'.repeat(1024 * 1024) });
    expect((await post(sim, COLLECT, huge)).status).toBe(413);
    expect((await post(sim, '/_sandbox/faults', huge)).status).toBe(413);
  });

  it('should answer any junk body with a failure envelope and keep running', async () => {
    const junk: unknown[] = [
      '',
      'null',
      '[]',
      '42',
      '"text"',
      '{"__proto__":{"api_key":"x"}}',
      new Uint8Array([0xff, 0xfe, 0x00, 0x81, 0x7b]),
      '['.repeat(100_000) + ']'.repeat(100_000),
      {
        ...CREDS,
        name: 7,
        expiry_date: '01-01-2030',
        customers: [{ msisdn: '9447741462', amount: '1' }],
      },
      { ...CREDS, name: 'x', expiry_date: 20300101, customers: [] },
      { ...CREDS, name: 'x', expiry_date: '01-01-2030', customers: { msisdn: '9447741462' } },
      { ...CREDS, name: 'x', expiry_date: '01-01-2030', customers: [null, 5, [], { msisdn: {} }] },
      { ...CREDS, name: 'x', expiry_date: '01-01-2030', customers: 'all' },
      { ...CREDS, batch_id: ['5743fcb263686923fc0d0000'] },
      { api_key: { $ne: null }, api_secret_key: true },
    ];
    for (const body of junk) {
      for (const path of [COLLECT, STATUS]) {
        const reply = await post(sim, path, body);
        expect(reply.status, String(body)).toBe(200);
        expect(reply.json.status, String(body)).toBe('failure');
        expect(reply.json.status_code, String(body)).toEqual(expect.any(Number));
      }
    }
  });

  it('should survive a malformed HTTP request', async () => {
    const { port } = new URL(sim.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('NOT HTTP\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect((await status(sim, SAMPLE_BATCH)).json.status).toBe('success');
  });
});
