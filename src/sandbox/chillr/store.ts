import { randomBytes } from 'node:crypto';
import { expiryInstant, parseExpiryDate } from './dates.js';
import { isChillrUser, normaliseMsisdn } from './msisdn.js';
import type { SettablePaymentStatus } from './types.js';

/** A payment as the status check reports it: the stored status, or `expired` for a pending one. */
export type ReportedPaymentStatus = SettablePaymentStatus | 'expired';
export type BatchStatus = 'active' | 'completed' | 'expired';

export interface SimCustomer {
  /** 10-digit form. */
  msisdn: string;
  /** Decimal string, as sent. */
  amount: string;
  chillrUser: boolean;
  /** Only Chillr users get a transaction (others report "Transaction not generated"). */
  transactionId?: string;
  paymentStatus?: SettablePaymentStatus;
}

export interface SimBatch {
  batchId: string;
  name: string;
  /** `dd-mm-yyyy`, as sent. */
  expiryDate: string;
  expiresAt: Date;
  createdAt: Date;
  /** Set by `expireBatch`; expiry by date is decided from the clock on every read. */
  expiredByControl: boolean;
  customers: SimCustomer[];
}

export interface NewBatch {
  name: string;
  expiryDate: string;
  customers: { msisdn: string; amount: string }[];
}

/** Thrown by the control operations; `httpStatus` is what the control API answers with. */
export class SandboxControlError extends Error {
  constructor(
    message: string,
    readonly httpStatus: 400 | 404,
  ) {
    super(message);
    this.name = 'SandboxControlError';
  }
}

/** The status sample's transaction id; later transactions count up from it. */
const SAMPLE_TRANSACTION_ID = 614410700416;
export const SAMPLE_BATCH_ID = '5743fcb263686923fc0d0000';

/**
 * Mints ids the way Chillr's look (MongoDB ObjectIds, like the document's
 * `57453c1b636869174b000000`): 4 bytes of Unix seconds, 5 random bytes chosen once per
 * minter, a 3-byte counter starting at a random value. Time-ordered, and unique across runs
 * and processes without any saved counter.
 */
export function objectIdMinter(now: () => Date): () => string {
  const random = randomBytes(5).toString('hex');
  let counter = randomBytes(3).readUIntBE(0, 3);
  return () => {
    const seconds = Math.floor(now().getTime() / 1000) >>> 0;
    counter = (counter + 1) % 0x1000000;
    return seconds.toString(16).padStart(8, '0') + random + counter.toString(16).padStart(6, '0');
  };
}

/** What survives a restart (see `BatchStore.snapshot`); dates as ISO strings. */
export interface SavedBatches {
  version: 1;
  nextTransactionId: number;
  batches: Array<
    Omit<SimBatch, 'expiresAt' | 'createdAt'> & { expiresAt: string; createdAt: string }
  >;
}

export function isSavedBatches(value: unknown): value is SavedBatches {
  const v = value as Partial<SavedBatches> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.version === 1 &&
    Number.isSafeInteger(v.nextTransactionId) &&
    Array.isArray(v.batches) &&
    v.batches.every((b) => typeof b?.batchId === 'string' && Array.isArray(b.customers))
  );
}

export class BatchStore {
  private readonly batches = new Map<string, SimBatch>();
  private nextTransactionId = SAMPLE_TRANSACTION_ID + 1;
  private readonly mintId: () => string;

  /** @param onChange called after every change, with nothing (read `snapshot()`). */
  constructor(
    private readonly now: () => Date,
    private readonly onChange: () => void = () => undefined,
  ) {
    this.mintId = objectIdMinter(now);
  }

  /** Everything needed to rebuild this store after a restart. */
  snapshot(): SavedBatches {
    return {
      version: 1,
      nextTransactionId: this.nextTransactionId,
      batches: this.all().map((b) => ({
        ...structuredClone(b),
        expiresAt: b.expiresAt.toISOString(),
        createdAt: b.createdAt.toISOString(),
      })),
    };
  }

  /** Replaces the contents with a snapshot taken by `snapshot()`. */
  restore(saved: SavedBatches): void {
    this.batches.clear();
    this.nextTransactionId = saved.nextTransactionId;
    for (const b of saved.batches) {
      this.batches.set(b.batchId, {
        ...b,
        expiresAt: new Date(b.expiresAt),
        createdAt: new Date(b.createdAt),
      });
    }
  }

