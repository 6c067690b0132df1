import type { UserIssue } from '../errors.js';

/**
 * The Chillr slice's domain types: what the REST client returns once the wire format is
 * parsed. The GraphQL layer registers these enums as they are, so their values are the
 * graph's enum values.
 */

export enum CollectBatchStatus {
  ACTIVE = 'ACTIVE',
  COMPLETED = 'COMPLETED',
  EXPIRED = 'EXPIRED',
  UNKNOWN = 'UNKNOWN',
}

export enum PaymentStatus {
  PENDING = 'PENDING',
  PAID = 'PAID',
  FAILED = 'FAILED',
  EXPIRED = 'EXPIRED',
  NOT_GENERATED = 'NOT_GENERATED',
  UNKNOWN = 'UNKNOWN',
}

/** A batch status is terminal when nothing about it can change any more. */
export function isTerminalBatchStatus(status: CollectBatchStatus): boolean {
  return status === CollectBatchStatus.EXPIRED || status === CollectBatchStatus.COMPLETED;
}

export interface CollectCustomer {
  /** 10-digit mobile number, prefixes removed. */
  msisdn: string;
  /** Normalised decimal, e.g. "200.00" (rupees). */
  amount: string;
}

/** A create request after validation and normalisation. */
export interface CreateBatchRequest {
  name: string;
  /** ISO date, e.g. "2026-05-27". */
  expiryDate: string;
  customers: CollectCustomer[];
}

/** An input problem, with the path of the offending input field. */
export type InputIssue = UserIssue;

export type CreateBatchResult =
  | { kind: 'created'; batchId: string; nonChillrCustomers: string[] }
  | { kind: 'rejected'; issues: InputIssue[] };

export interface ChillrPayment {
  msisdn: string;
  status: PaymentStatus;
  /** The upstream's own word, kept for UNKNOWN and for support. */
  rawStatus: string | null;
  transactionId: string | null;
  message: string | null;
}

export interface ChillrBatchStatus {
  batchId: string;
  status: CollectBatchStatus;
  rawStatus: string | null;
  payments: ChillrPayment[];
  nonChillrCustomers: string[];
}
