import { guardStore } from '../store/guard.js';
import { readsOfOneTurn } from '../store/reads-of-one-turn.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/index.js';
import { SingleFlight } from '../upstream/single-flight.js';
import type { ChillrClient } from './client.js';
import { RecordMemo } from './record-memo.js';
import { isTerminalBatchStatus, type ChillrBatchStatus } from './types.js';
import { toBatchView, type BatchRecord, type CollectBatchView } from './view.js';

/**
 * The one cache of batch reads: everything that lets a `collectBatch` read skip work is here,
 * in this order —
 *
 * 1. the batch's record (what was asked: name, amounts), from the in-process memo once read
 *    (records never change; record-memo.ts says why that cannot be stale), else the store;
 * 2. a terminal status, from the store (it cannot change any more; kept 30 days, shared by
 *    every instance), asked for by the reads of one event-loop turn together (terminalReads);
 * 3. a non-terminal status read less than `statusCacheMs` ago, in this process, with the view
 *    built from it;
 * 4. else Chillr, through the single flight: identical reads from any request, alias,
 *    `_entities` batch or poller in flight at the same moment make one call.
 *
 * Outside it, and not a cache of batches: the per-request DataLoader (one request's duplicate
 * ids) and, at the HTTP edge, the response cache (whole answers to identical operations;
 * docs/caching.md).
 */

export interface BatchReadCacheOptions {
  client: ChillrClient;
  store: Store;
  /** Counts cache hits and misses (`payments_cache_requests_total`). @default none */
  metrics?: Metrics;
  /**
   * How long a non-terminal status Chillr reported may be served again without asking
   * (CHILLR_STATUS_CACHE_MS), counted from when that read was sent. 0 = always ask (identical
   * reads in flight at the same moment still share one call).
   * @default 0
   */
  statusCacheMs?: number;
  /**
   * Shares identical status reads in flight across requests and the pollers.
   * @default a SingleFlight of this cache's own, not counted in metrics
   */
  flights?: SingleFlight;
  /** @default () => new Date() */
  now?: () => Date;
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

export class BatchReadCache {
  private readonly records;
  private readonly terminal;
  private readonly flights: SingleFlight;
  /** Non-terminal statuses, oldest first (Map order); see statusCacheMs. In memory, per process. */
  private readonly recent = new Map<string, RecentStatus>();
  /** Batch records already read (they never change): see RecordMemo. */
  private readonly memo = new RecordMemo();
  /**
   * The terminal-status store reads of the reads of one event-loop turn, as one store read
   * (readsOfOneTurn says why that cannot answer from an older read).
   */
  private readonly terminalReads = readsOfOneTurn<string, ChillrBatchStatus | undefined>((ids) =>
    this.terminal.get([...ids]),
  );

  constructor(private readonly options: BatchReadCacheOptions) {
    this.records = options.store.namespace<BatchRecord>('batches');
    this.terminal = options.store.namespace<ChillrBatchStatus>('batch-status');
    this.flights = options.flights ?? new SingleFlight({ upstream: 'chillr' });
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
      Promise.all([this.record(id), this.terminalReads.load(id)]),
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
