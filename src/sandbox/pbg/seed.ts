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
  const base = (
    id: string,
    inventory: string,
    name: string,
    email = 'groups@merchant.example',
  ) => ({
    purchase_id: id,
    merchant_id: merchantId,
    inventory_id: inventory,
    purchase_name: name,
    purchase_description: `${name}, booked as a group`,
    purchase_link_url: `${LINK}/${inventory.toLowerCase()}`,
    purchase_image_url: `${IMG}/${inventory.toLowerCase()}.png`,
    merchant_org_email: email,
  });
  const whitmarsh = (id: string) => base(id, 'INV_WHITMARSH', '1600 Whitmarsh Avenue');
  const lake = (id: string) => base(id, 'INV_LAKEHOUSE', 'Lake Tahoe Lakehouse');
  const chalet = (id: string) => base(id, 'INV_CHALET', 'Mammoth Ski Chalet');
  return [
    // The document's own example, kept verbatim where it gives values.
    {
      ...whitmarsh('ABC_12345'),
      status: 'pending',
      purchase_cost: '1250.00 USD',
      num_people: 5,
      num_paid: 2,
      commit_deadline: '2026-05-27 23:59 PST',
      created_at: '2026-05-01 08:30 PST',
    },
    {
      ...lake('ABC_98765'),
      status: 'payment_completed',
      purchase_cost: '2400.00 USD',
      num_people: 4,
      num_paid: 4,
      commit_deadline: '2026-04-30 23:59 PST',
      created_at: '2026-04-12 17:05 PST',
    },
    {
      ...whitmarsh('ABC_20001'),
      status: 'collected',
      purchase_cost: '980.00 USD',
      num_people: 3,
      num_paid: 3,
      commit_deadline: '2026-03-20 23:59 PST',
      created_at: '2026-03-03 11:42 PST',
    },
    {
      ...lake('ABC_20002'),
      status: 'expired',
      purchase_cost: '3100.00 USD',
      num_people: 6,
      num_paid: 1,
      commit_deadline: '2026-02-28 23:59 PST',
      created_at: '2026-02-14 09:00 PST',
    },
    {
      ...chalet('ABC_20003'),
      status: 'cancelled',
      purchase_cost: '1875.50 USD',
      num_people: 5,
      num_paid: 0,
      commit_deadline: '2026-02-10 23:59 PST',
      created_at: '2026-01-20 14:15 PST',
    },
    {
      ...chalet('ABC_20004'),
      status: 'refunded',
      // A non-USD currency: the client must not assume dollars.
      purchase_cost: '99.50 EUR',
      num_people: 2,
      num_paid: 2,
      commit_deadline: '2026-06-20 23:59 PST',
      created_at: '2026-06-05 19:30 PST',
    },
    {
      ...whitmarsh('ABC_20005'),
      status: 'unavailable',
      purchase_cost: '1250.00 USD',
      num_people: 4,
      num_paid: 1,
      commit_deadline: '2026-07-15 23:59 PST',
      created_at: '2026-06-18 07:45 PST',
    },
    {
      ...lake('ABC_20006'),
      status: 'pending',
      // Priced per spot instead of in total (the document's alternative to purchase_cost).
      cost_per_person: '45.00 USD',
      num_people: 8,
      num_paid: 3,
      commit_deadline: '2026-07-31 23:59 PST',
      created_at: '2026-07-02 12:00 PST',
      // An extra merchant input variable: PBG returns every field it holds.
      organizer_name: 'Dana Whitfield',
    },
    // Another merchant's purchase on an inventory id this merchant also uses.
    {
      ...whitmarsh('XYZ_55555'),
      merchant_id: otherMerchantId(merchantId),
      merchant_org_email: 'bookings@other-merchant.example',
      status: 'pending',
      purchase_cost: '640.00 USD',
      num_people: 2,
      num_paid: 0,
      commit_deadline: '2026-05-31 23:59 PST',
      created_at: '2026-05-10 10:10 PST',
    },
  ];
}
