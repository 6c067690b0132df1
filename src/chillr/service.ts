import { keyReusedIssue, keyRequiredIssue } from '../errors.js';
import type { Idempotency } from '../idempotency/claims.js';
import { fingerprintOf } from '../idempotency/records.js';
import type { Metrics } from '../observability/metrics.js';
import type { Logger } from '../logger.js';
import type { Outbox, OutboxWrite } from '../idempotency/outbox.js';
import type { Store } from '../store/index.js';
import type { SingleFlight } from '../upstream/single-flight.js';
import type { ChillrClient } from './client.js';
import { BatchReadCache } from './read-cache.js';
import type { BatchRecord, CollectBatchView } from './view.js';
import type { CreateBatchRequest, InputIssue } from './types.js';
import { validateCreateBatch, type CreateBatchInput } from './validate.js';

export interface CollectServiceOptions {
  /** Counts batch read cache hits and misses (`payments_cache_requests_total`). @default none */
  metrics?: Metrics;
  client: ChillrClient;
  store: Store;
  idempotency: Idempotency;
  /** Where bookkeeping goes when the store refuses it right after Chillr acted. */
  outbox: Outbox;
  /** A create without an idempotencyKey is a userError (REQUIRE_IDEMPOTENCY_KEY). @default false */
  requireIdempotencyKey?: boolean;
  logger: Logger;
  /** Largest batch accepted. */
  maxBatchSize: number;
  /** @default () => new Date() */
  now?: () => Date;
  /**
   * How long a non-terminal status Chillr reported may be served again without asking
   * (CHILLR_STATUS_CACHE_MS), counted from when that read was sent. 0 = always ask (identical
   * reads in flight at the same moment still share one call).
   * @default 0
   */
  statusCacheMs?: number;
  /**
   * Shares identical status reads in flight across requests and the pollers.
   * @default a SingleFlight of this service's own, not counted in metrics
   */
  flights?: SingleFlight;
}

/** What createBatch answers; also what an idempotency record keeps. */
export interface CreateBatchOutcome {
  batchId: string | null;
  nonChillrCustomers: string[];
  issues: InputIssue[];
}

/** Batch records are kept long past expiry: a batch's amounts are history worth showing. */
const BATCH_RECORD_TTL_MS = 400 * 86_400_000;

/** The outbox write that keeps a batch record. */
function recordWrite(record: BatchRecord): OutboxWrite {
  return { namespace: 'batches', key: record.id, value: record, ttlMs: BATCH_RECORD_TTL_MS };
}

/**
 * The Chillr Mass Collect use cases: create a batch (validated, idempotent, recorded) and read
 * batches (upstream status merged with the recorded amounts). The GraphQL layer calls this
 * through per-request DataLoaders; nothing here knows GraphQL.
 */
export class CollectService {
  private readonly records;
  /** Every read of a batch goes through it; see read-cache.ts. */
  private readonly reads: BatchReadCache;

  constructor(private readonly options: CollectServiceOptions) {
    this.records = options.store.namespace<BatchRecord>('batches');
    this.reads = new BatchReadCache(options);
  }

  /**
   * Reads batches by id: a view, null for an unknown batch, or an Error, per id, so one
   * failing batch does not fail its siblings (read-cache.ts).
   */
  getBatches(ids: readonly string[]): Promise<Array<CollectBatchView | null | Error>> {
    return this.reads.getBatches(ids);
  }

  /** One batch, through the same cache; the poller behind collectBatchUpdated uses this. */
  getBatch(id: string): Promise<CollectBatchView | null> {
    return this.reads.getBatch(id);
  }

  /**
   * Creates a batch at most once per idempotency key. The order is the one
   * docs/money-safety.md gives: claim the key → Chillr → record the outcome under the key → keep
   * the batch record → answer. Once Chillr has accepted the batch, the answer carries its id
   * whatever happens to the bookkeeping after it.
   */
  async createBatch(
    input: CreateBatchInput,
    idempotencyKey?: string | null,
  ): Promise<CreateBatchOutcome> {
    const validation = validateCreateBatch(input, {
      maxBatchSize: this.options.maxBatchSize,
      now: this.options.now,
    });
    // Invalid input never reaches Chillr and is not remembered under the key: fixing the
    // input and retrying with the same key is what a caller would do.
    if (!validation.ok) return { batchId: null, nonChillrCustomers: [], issues: validation.issues };
    if (!idempotencyKey && this.options.requireIdempotencyKey) {
      return { batchId: null, nonChillrCustomers: [], issues: [keyRequiredIssue()] };
    }
    const request = validation.request;
    const act = () => this.callChillr(request);
    if (!idempotencyKey) {
      const outcome = await this.options.idempotency.runWithoutKey(act);
      await this.keepRecord(outcome, request, true);
      return outcome;
    }
    const run = await this.options.idempotency.run({
      operation: 'createCollectBatch',
      key: idempotencyKey,
      fingerprint: fingerprintOf('createCollectBatch', request),
      act,
      describe: (outcome) => outcome.batchId ?? undefined,
      // The batch record commits with the outcome under the key, in one atomic step.
      bookkeeping: (outcome) => {
        const record = this.recordOf(outcome, request);
        return record ? [recordWrite(record)] : [];
      },
    });
    if (run.kind === 'reused') {
      return { batchId: null, nonChillrCustomers: [], issues: [keyReusedIssue()] };
    }
    if (run.replayed) await this.keepRecord(run.result, request, false);
    return run.result;
  }

  /** The one Chillr create call: a created batch or Chillr's refusal of the input. */
  private async callChillr(request: CreateBatchRequest): Promise<CreateBatchOutcome> {
    const result = await this.options.client.createBatch(request);
    if (result.kind === 'rejected') {
      return { batchId: null, nonChillrCustomers: [], issues: result.issues };
    }
    this.options.logger.info(
      { batchId: result.batchId, customers: request.customers.length },
      'collect batch created',
    );
    return { batchId: result.batchId, nonChillrCustomers: result.nonChillrCustomers, issues: [] };
  }

  /**
   * Bookkeeping after Chillr accepted a batch: the record of what was asked (name, amounts),
   * which Chillr's status check does not return. It goes through the outbox, so a store that
   * fails now gets it later; it never turns an accepted batch into an error. A replay checks
   * that the record is there — the process that created the batch may have died before
   * writing it — and writes it from the (identical) request if not.
   */
  private async keepRecord(
    outcome: CreateBatchOutcome,
    request: CreateBatchRequest,
    fresh: boolean,
  ): Promise<void> {
    const record = this.recordOf(outcome, request);
    if (!record) return;
    const batchId = record.id;
    try {
      if (!fresh && (await this.records.get(batchId)) !== undefined) return;
    } catch (error) {
      this.options.logger.warn({ err: error, batchId }, 'could not check the batch record');
      return;
    }
    const stored = await this.options.outbox.writeAll([recordWrite(record)], { batchId });
    if (!stored) {
      this.options.logger.warn(
        { batchId },
        'batch created, but its record waits in the outbox; amounts show once it is stored',
      );
    }
  }

  /** What was asked of a batch Chillr created, which its status check does not return. */
  private recordOf(
    outcome: CreateBatchOutcome,
    request: CreateBatchRequest,
  ): BatchRecord | undefined {
    if (outcome.batchId === null) return undefined;
    return {
      id: outcome.batchId,
      name: request.name,
      expiryDate: request.expiryDate,
      customers: request.customers,
      nonChillrCustomers: outcome.nonChillrCustomers,
      createdAt: (this.options.now?.() ?? new Date()).toISOString(),
    };
  }
}