  /** Creates a batch from already validated input; ids are minted like Chillr's ObjectIds. */
  create(input: NewBatch): SimBatch {
    const batchId = this.mintId();
    const expiry = parseExpiryDate(input.expiryDate);
    if (!expiry) throw new Error(`BatchStore.create: unvalidated expiry date ${input.expiryDate}`);
    const batch: SimBatch = {
      batchId,
      name: input.name,
      expiryDate: input.expiryDate,
      expiresAt: expiryInstant(expiry),
      createdAt: this.now(),
      expiredByControl: false,
      customers: input.customers.map(({ msisdn, amount }) => {
        const chillrUser = isChillrUser(msisdn);
        if (!chillrUser) return { msisdn, amount, chillrUser };
        const transactionId = String(this.nextTransactionId++).padStart(12, '0');
        return { msisdn, amount, chillrUser, transactionId, paymentStatus: 'pending' };
      }),
    };
    this.batches.set(batchId, batch);
    this.onChange();
    return batch;
  }

  /**
   * The status-check sample: expired, one Chillr user whose payment expired and one non-user.
   * Name and expiry date come from the create sample; the creation time is the timestamp inside
   * the ObjectId-like id.
   */
  seedSample(): void {
    const expiryDate = '27-05-2016';
    this.batches.set(SAMPLE_BATCH_ID, {
      batchId: SAMPLE_BATCH_ID,
      name: 'Electricity bill',
      expiryDate,
      expiresAt: expiryInstant(parseExpiryDate(expiryDate)!),
      createdAt: new Date(parseInt(SAMPLE_BATCH_ID.slice(0, 8), 16) * 1000),
      // Expired by control too, so that a test clock set before 2016 cannot revive it.
      expiredByControl: true,
      customers: [
        {
          msisdn: '9447741462',
          amount: '200',
          chillrUser: true,
          transactionId: String(SAMPLE_TRANSACTION_ID),
          paymentStatus: 'pending',
        },
        { msisdn: '9633789451', amount: '600', chillrUser: false },
      ],
    });
    this.onChange();
  }

  get(batchId: string): SimBatch | undefined {
    return this.batches.get(batchId);
  }

  all(): SimBatch[] {
    return [...this.batches.values()];
  }

  /** Like `get`, but a missing batch is a control error (404). */
  require(batchId: string): SimBatch {
    const batch = this.batches.get(batchId);
    if (!batch) throw new SandboxControlError(`Unknown Chillr sandbox batch "${batchId}"`, 404);
    return batch;
  }

  setPaymentStatus(batchId: string, rawMsisdn: string, status: SettablePaymentStatus): SimBatch {
    if (status !== 'paid' && status !== 'failed' && status !== 'pending') {
      throw new SandboxControlError(
        `Invalid payment status ${JSON.stringify(status)}: use "paid", "failed" or "pending"`,
        400,
      );
    }
    const batch = this.require(batchId);
    const msisdn = normaliseMsisdn(rawMsisdn) ?? rawMsisdn;
    const customer = batch.customers.find((c) => c.msisdn === msisdn);
    if (!customer) {
      throw new SandboxControlError(`Batch "${batchId}" has no customer "${rawMsisdn}"`, 404);
    }
    if (!customer.chillrUser) {
      throw new SandboxControlError(
        `Customer "${rawMsisdn}" of batch "${batchId}" is not a Chillr user (numbers ending in 1 ` +
          'are not), so no transaction was generated and it has no payment status',
        400,
      );
    }
    // Allowed on an expired batch too: a test may want a payment that landed just before expiry.
    customer.paymentStatus = status;
    this.onChange();
    return batch;
  }

  expire(batchId: string): SimBatch {
    const batch = this.require(batchId);
    batch.expiredByControl = true;
    this.onChange();
    return batch;
  }

  private isPastExpiry(batch: SimBatch): boolean {
    return batch.expiredByControl || this.now().getTime() >= batch.expiresAt.getTime();
  }

  /**
   * `completed` once every Chillr user's payment is paid or failed (and it stays completed after
   * the expiry date: nothing was left to expire); otherwise `expired` past the expiry date or
   * after `expireBatch`; otherwise `active`.
   */
  batchStatus(batch: SimBatch): BatchStatus {
    const settled = batch.customers.every((c) => !c.chillrUser || c.paymentStatus !== 'pending');
    if (settled) return 'completed';
    return this.isPastExpiry(batch) ? 'expired' : 'active';
  }

  /** A pending payment of an expired batch reports `expired`; others report what is stored. */
  paymentStatus(batch: SimBatch, customer: SimCustomer): ReportedPaymentStatus | undefined {
    if (!customer.paymentStatus) return undefined;
    if (customer.paymentStatus === 'pending' && this.isPastExpiry(batch)) return 'expired';
    return customer.paymentStatus;
  }
}
