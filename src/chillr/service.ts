import { keyReusedIssue, keyRequiredIssue } from '../errors.js';
import { guardStore } from '../store/guard.js';
import type { Idempotency } from '../idempotency/claims.js';
import { fingerprintOf } from '../idempotency/records.js';
import type { Metrics } from '../observability/metrics.js';
import type { Logger } from '../logger.js';
import type { Outbox, OutboxWrite } from '../idempotency/outbox.js';
import type { Store } from '../store/index.js';
import { SingleFlight } from '../upstream/single-flight.js';
import type { ChillrClient } from './client.js';
import { RecordMemo } from './record-memo.js';
import { toBatchView, type BatchRecord, type CollectBatchView } from './view.js';
import {
  isTerminalBatchStatus,
  type ChillrBatchStatus,
  type CreateBatchRequest,
  type InputIssue,
} from './types.js';
import { validateCreateBatch, type CreateBatchInput } from './validate.js';

export interface CollectServiceOptions {
  /** Counts terminal-status cache hits and misses (`payments_cache_requests_total`). @default none */
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
/** A terminal status never changes, so it is cached across requests. */
const TERMINAL_STATUS_TTL_MS = 30 * 86_400_000;
/**
 * Most non-terminal statuses kept in memory. An entry lives CHILLR_STATUS_CACHE_MS (about a
 * second), so this is only reached by reads of more distinct batches than that per second; the
 * oldest entry is then dropped, which costs one more upstream call, never a wrong answer.
 */
export const MAX_RECENT_STATUSES = 10_000;

/** A non-terminal status and when the read that brought it was sent (epoch ms). */
interface RecentStatus {
  status: ChillrBatchStatus;
  sentAt: number;
  /**
   * The view last built from this status, and the record it was built with: served again
   * while both are the same objects (see `viewOf`).
   */
  view?: { record: BatchRecord | null; view: CollectBatchView };
}

/**
 * The Chillr Mass Collect use cases: create a batch (validated, idempotent, recorded) and read
 * batches (upstream status merged with the recorded amounts). The GraphQL layer calls this
 * through per-request DataLoaders; nothing here knows GraphQL.
 */
export class CollectService {
  private readonly records;
  private readonly terminal;
  private readonly flights: SingleFlight;
  /** Non-terminal statuses, oldest first (Map order); see statusCacheMs. In memory, per process. */
  private readonly recent = new Map<string, RecentStatus>();
  /** Batch records already read (they never change): see RecordMemo. */
  private readonly memo = new RecordMemo();

  constructor(private readonly options: CollectServiceOptions) {
    this.records = options.store.namespace<BatchRecord>('batches');
    this.terminal = options.store.namespace<ChillrBatchStatus>('batch-status');
    this.flights = options.flights ?? new SingleFlight({ upstream: 'chillr' });
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
   * One batch: the cached status when it is terminal (it cannot change any more), else a
   * non-terminal one read less than `statusCacheMs` ago, else Chillr's — through the single
   * flight, so identical reads from any request, alias, `_entities` batch or poller in flight
   * at the same moment make one call. The poller behind collectBatchUpdated uses this too.
   */
  async getBatch(id: string): Promise<CollectBatchView | null> {
    const [record, cached] = await guardStore(() =>
      Promise.all([this.record(id), this.terminal.get(id)]),
    );
    this.options.metrics?.cache('batch_status', cached !== undefined);
    if (cached !== undefined) return toBatchView(id, cached, record ?? null);
    const recent = this.recentStatus(id);
    if (recent !== undefined) return viewOf(id, recent, record ?? null);
    const status = await this.readStatus(id);
    return status === null ? null : toBatchView(id, status, record ?? null);
  }

  /** The batch's record: from memory once read, else from the store (kept when found). */
  private async record(id: string): Promise<BatchRecord | undefined> {
    const known = this.memo.get(id);
    if (known !== undefined) return known;
    const record = await this.records.get(id);
    if (record !== undefined) this.memo.keep(id, record);
    return record;
  }

  /** A non-terminal status read less than `statusCacheMs` ago, or undefined. */
  private recentStatus(id: string): RecentStatus | undefined {
    const ttl = this.options.statusCacheMs ?? 0;
    if (ttl <= 0) return undefined;
    const entry = this.recent.get(id);
    const fresh = entry !== undefined && this.nowMs() - entry.sentAt < ttl;
    if (entry !== undefined && !fresh) this.recent.delete(id);
    this.options.metrics?.cache('batch_status_recent', fresh);
    return fresh ? entry : undefined;
  }

  /**
   * Chillr's answer, shared by every caller asking while it is in flight. What the answer means
   * for later callers is settled once, inside the flight: a terminal status goes to the store
   * (kept 30 days), a non-terminal one to the short in-memory cache, stamped with when the read
   * was *sent* (so the window bounds the age of what Chillr said, not of when it arrived). An
   * unknown batch (null) and a failure are not kept: the next caller asks again.
   */
  private readStatus(id: string): Promise<ChillrBatchStatus | null> {
    return this.flights.run('check_collect_status', { batchId: id }, async () => {
      const sentAt = this.nowMs();
      const status = await this.options.client.checkStatus(id);
      if (status === null) return null;
      if (isTerminalBatchStatus(status.status)) {
        this.recent.delete(id);
        await guardStore(() => this.terminal.set(id, status, TERMINAL_STATUS_TTL_MS));
      } else {
        this.remember(id, { status, sentAt });
      }
      return status;
    });
  }

  private remember(id: string, entry: RecentStatus): void {
    if ((this.options.statusCacheMs ?? 0) <= 0) return;
    this.recent.delete(id);
    this.recent.set(id, entry);
    if (this.recent.size > MAX_RECENT_STATUSES) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  private nowMs(): number {
    return (this.options.now?.() ?? new Date()).getTime();
  }
}

/**
 * The view of a remembered status with `record`, built once per status and record: every read
 * inside the window gets the same object, as long as the record is the same one (the record
 * memo keeps it so; a record that lands meanwhile builds a new view). A view is never changed
 * after it is built, so sharing it between requests shares nothing that could differ. Building
 * it (amounts parsed and summed per payment) was a few percent of a pending batch read's CPU.
 */
function viewOf(id: string, recent: RecentStatus, record: BatchRecord | null): CollectBatchView {
  if (recent.view?.record !== record) {
    recent.view = { record, view: toBatchView(id, recent.status, record) };
  }
  return recent.view.view;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
