import { keyReusedIssue, keyRequiredIssue } from '../errors.js';
import { guardStore } from '../store/guard.js';
import { fingerprintOf, type Idempotency } from '../idempotency.js';
import type { Logger } from '../logger.js';
import type { Outbox } from '../outbox.js';
import type { Store } from '../store/index.js';
import type { ChillrClient } from './client.js';
import { toBatchView, type BatchRecord, type CollectBatchView } from './view.js';
import {
  isTerminalBatchStatus,
  type ChillrBatchStatus,
  type CreateBatchRequest,
  type InputIssue,
} from './types.js';
import { validateCreateBatch, type CreateBatchInput } from './validate.js';

export interface CollectServiceOptions {
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
}

/** What createBatch answers; also what an idempotency record keeps. */
export interface CreateBatchOutcome {
  batchId: string | null;
  nonChillrCustomers: string[];
  issues: InputIssue[];
}

/** Batch records are kept long past expiry: a batch's amounts are history worth showing. */
const BATCH_RECORD_TTL_MS = 400 * 86_400_000;
/** A terminal status never changes, so it is cached across requests. */
const TERMINAL_STATUS_TTL_MS = 30 * 86_400_000;

/**
 * The Chillr Mass Collect use cases: create a batch (validated, idempotent, recorded) and read
 * batches (upstream status merged with the recorded amounts). The GraphQL layer calls this
 * through per-request DataLoaders; nothing here knows GraphQL.
 */
export class CollectService {
  private readonly records;
  private readonly terminal;

  constructor(private readonly options: CollectServiceOptions) {
    this.records = options.store.namespace<BatchRecord>('batches');
    this.terminal = options.store.namespace<ChillrBatchStatus>('batch-status');
  }

  /**
   * Creates a batch at most once per idempotency key. The order is the one README's "Money
   * safety" section gives: claim the key → Chillr → record the outcome under the key → keep
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
    });
    if (run.kind === 'reused') {
      return { batchId: null, nonChillrCustomers: [], issues: [keyReusedIssue()] };
    }
    await this.keepRecord(run.result, request, !run.replayed);
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
    const batchId = outcome.batchId;
    if (batchId === null) return;
    try {
      if (!fresh && (await this.records.get(batchId)) !== undefined) return;
    } catch (error) {
      this.options.logger.warn({ err: error, batchId }, 'could not check the batch record');
      return;
    }
    const record: BatchRecord = {
      id: batchId,
      name: request.name,
      expiryDate: request.expiryDate,
      customers: request.customers,
      nonChillrCustomers: outcome.nonChillrCustomers,
      createdAt: (this.options.now?.() ?? new Date()).toISOString(),
    };
    const stored = await this.options.outbox.set('batches', batchId, record, BATCH_RECORD_TTL_MS, {
      batchId,
    });
    if (!stored) {
      this.options.logger.warn(
        { batchId },
        'batch created, but its record waits in the outbox; amounts show once it is stored',
      );
    }
  }

  /**
   * Reads batches by id, one upstream status call per distinct id (the DataLoader batches and
   * de-duplicates; Chillr has no multi-batch endpoint, so the calls run in parallel). Each id
   * gets its own outcome — a view, null for an unknown batch, or an Error — so one failing
   * batch does not fail its siblings.
   */
  async getBatches(ids: readonly string[]): Promise<Array<CollectBatchView | null | Error>> {
    return Promise.all(
      ids.map((id) => this.getBatch(id).catch((error: unknown) => toError(error))),
    );
  }

  /**
   * One batch: the cached status when it is terminal (it cannot change any more), otherwise
   * Chillr's. The poller behind collectBatchUpdated uses this too — a cached terminal status
   * is exactly what it would fetch.
   */
  async getBatch(id: string): Promise<CollectBatchView | null> {
    const [record, cached] = await guardStore(() =>
      Promise.all([this.records.get(id), this.terminal.get(id)]),
    );
    let status = cached ?? null;
    if (status === null) {
      status = await this.options.client.checkStatus(id);
      if (status === null) return null;
      if (isTerminalBatchStatus(status.status)) {
        await guardStore(() => this.terminal.set(id, status!, TERMINAL_STATUS_TTL_MS));
      }
    }
    return toBatchView(id, status, record ?? null);
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
