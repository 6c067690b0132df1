import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CollectBatchDocument,
  CreateCollectBatchDocument,
  CreateCollectBatchErrorsOnlyDocument,
} from './generated/graphql.js';
import { isoDateInDays, startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';

const SAMPLE_STATUS_BATCH = '5743fcb263686923fc0d0000';
/** Chillr batch ids are MongoDB ObjectIds (24 hex digits, a timestamp first). */
const OBJECT_ID = /^[0-9a-f]{24}$/;

describe('Chillr mass collect over GraphQL', () => {
  let app: TestApp;
  const chillr = () => app.sandbox.chillr!;
  const sampleInput = () => ({
    name: 'Electricity bill',
    expiryDate: isoDateInDays(30),
    customers: [
      { msisdn: '9447741462', amount: '200' },
      { msisdn: '9633789451', amount: '600' },
    ],
  });

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });
  beforeEach(() => chillr().resetCalls());

  it("should round-trip the document's create sample", async () => {
    const result = await app.gql(CreateCollectBatchDocument, { input: sampleInput() });
    expect(result.errors).toBeUndefined();
    const payload = result.data!.createCollectBatch;
    expect(payload.userErrors).toEqual([]);
    expect(payload.nonChillrCustomers).toEqual(['9633789451']);
    expect(payload.batch?.id).toMatch(OBJECT_ID);
    expect(payload.batch?.name).toBe('Electricity bill');
    expect(payload.batch?.status).toBe('ACTIVE');
    expect(payload.batch?.payments).toEqual([
      expect.objectContaining({
        msisdn: '9447741462',
        status: 'PENDING',
        amount: { amount: '200.00', currency: 'INR' },
      }),
      expect.objectContaining({
        msisdn: '9633789451',
        status: 'NOT_GENERATED',
        amount: { amount: '600.00', currency: 'INR' },
      }),
    ]);
    expect(payload.batch?.summary).toMatchObject({
      total: 2,
      pending: 1,
      notGenerated: 1,
      amountRequested: { amount: '200.00', currency: 'INR' },
      amountPaid: { amount: '0.00', currency: 'INR' },
    });
    expect(chillr().calls.collect).toBe(1);
  });

  it("should read the document's status sample as an EXPIRED batch", async () => {
    const result = await app.gql(CollectBatchDocument, { id: SAMPLE_STATUS_BATCH });
    expect(result.errors).toBeUndefined();
    const batch = result.data!.collectBatch!;
    expect(batch.status).toBe('EXPIRED');
    expect(batch.rawStatus).toBe('expired');
    expect(batch.nonChillrCustomers).toEqual(['9633789451']);
    expect(batch.payments).toEqual([
      expect.objectContaining({
        msisdn: '9447741462',
        status: 'EXPIRED',
        transactionId: '614410700416',
      }),
      expect.objectContaining({
        msisdn: '9633789451',
        status: 'NOT_GENERATED',
        message: 'Transaction not generated',
        transactionId: null,
      }),
    ]);
    expect(batch.summary).toMatchObject({
      total: 2,
      expired: 1,
      notGenerated: 1,
      amountRequested: null,
    });
  });

  it('should resolve an unknown batch id to null without an error', async () => {
    const result = await app.gql(CollectBatchDocument, { id: 'ffffffffffffffffffffffff' });
    expect(result.errors).toBeUndefined();
    expect(result.data!.collectBatch).toBeNull();
    const malformed = await app.gql(CollectBatchDocument, { id: 'not-a-batch' });
    expect(malformed.errors).toBeUndefined();
    expect(malformed.data!.collectBatch).toBeNull();
  });

  it('should make one status call per distinct batch id however many aliases ask', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
        input: { ...sampleInput(), name: `dedupe ${i}` },
      });
      ids.push(created.data!.createCollectBatch.batch!.id);
    }
    chillr().resetCalls();
    const fields = Array.from(
      { length: 20 },
      (_, i) => `a${i}: collectBatch(id: "${ids[i % 3]}") { id status summary { total } }`,
    );
    const result = await app.raw(`{ ${fields.join('\n')} }`);
    expect(result.json.errors).toBeUndefined();
    expect(Object.keys(result.json.data!)).toHaveLength(20);
    expect(chillr().calls.checkCollectStatus).toBe(3);
    expect([...chillr().calls.byBatchId.keys()].sort()).toEqual([...ids].sort());
  });

  it('should serve a terminal batch from the cache on later requests', async () => {
    const created = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
      input: { ...sampleInput(), name: 'to expire' },
    });
    const id = created.data!.createCollectBatch.batch!.id;
    chillr().expireBatch(id);
    chillr().resetCalls();
    const first = await app.gql(CollectBatchDocument, { id });
    expect(first.data!.collectBatch!.status).toBe('EXPIRED');
    expect(chillr().calls.checkCollectStatus).toBe(1);
    chillr().resetCalls();
    const again = await app.gql(CollectBatchDocument, { id });
    expect(again.data!.collectBatch!.status).toBe('EXPIRED');
    expect(again.data!.collectBatch!.summary.expired).toBe(1);
    expect(chillr().calls.checkCollectStatus).toBe(0);
  });

  it('should show amounts paid once Chillr reports payments', async () => {
    const created = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
      input: {
        name: 'Water bill',
        expiryDate: isoDateInDays(10),
        customers: [
          { msisdn: '+91 94477 41462', amount: '150.50' },
          { msisdn: '09876543210', amount: '49.50' },
          { msisdn: '919123456780', amount: '10' },
        ],
      },
    });
    const id = created.data!.createCollectBatch.batch!.id;
    chillr().setPaymentStatus(id, '9447741462', 'paid');
    chillr().setPaymentStatus(id, '9876543210', 'failed');
    const result = await app.gql(CollectBatchDocument, { id });
    const batch = result.data!.collectBatch!;
    expect(batch.summary).toMatchObject({
      total: 3,
      paid: 1,
      failed: 1,
      pending: 1,
      amountRequested: { amount: '210.00', currency: 'INR' },
      amountPaid: { amount: '150.50', currency: 'INR' },
    });
    chillr().setPaymentStatus(id, '9123456780', 'paid');
    const done = await app.gql(CollectBatchDocument, { id });
    expect(done.data!.collectBatch!.status).toBe('COMPLETED');
    expect(done.data!.collectBatch!.summary.amountPaid).toEqual({
      amount: '160.50',
      currency: 'INR',
    });
  });

  it('should make 5 upstream calls for 50 _entities representations over 5 ids', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
        input: { ...sampleInput(), name: `entity ${i}` },
      });
      ids.push(created.data!.createCollectBatch.batch!.id);
    }
    chillr().resetCalls();
    const representations = Array.from({ length: 50 }, (_, i) => ({
      __typename: 'CollectBatch',
      id: ids[i % 5],
    }));
    const result = await app.raw(
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on CollectBatch { id status name } } }',
      { r: representations },
    );
    expect(result.json.errors).toBeUndefined();
    const entities = (result.json.data as { _entities: Array<{ id: string; name: string }> })
      ._entities;
    expect(entities).toHaveLength(50);
    expect(entities[7]).toMatchObject({ id: ids[2], name: 'entity 2' });
    expect(chillr().calls.checkCollectStatus).toBe(5);
  });

  it('should fail only the batch whose upstream call fails, not its siblings', async () => {
    chillr().injectFault({ endpoint: 'check_collect_status', kind: 'garbage', times: 1 });
    const result = await app.raw(
      `{ a: collectBatch(id: "${SAMPLE_STATUS_BATCH}") { id } b: collectBatch(id: "aaaaaaaaaaaaaaaaaaaaaaaa") { id } }`,
    );
    const data = result.json.data as Record<string, unknown>;
    expect(result.json.errors).toHaveLength(1);
    expect(result.json.errors![0]!.extensions!.code).toBe('UPSTREAM_BAD_RESPONSE');
    const failed = result.json.errors![0]!.path![0] as string;
    expect(data[failed]).toBeNull();
    const other = failed === 'a' ? 'b' : 'a';
    expect(other === 'a' ? data.a : data.b).toEqual(
      other === 'a' ? { id: SAMPLE_STATUS_BATCH } : null,
    );
  });

  it('should map Chillr infrastructure failures to error codes', async () => {
    // 59 is an answer, not a transport failure: it is not retried, so one fault is enough.
    chillr().injectFault({
      endpoint: 'check_collect_status',
      kind: 'status',
      statusCode: 59,
      times: 1,
    });
    const internal = await app.gql(CollectBatchDocument, { id: 'bbbbbbbbbbbbbbbbbbbbbbbb' });
    expect(internal.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');

    chillr().injectFault({
      endpoint: 'check_collect_status',
      kind: 'status',
      statusCode: 56,
      times: 1,
    });
    const auth = await app.gql(CollectBatchDocument, { id: 'bbbbbbbbbbbbbbbbbbbbbbbb' });
    expect(auth.errors?.[0]?.extensions?.code).toBe('UPSTREAM_AUTH');

    chillr().injectFault({ endpoint: 'check_collect_status', kind: 'http500', times: 3 });
    const down = await app.gql(CollectBatchDocument, { id: 'bbbbbbbbbbbbbbbbbbbbbbbb' });
    expect(down.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('should retry a failed status check but never a create', async () => {
    const created = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
      input: { ...sampleInput(), name: 'retry' },
    });
    chillr().resetCalls();
    chillr().injectFault({ endpoint: 'check_collect_status', kind: 'http500', times: 1 });
    const read = await app.gql(CollectBatchDocument, {
      id: created.data!.createCollectBatch.batch!.id,
    });
    expect(read.errors).toBeUndefined();
    expect(read.data!.collectBatch!.status).toBe('ACTIVE');
    expect(chillr().calls.checkCollectStatus).toBe(2);

    chillr().resetCalls();
    chillr().injectFault({ endpoint: 'collect', kind: 'http500', times: 1 });
    const refused = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input: sampleInput() });
    // A 500 after the request was sent: Chillr may have created the batch.
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_OUTCOME_UNKNOWN',
      upstreamFailure: 'UPSTREAM_UNAVAILABLE',
    });
    expect(chillr().calls.collect).toBe(1);
  });

  it('should report a create Chillr was too slow to answer as UPSTREAM_OUTCOME_UNKNOWN', async () => {
    chillr().injectFault({ endpoint: 'collect', kind: 'delay', ms: 5000, times: 1 });
    const created = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input: sampleInput() });
    expect(created.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_OUTCOME_UNKNOWN',
      upstreamFailure: 'UPSTREAM_TIMEOUT',
    });
    expect(created.data?.createCollectBatch ?? null).toBeNull();
  });

  describe('input validation', () => {
    const cases: Array<[string, Record<string, unknown>, string[]]> = [
      [
        'a malformed msisdn',
        { customers: [{ msisdn: '12345', amount: '10' }] },
        ['customers', '0', 'msisdn'],
      ],
      [
        'amount 0',
        { customers: [{ msisdn: '9447741462', amount: '0' }] },
        ['customers', '0', 'amount'],
      ],
      [
        'amount 2.345',
        { customers: [{ msisdn: '9447741462', amount: '2.345' }] },
        ['customers', '0', 'amount'],
      ],
      [
        'a negative amount',
        { customers: [{ msisdn: '9447741462', amount: '-5' }] },
        ['customers', '0', 'amount'],
      ],
      ['the date 2026-13-01', { expiryDate: '2026-13-01' }, ['expiryDate']],
      ['a date in the past', { expiryDate: '2020-01-01' }, ['expiryDate']],
      ['an empty name', { name: '  ' }, ['name']],
      [
        'duplicate numbers',
        {
          customers: [
            { msisdn: '9447741462', amount: '10' },
            { msisdn: '+919447741462', amount: '20' },
          ],
        },
        ['customers', '1', 'msisdn'],
      ],
      ['an empty customer list', { customers: [] }, ['customers']],
      [
        'too many customers',
        {
          customers: Array.from({ length: 1001 }, (_, i) => ({
            msisdn: `9${String(100000000 + i)}`,
            amount: '1',
          })),
        },
        ['customers'],
      ],
    ];
    for (const [what, override, field] of cases) {
      it(`should refuse ${what} with a userError at ${field.join('.')} and no upstream call`, async () => {
        const result = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
          input: { ...sampleInput(), ...override } as never,
        });
        expect(result.errors).toBeUndefined();
        const payload = result.data!.createCollectBatch;
        expect(payload.batch).toBeNull();
        expect(payload.userErrors).toContainEqual(
          expect.objectContaining({ code: 'INVALID_INPUT', field }),
        );
        expect(payload.userErrors.every((e) => e.message.length > 10)).toBe(true);
        expect(chillr().calls.collect).toBe(0);
      });
    }

    it('should report every bad row at once', async () => {
      const result = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
        input: {
          ...sampleInput(),
          customers: [
            { msisdn: 'abc', amount: '10' },
            { msisdn: '9447741462', amount: '1.001' },
          ],
        },
      });
      expect(result.data!.createCollectBatch.userErrors.map((e) => e.field)).toEqual([
        ['customers', '0', 'msisdn'],
        ['customers', '1', 'amount'],
      ]);
    });

    it('should refuse a float literal for a Decimal as a GraphQL error', async () => {
      const result = await app.raw(
        'mutation { createCollectBatch(input: { name: "x", expiryDate: "2030-01-01", customers: [{ msisdn: "9447741462", amount: 2.5 }] }) { batch { id } } }',
      );
      expect(result.json.errors?.[0]?.message).toMatch(/Decimal must be a string/);
      expect(chillr().calls.collect).toBe(0);
    });
  });

  describe("Chillr's own refusals", () => {
    it('should map "None of the customers are Chillr users" to NO_CHILLR_USERS', async () => {
      const result = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
        input: { ...sampleInput(), customers: [{ msisdn: '9633789451', amount: '600' }] },
      });
      expect(result.data!.createCollectBatch.userErrors).toEqual([
        expect.objectContaining({ code: 'NO_CHILLR_USERS', field: ['customers'] }),
      ]);
      expect(result.data!.createCollectBatch.batch).toBeNull();
      expect(chillr().calls.collect).toBe(1);
    });

    it('should map code 58 reasons to userErrors with field paths', async () => {
      chillr().injectFault({ endpoint: 'collect', kind: 'status', statusCode: 58, times: 1 });
      const result = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input: sampleInput() });
      expect(result.data!.createCollectBatch.userErrors[0]).toMatchObject({
        code: 'INVALID_INPUT',
      });
    });

    it('should map codes 50, 51, 56 and 57 to UPSTREAM_AUTH', async () => {
      for (const code of [50, 51, 56, 57]) {
        chillr().injectFault({ endpoint: 'collect', kind: 'status', statusCode: code, times: 1 });
        const result = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
          input: sampleInput(),
        });
        expect(result.errors?.[0]?.extensions?.code).toBe('UPSTREAM_AUTH');
        expect(result.errors?.[0]?.message).not.toContain(TEST_SECRETS.CHILLR_API_KEY);
      }
    });

    it('should map content codes 52-55 to userErrors', async () => {
      for (const [code, field] of [
        [52, ['name']],
        [53, ['expiryDate']],
        [54, ['customers']],
        [55, ['expiryDate']],
      ] as const) {
        chillr().injectFault({ endpoint: 'collect', kind: 'status', statusCode: code, times: 1 });
        const result = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
          input: sampleInput(),
        });
        expect(result.data!.createCollectBatch.userErrors).toEqual([
          expect.objectContaining({ code: 'INVALID_INPUT', field }),
        ]);
      }
    });
  });

  describe('idempotency', () => {
    it('should create once for the same key twice and return the first result', async () => {
      const input = { ...sampleInput(), name: 'idem once', idempotencyKey: 'key-once' };
      const first = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input });
      const second = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input });
      expect(second.data).toEqual(first.data);
      expect(first.data!.createCollectBatch.batch?.id).toBeTruthy();
      expect(chillr().calls.collect).toBe(1);
    });

    it('should treat a normalised-equal input as the same request', async () => {
      const input = { ...sampleInput(), name: 'idem normalised', idempotencyKey: 'key-normalised' };
      const first = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input });
      const second = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
        input: {
          ...input,
          customers: [
            { msisdn: '+91 9447741462', amount: '200.00' },
            { msisdn: '09633789451', amount: '600.0' },
          ],
        },
      });
      expect(second.data).toEqual(first.data);
      expect(chillr().calls.collect).toBe(1);
    });

    it('should refuse the same key with another input as IDEMPOTENCY_KEY_REUSED', async () => {
      const input = { ...sampleInput(), name: 'idem reuse', idempotencyKey: 'key-reuse' };
      await app.gql(CreateCollectBatchErrorsOnlyDocument, { input });
      const other = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
        input: { ...input, name: 'something else' },
      });
      expect(other.data!.createCollectBatch.batch).toBeNull();
      expect(other.data!.createCollectBatch.userErrors).toEqual([
        expect.objectContaining({ code: 'IDEMPOTENCY_KEY_REUSED', field: ['idempotencyKey'] }),
      ]);
      expect(chillr().calls.collect).toBe(1);
    });

    it('should make one upstream create for 20 concurrent identical requests', async () => {
      const input = { ...sampleInput(), name: 'idem concurrent', idempotencyKey: 'key-concurrent' };
      const results = await Promise.all(
        Array.from({ length: 20 }, () => app.gql(CreateCollectBatchErrorsOnlyDocument, { input })),
      );
      const ids = new Set(results.map((r) => r.data!.createCollectBatch.batch?.id));
      expect(ids.size).toBe(1);
      expect([...ids][0]).toBeTruthy();
      expect(chillr().calls.collect).toBe(1);
    });

    it('should not remember a locally invalid request under its key', async () => {
      const input = { ...sampleInput(), name: 'idem fix', idempotencyKey: 'key-fix' };
      const bad = await app.gql(CreateCollectBatchErrorsOnlyDocument, {
        input: { ...input, expiryDate: '2026-02-30' },
      });
      expect(bad.data!.createCollectBatch.userErrors[0]!.field).toEqual(['expiryDate']);
      const good = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input });
      expect(good.data!.createCollectBatch.batch?.id).toBeTruthy();
      expect(chillr().calls.collect).toBe(1);
    });

    it('should replay a timed-out create as the same error instead of creating again', async () => {
      chillr().injectFault({ endpoint: 'collect', kind: 'delay', ms: 5000, times: 1 });
      const input = { ...sampleInput(), name: 'idem timeout', idempotencyKey: 'key-timeout' };
      const first = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input });
      expect(first.errors?.[0]?.extensions?.code).toBe('UPSTREAM_OUTCOME_UNKNOWN');
      // Chillr has no lookup: an unknown create stays unknown for the key's lifetime.
      const again = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input });
      expect(again.errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_OUTCOME_UNKNOWN',
        upstreamFailure: 'UPSTREAM_TIMEOUT',
      });
      expect(again.errors?.[0]?.message).toMatch(/Replayed/);
      expect(chillr().calls.collect).toBe(1);
    });

    it('should let a key be retried after a failure that certainly created nothing', async () => {
      chillr().injectFault({ endpoint: 'collect', kind: 'status', statusCode: 56, times: 1 });
      const input = { ...sampleInput(), name: 'idem auth', idempotencyKey: 'key-auth' };
      const first = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input });
      expect(first.errors?.[0]?.extensions?.code).toBe('UPSTREAM_AUTH');
      const again = await app.gql(CreateCollectBatchErrorsOnlyDocument, { input });
      expect(again.data!.createCollectBatch.batch?.id).toBeTruthy();
      expect(chillr().calls.collect).toBe(2);
    });
  });

  it('should never put the configured credentials in a response or a log line', async () => {
    // Everything above has run against this app; check its whole log and a fresh response.
    const result = await app.gql(CollectBatchDocument, { id: SAMPLE_STATUS_BATCH });
    for (const secret of Object.values(TEST_SECRETS)) {
      expect(result.body).not.toContain(secret);
      expect(app.logs.length).toBeGreaterThan(10);
      expect(app.logs.filter((line) => line.includes(secret))).toEqual([]);
    }
  });
});
