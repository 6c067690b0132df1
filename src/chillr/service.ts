import { keyReusedIssue } from '../errors.js';
import { guardStore } from '../store/guard.js';
import { fingerprintOf, type Idempotency } from '../idempotency.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import type { ChillrClient } from './client.js';
import { toBatchView, type BatchRecord, type CollectBatchView } from './view.js';
import { isTerminalBatchStatus, type ChillrBatchStatus, type InputIssue } from './types.js';
import { validateCreateBatch, type CreateBatchInput } from './validate.js';

export interface CollectServiceOptions {
  client: ChillrClient;
  store: Store;
  idempotency: Idempotency;
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
    const request = validation.request;
    const create = async (): Promise<{ result: CreateBatchOutcome; final: boolean }> => {
      const result = await this.options.client.createBatch(request);
      if (result.kind === 'rejected') {
        return {
          result: { batchId: null, nonChillrCustomers: [], issues: result.issues },
          final: true,
        };
      }
      const record: BatchRecord = {
        id: result.batchId,
        name: request.name,
        expiryDate: request.expiryDate,
        customers: request.customers,
        nonChillrCustomers: result.nonChillrCustomers,
        createdAt: (this.options.now?.() ?? new Date()).toISOString(),
      };
      await guardStore(() => this.records.set(record.id, record, BATCH_RECORD_TTL_MS));
      this.options.logger.info(
        { batchId: record.id, customers: record.customers.length },
        'collect batch created',
      );
      return {
        result: {
          batchId: result.batchId,
          nonChillrCustomers: result.nonChillrCustomers,
          issues: [],
        },
        final: true,
      };
    };
    if (!idempotencyKey) return (await create()).result;

    const outcome = await this.options.idempotency.run(
      idempotencyKey,
      fingerprintOf('createCollectBatch', request),
      create,
    );
    if (outcome.kind === 'reused') {
      return { batchId: null, nonChillrCustomers: [], issues: [keyReusedIssue()] };
    }
    return outcome.result;
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
