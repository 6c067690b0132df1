import type { Purchase } from './store.js';

const IMG = 'https://merchant.example/img';
const LINK = 'https://merchant.example/stays';

/** The merchant id of the one purchase that belongs to someone else. */
export function otherMerchantId(merchantId: string): string {
  return merchantId === 'XYZ' ? 'XYZ2' : 'XYZ';
}

/**
 * Purchases the simulator starts with: every status, three inventory ids, created_at spread over
 * 2026, one priced per person, one in EUR, the document's two example ids, and one purchase of
 * another merchant that only a merchant_id filter hides. Dates are fixed (not relative to now)
 * so tests and demos can name them; the simulator never expires anything on its own.
 */
export function seedPurchases(merchantId: string): Purchase[] {
  const own = SEEDS.map(
    ([inventory, id, status, price, numPeople, numPaid, deadline, created, extra]) => ({
      ...offerOf(merchantId, inventory, id),
      status,
      ...(price.perPerson ? { cost_per_person: price.perPerson } : { purchase_cost: price.total }),
      num_people: numPeople,
      num_paid: numPaid,
      commit_deadline: `${deadline} 23:59 PST`,
      created_at: `${created} PST`,
      ...extra,
    }),
  );
  // Another merchant's purchase on an inventory id this merchant also uses.
  const other = {
    ...offerOf(merchantId, 'INV_WHITMARSH', 'XYZ_55555'),
    merchant_id: otherMerchantId(merchantId),
    merchant_org_email: 'bookings@other-merchant.example',
    status: 'pending',
    purchase_cost: '640.00 USD',
    num_people: 2,
    num_paid: 0,
    commit_deadline: '2026-05-31 23:59 PST',
    created_at: '2026-05-10 10:10 PST',
  };
  return [...own, other];
}

const NAMES: Record<string, string> = {
  INV_WHITMARSH: '1600 Whitmarsh Avenue',
  INV_LAKEHOUSE: 'Lake Tahoe Lakehouse',
  INV_CHALET: 'Mammoth Ski Chalet',
};

/** The offer fields every seeded purchase of `inventory` shares. */
function offerOf(merchantId: string, inventory: string, id: string) {
  const name = NAMES[inventory]!;
  return {
    purchase_id: id,
    merchant_id: merchantId,
    inventory_id: inventory,
    purchase_name: name,
    purchase_description: `${name}, booked as a group`,
    purchase_link_url: `${LINK}/${inventory.toLowerCase()}`,
    purchase_image_url: `${IMG}/${inventory.toLowerCase()}.png`,
    merchant_org_email: 'groups@merchant.example',
  };
}

type Seed = [
  inventory: string,
  id: string,
  status: string,
  price: { total?: string; perPerson?: string },
  numPeople: number,
  numPaid: number,
  /** The commit deadline's date (23:59 PST). */
  deadline: string,
  /** created_at without its zone (PST). */
  created: string,
  extra?: Record<string, unknown>,
];

const SEEDS: Seed[] = [
  // The document's own two examples, kept verbatim where it gives values.
  [
    'INV_WHITMARSH',
    'ABC_12345',
    'pending',
    { total: '1250.00 USD' },
    5,
    2,
    '2026-05-27',
    '2026-05-01 08:30',
  ],
  [
    'INV_LAKEHOUSE',
    'ABC_98765',
    'payment_completed',
    { total: '2400.00 USD' },
    4,
    4,
    '2026-04-30',
    '2026-04-12 17:05',
  ],
  [
    'INV_WHITMARSH',
    'ABC_20001',
    'collected',
    { total: '980.00 USD' },
    3,
    3,
    '2026-03-20',
    '2026-03-03 11:42',
  ],
  [
    'INV_LAKEHOUSE',
    'ABC_20002',
    'expired',
    { total: '3100.00 USD' },
    6,
    1,
    '2026-02-28',
    '2026-02-14 09:00',
  ],
  [
    'INV_CHALET',
    'ABC_20003',
    'cancelled',
    { total: '1875.50 USD' },
    5,
    0,
    '2026-02-10',
    '2026-01-20 14:15',
  ],
  // A non-USD currency: the client must not assume dollars.
  [
    'INV_CHALET',
    'ABC_20004',
    'refunded',
    { total: '99.50 EUR' },
    2,
    2,
    '2026-06-20',
    '2026-06-05 19:30',
  ],
  [
    'INV_WHITMARSH',
    'ABC_20005',
    'unavailable',
    { total: '1250.00 USD' },
    4,
    1,
    '2026-07-15',
    '2026-06-18 07:45',
  ],
  // Priced per spot instead of in total (the document's alternative to purchase_cost), with an
  // extra merchant input variable: PBG returns every field it holds.
  [
    'INV_LAKEHOUSE',
    'ABC_20006',
    'pending',
    { perPerson: '45.00 USD' },
    8,
    3,
    '2026-07-31',
    '2026-07-02 12:00',
    { organizer_name: 'Dana Whitfield' },
  ],
];
