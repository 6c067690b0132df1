import { sumAmounts, type Money } from '../money.js';
import {
  PaymentStatus,
  type ChillrBatchStatus,
  type ChillrPayment,
  type CollectBatchStatus,
  type CollectCustomer,
} from './types.js';

/** Chillr collects rupees; its API carries no currency, so every amount is INR. */
export const CHILLR_CURRENCY = 'INR';

/** What this service remembers of a batch it created: Chillr's status check has no amounts. */
export interface BatchRecord {
  id: string;
  name: string;
  expiryDate: string;
  customers: CollectCustomer[];
  nonChillrCustomers: string[];
  createdAt: string;
}

export interface PaymentView extends ChillrPayment {
  amount: Money | null;
}

export interface CollectSummaryView {
  total: number;
  paid: number;
  pending: number;
  failed: number;
  expired: number;
  notGenerated: number;
  /** Sum over the payments Chillr generated (non-users were never asked); null without a record. */
  amountRequested: Money | null;
  amountPaid: Money | null;
}

export interface CollectBatchView {
  id: string;
  name: string | null;
  expiryDate: string | null;
  status: CollectBatchStatus;
  rawStatus: string | null;
  payments: PaymentView[];
  nonChillrCustomers: string[];
  summary: CollectSummaryView;
}

/**
 * Merges Chillr's status (who paid) with the batch record (how much each was asked for).
 * A customer the record has but the status answer omits (a non-user listed only in
 * `non_chillr_customers`) still appears, as NOT_GENERATED, so totals add up.
 */
export function toBatchView(
  id: string,
  status: ChillrBatchStatus,
  record: BatchRecord | null,
): CollectBatchView {
  const amountOf = new Map(record?.customers.map((c) => [c.msisdn, c.amount]) ?? []);
  const nonChillr = new Set([...status.nonChillrCustomers, ...(record?.nonChillrCustomers ?? [])]);
  const seen = new Set(status.payments.map((p) => p.msisdn));
  const payments: ChillrPayment[] = [...status.payments];
  for (const msisdn of [...(record?.customers.map((c) => c.msisdn) ?? []), ...nonChillr]) {
    if (seen.has(msisdn)) continue;
    seen.add(msisdn);
    payments.push({
      msisdn,
      status: nonChillr.has(msisdn) ? PaymentStatus.NOT_GENERATED : PaymentStatus.UNKNOWN,
      rawStatus: null,
      transactionId: null,
      message: nonChillr.has(msisdn) ? 'Not a Chillr user' : 'Not reported by Chillr',
    });
  }
  const views: PaymentView[] = payments.map((p) => {
    const amount = amountOf.get(p.msisdn);
    return { ...p, amount: amount ? { amount, currency: CHILLR_CURRENCY } : null };
  });
  const count = (s: PaymentStatus) => views.filter((p) => p.status === s).length;
  const money = (list: PaymentView[]): Money | null =>
    record
      ? { amount: sumAmounts(list.map((p) => p.amount?.amount ?? '0')), currency: CHILLR_CURRENCY }
      : null;
  return {
    id,
    name: record?.name ?? null,
    expiryDate: record?.expiryDate ?? null,
    status: status.status,
    rawStatus: status.rawStatus,
    payments: views,
    nonChillrCustomers: [...nonChillr],
    summary: {
      total: views.length,
      paid: count(PaymentStatus.PAID),
      pending: count(PaymentStatus.PENDING),
      failed: count(PaymentStatus.FAILED),
      expired: count(PaymentStatus.EXPIRED),
      notGenerated: count(PaymentStatus.NOT_GENERATED),
      amountRequested: money(views.filter((p) => p.status !== PaymentStatus.NOT_GENERATED)),
      amountPaid: money(views.filter((p) => p.status === PaymentStatus.PAID)),
    },
  };
}
