import type { BatchRecord } from './view.js';

/** Most batch records kept in memory. */
export const MAX_MEMO_RECORDS = 1_000;
/**
 * Most customers over all records kept: the bound on memory (a customer is an msisdn and an
 * amount, under 100 bytes as objects), so a few 10,000-customer batches cannot hold more than
 * about 10 MB.
 */
export const MAX_MEMO_CUSTOMERS = 100_000;

/**
 * Batch records this process has read from the store, kept in memory so that reading a batch
 * again costs one store read (its terminal status), not two. A pending batch read under load
 * spent about a tenth of its CPU in those two store reads, half of it the record's read and
 * deserialisation (profiled, docs/behaviour.md "Reads and caching").
 *
 * Why this cannot serve anything stale: a record is written once, when Chillr accepts the
 * batch (or later from the outbox, or again on an idempotent replay — with the identical
 * request), and never changed or deleted before its 400-day TTL. Only a record that was found
 * is kept; a batch whose record is not stored yet (still in the outbox) is read from the store
 * every time, so its amounts show as soon as it lands. Per process, least recently used out
 * first, within {@link MAX_MEMO_RECORDS} records and {@link MAX_MEMO_CUSTOMERS} customers; a
 * record larger than the customer bound is not kept.
 */
export class RecordMemo {
  /** Least recently used first (Map order). */
  private readonly records = new Map<string, BatchRecord>();
  private customers = 0;

  constructor(
    private readonly maxRecords = MAX_MEMO_RECORDS,
    private readonly maxCustomers = MAX_MEMO_CUSTOMERS,
  ) {}

  get(id: string): BatchRecord | undefined {
    const record = this.records.get(id);
    if (record === undefined) return undefined;
    this.records.delete(id);
    this.records.set(id, record);
    return record;
  }

  /** Keeps a record the store returned. */
  keep(id: string, record: BatchRecord): void {
    const size = record.customers.length;
    if (size > this.maxCustomers || this.records.has(id)) return;
    this.records.set(id, record);
    this.customers += size;
    while (this.records.size > this.maxRecords || this.customers > this.maxCustomers) {
      const [oldest, dropped] = this.records.entries().next().value!;
      this.records.delete(oldest);
      this.customers -= dropped.customers.length;
    }
  }

  get size(): number {
    return this.records.size;
  }
}
