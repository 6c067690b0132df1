import { describe, expect, it } from 'vitest';
import { ErrorCode, ServiceError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { buildQueryFields } from '../src/pbg/client.js';
import { parsePbgDate, parsePbgDateTime } from '../src/pbg/datetime.js';
import { parseMoneyString } from '../src/pbg/money.js';
import { formatMinor } from '../src/money.js';
import { readGroupPurchase, readPurchases } from '../src/pbg/parse.js';
import { GroupPurchaseStatus, statusFromWord, wordOfStatus } from '../src/pbg/types.js';

/** A logger whose lines land in `lines`, parsed. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  return { logger, lines, warnings: () => lines.filter((l) => l.level === 40) };
}

/** The document's example purchase, with every field the client reads. */
const WHITMARSH = {
  purchase_id: 'ABC_12345',
  pbg_purchase_id: 'PBG-100001',
  merchant_id: 'ABC',
  inventory_id: 'INV_WHITMARSH',
  status: 'pending',
  purchase_name: '1600 Whitmarsh Avenue',
  purchase_description: 'A house, booked as a group',
  purchase_link_url: 'https://merchant.example/stays/inv_whitmarsh',
  purchase_image_url: 'https://merchant.example/img/inv_whitmarsh.png',
  merchant_org_email: 'groups@merchant.example',
  purchase_cost: '1250.00 USD',
  num_people: 5,
  num_paid: 2,
  commit_deadline: '2026-05-27 23:59 PST',
  created_at: '2026-05-01 08:30 PST',
};

describe('PBG datetime', () => {
  it('should read "PST" literally as UTC-08:00 and "PDT" as UTC-07:00', () => {
    expect(parsePbgDateTime('2026-05-27 23:59 PST')).toBe('2026-05-27T23:59:00-08:00');
    expect(parsePbgDateTime('2026-05-27 23:59 PDT')).toBe('2026-05-27T23:59:00-07:00');
    // July is daylight time in California, but the label is what PBG wrote: read it as sent.
    expect(parsePbgDateTime('2026-07-04 12:00 PST')).toBe('2026-07-04T12:00:00-08:00');
  });

  it('should accept seconds, UTC/GMT and a numeric offset after the time', () => {
    expect(parsePbgDateTime('2026-05-27 23:59:30 PST')).toBe('2026-05-27T23:59:30-08:00');
    expect(parsePbgDateTime('2026-05-27 07:00 UTC')).toBe('2026-05-27T07:00:00+00:00');
    expect(parsePbgDateTime('2026-05-27 23:59:00 -0800')).toBe('2026-05-27T23:59:00-08:00');
  });

  it('should pass an ISO-8601 datetime with offset through, normalised', () => {
    expect(parsePbgDateTime('2026-05-27T23:59:00-08:00')).toBe('2026-05-27T23:59:00-08:00');
    expect(parsePbgDateTime('2026-05-27T23:59-0700')).toBe('2026-05-27T23:59:00-07:00');
    expect(parsePbgDateTime('2026-05-28T07:59:00Z')).toBe('2026-05-28T07:59:00+00:00');
    expect(parsePbgDateTime('2026-05-28T07:59:00.250+05:30')).toBe('2026-05-28T07:59:00.250+05:30');
  });

  it('should return null for an unknown zone label, no zone, or garbage', () => {
    for (const bad of [
      '2026-05-27 23:59 XYZ',
      '2026-05-27 23:59 EST',
      '2026-05-27 23:59',
      '2026-05-27T23:59:00',
      '2026-02-30 10:00 PST',
      '2026-05-27 24:00 PST',
      '2026-05-27 23:60 PST',
      '2026-05-27T23:59:00+19:00',
      '27-05-2026 23:59 PST',
      'tomorrow',
      '',
      1_780_000_000,
      null,
    ]) {
      expect(parsePbgDateTime(bad), String(bad)).toBeNull();
    }
  });

  it('should validate calendar dates', () => {
    expect(parsePbgDate('2026-05-27')).toBe('2026-05-27');
    expect(parsePbgDate('2028-02-29')).toBe('2028-02-29');
    expect(parsePbgDate('2026-02-29')).toBeNull();
    expect(parsePbgDate('2026-13-01')).toBeNull();
    expect(parsePbgDate('2026-5-27')).toBeNull();
    expect(parsePbgDate(20260527)).toBeNull();
  });
});

describe('PBG money', () => {
  it('should read "###.## USD" into an exact Money with two decimals', () => {
    expect(parseMoneyString('1250.00 USD')).toEqual({ amount: '1250.00', currency: 'USD' });
    expect(parseMoneyString('99.5 EUR')).toEqual({ amount: '99.50', currency: 'EUR' });
    expect(parseMoneyString('45 USD')).toEqual({ amount: '45.00', currency: 'USD' });
    expect(parseMoneyString('0.10 USD')).toEqual({ amount: '0.10', currency: 'USD' });
    expect(parseMoneyString('0012.5 USD')).toEqual({ amount: '12.50', currency: 'USD' });
    expect(parseMoneyString('000 USD')).toEqual({ amount: '0.00', currency: 'USD' });
    expect(parseMoneyString('999999999999.99 USD')).toEqual({
      amount: '999999999999.99',
      currency: 'USD',
    });
  });

  it('should write every amount as exact minor units would (formatMinor)', () => {
    for (const whole of ['0', '00', '7', '0070', '123456789012']) {
      for (const fraction of [undefined, '0', '5', '05', '99']) {
        const text = `${whole}${fraction === undefined ? '' : `.${fraction}`} USD`;
        const minor = BigInt(whole) * 100n + BigInt((fraction ?? '').padEnd(2, '0'));
        expect([text, parseMoneyString(text)?.amount]).toEqual([text, formatMinor(minor)]);
      }
    }
  });

  it('should return null for anything else', () => {
    for (const bad of [
      '1250.001 USD',
      '-5.00 USD',
      '1,250.00 USD',
      '1250.00 usd',
      '1250.00USD',
      '$1250.00',
      '1250.00 US',
      '1250.00',
      'twelve USD',
      1250,
      null,
    ]) {
      expect(parseMoneyString(bad), String(bad)).toBeNull();
    }
  });
});

describe('PBG status words', () => {
  it('should map every known word both ways and keep unknown words out', () => {
    const known: Array<[string, GroupPurchaseStatus]> = [
      ['pending', GroupPurchaseStatus.PENDING],
      ['collected', GroupPurchaseStatus.COLLECTED],
      ['payment_completed', GroupPurchaseStatus.PAYMENT_COMPLETED],
      ['expired', GroupPurchaseStatus.EXPIRED],
      ['cancelled', GroupPurchaseStatus.CANCELLED],
      ['refunded', GroupPurchaseStatus.REFUNDED],
      ['unavailable', GroupPurchaseStatus.UNAVAILABLE],
    ];
    for (const [word, status] of known) {
      expect(statusFromWord(word)).toBe(status);
      expect(wordOfStatus(status)).toBe(word);
    }
    expect(statusFromWord('canceled')).toBe(GroupPurchaseStatus.CANCELLED);
    expect(statusFromWord('Payment_Completed')).toBe(GroupPurchaseStatus.PAYMENT_COMPLETED);
    expect(statusFromWord('on_hold')).toBe(GroupPurchaseStatus.UNKNOWN);
    expect(wordOfStatus(GroupPurchaseStatus.UNKNOWN)).toBeUndefined();
  });

  it('should send only the filters given, in PBG field names', () => {
    expect(buildQueryFields({})).toEqual({ fields: {} });
    expect(
      buildQueryFields({
        merchantId: 'ABC',
        inventoryId: 'INV',
        purchaseId: 'ABC_1',
        createdAfter: '2026-01-01',
        createdBefore: '2026-02-01',
        status: [GroupPurchaseStatus.PENDING, GroupPurchaseStatus.CANCELLED],
      }),
    ).toEqual({
      fields: {
        merchant_id: 'ABC',
        inventory_id: 'INV',
        purchase_id: 'ABC_1',
        created_after: '2026-01-01',
        created_before: '2026-02-01',
        status: ['pending', 'cancelled'],
      },
    });
  });

  it('should filter UNKNOWN client-side, since no word can ask PBG for it', () => {
    const { fields, keepStatuses } = buildQueryFields({
      status: [GroupPurchaseStatus.UNKNOWN, GroupPurchaseStatus.PENDING],
    });
    expect(fields).toEqual({});
    expect([...(keepStatuses ?? [])].sort()).toEqual(['PENDING', 'UNKNOWN']);
  });

  it('should refuse a filter date that is not a calendar day, naming the field', () => {
    expect(() => buildQueryFields({ createdAfter: '2026-02-30' })).toThrow(
      expect.objectContaining({
        code: ErrorCode.BAD_USER_INPUT,
        message: expect.stringContaining('createdAfter'),
      }),
    );
  });
});

describe('PBG readPurchases', () => {
  it("should read the document's example purchase into domain fields, keeping every field", () => {
    const { logger, warnings } = capture();
    const [purchase] = readPurchases({ group_purchases: [WHITMARSH] }, logger);
    expect(purchase).toEqual({
      purchaseId: 'ABC_12345',
      merchantId: 'ABC',
      inventoryId: 'INV_WHITMARSH',
      status: GroupPurchaseStatus.PENDING,
      rawStatus: 'pending',
      name: '1600 Whitmarsh Avenue',
      description: 'A house, booked as a group',
      linkUrl: 'https://merchant.example/stays/inv_whitmarsh',
      imageUrl: 'https://merchant.example/img/inv_whitmarsh.png',
      merchantOrgEmail: 'groups@merchant.example',
      purchaseCost: { amount: '1250.00', currency: 'USD' },
      costPerPerson: null,
      numPeople: 5,
      commitDeadline: '2026-05-27T23:59:00-08:00',
      createdAt: '2026-05-01T08:30:00-08:00',
      attributes: WHITMARSH,
    });
    expect(warnings()).toEqual([]);
  });

  it('should read missing optional fields as null without a warning', () => {
    const { logger, warnings } = capture();
    const purchase = readGroupPurchase({ purchase_id: 'ABC_1', status: 'expired' }, logger);
    expect(purchase).toMatchObject({
      purchaseId: 'ABC_1',
      status: GroupPurchaseStatus.EXPIRED,
      merchantId: null,
      purchaseCost: null,
      numPeople: null,
      commitDeadline: null,
      attributes: { purchase_id: 'ABC_1', status: 'expired' },
    });
    expect(warnings()).toEqual([]);
  });

  it('should null each garbled field with a warning and still return the purchase', () => {
    const { logger, warnings } = capture();
    const garbled = {
      ...WHITMARSH,
      purchase_cost: 'twelve hundred',
      cost_per_person: 45,
      num_people: 2.5,
      commit_deadline: '2026-05-27 23:59 XYZ',
      created_at: 'yesterday',
      purchase_name: ['not', 'a', 'string'],
      merchant_org_email: 'organiser@private.example',
    };
    const purchases = readPurchases(
      { group_purchases: [garbled, { ...WHITMARSH, purchase_id: 'ABC_2' }] },
      logger,
    );
    expect(purchases.map((p) => p.purchaseId)).toEqual(['ABC_12345', 'ABC_2']);
    expect(purchases[0]).toMatchObject({
      status: GroupPurchaseStatus.PENDING,
      purchaseCost: null,
      costPerPerson: null,
      numPeople: null,
      commitDeadline: null,
      createdAt: null,
      name: null,
      merchantOrgEmail: 'organiser@private.example',
      inventoryId: 'INV_WHITMARSH',
      attributes: garbled,
    });
    const fields = warnings().map((w) => w.field);
    expect(fields.sort()).toEqual(
      [
        'commit_deadline',
        'cost_per_person',
        'created_at',
        'num_people',
        'purchase_cost',
        'purchase_name',
      ].sort(),
    );
    const deadline = warnings().find((w) => w.field === 'commit_deadline');
    expect(deadline).toMatchObject({
      purchaseId: 'ABC_12345',
      expected: expect.stringContaining('PST'),
      got: 'string "9999-99-99 99:99 AAA" (20 chars)',
    });
    // The shape is logged, never the value.
    expect(JSON.stringify(warnings())).not.toContain('twelve');
  });

  it('should read a string head count and refuse negative or fractional ones', () => {
    const { logger } = capture();
    const read = (n: unknown) =>
      readGroupPurchase({ purchase_id: 'P', num_people: n }, logger)?.numPeople;
    expect(read('7')).toBe(7);
    expect(read(0)).toBe(0);
    expect(read(-1)).toBeNull();
    expect(read('five')).toBeNull();
    expect(read(true)).toBeNull();
  });

  it('should keep an unknown status word as UNKNOWN with rawStatus', () => {
    const { logger, warnings } = capture();
    const purchase = readGroupPurchase({ purchase_id: 'P', status: 'on_hold' }, logger);
    expect(purchase).toMatchObject({ status: GroupPurchaseStatus.UNKNOWN, rawStatus: 'on_hold' });
    expect(warnings()).toEqual([]);
    const missing = readGroupPurchase({ purchase_id: 'Q' }, logger);
    expect(missing).toMatchObject({ status: GroupPurchaseStatus.UNKNOWN, rawStatus: '' });
    const numeric = readGroupPurchase({ purchase_id: 'R', status: 3 }, logger);
    expect(numeric).toMatchObject({ status: GroupPurchaseStatus.UNKNOWN, rawStatus: '3' });
    expect(warnings().map((w) => w.field)).toEqual(['status', 'status']);
  });

  it('should skip entries that are not objects or have no purchase_id, with a warning', () => {
    const { logger, warnings } = capture();
    const purchases = readPurchases(
      {
        group_purchases: [
          'ABC_1',
          null,
          [WHITMARSH],
          { status: 'pending' },
          { purchase_id: 42 },
          { purchase_id: '  ' },
          WHITMARSH,
        ],
      },
      logger,
    );
    expect(purchases.map((p) => p.purchaseId)).toEqual(['ABC_12345']);
    expect(warnings()).toHaveLength(6);
    expect(warnings()[0]).toMatchObject({ where: 'group_purchases[0]', expected: 'an object' });
    expect(warnings()[3]).toMatchObject({ where: 'group_purchases[3]', field: 'purchase_id' });
  });

  it('should refuse an answer without a group_purchases array, naming the field', () => {
    const { logger } = capture();
    for (const json of [{}, { group_purchases: {} }, { group_purchases: 'none' }, [], null, 'x']) {
      let error: unknown;
      try {
        readPurchases(json, logger);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ServiceError);
      expect(error).toMatchObject({ code: ErrorCode.UPSTREAM_BAD_RESPONSE });
      expect((error as Error).message).toMatch(/group_purchases|the body/);
    }
    expect(readPurchases({ group_purchases: [] }, logger)).toEqual([]);
  });
});
