import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import type { PbgClient } from '../pbg/client.js';
import { OPEN_STATUSES } from './lifecycle.js';
import type { PurchaseService } from './service.js';
import type { PurchaseStateStore } from './state.js';

export interface ReconcilerOptions {
  client: PbgClient;
  purchases: PurchaseService;
  state: PurchaseStateStore;
  /** Holds the sweep lock, so one instance of those sharing the store sweeps per interval. */
  store: Store;
  merchantId: string;
  logger: Logger;
  /** Time between sweeps; 0 = no sweeps. */
  intervalMs: number;
  /**
   * Open purchases compared per sweep: the sweep's bound on work and on per-purchase queries
   * (the rest wait for later sweeps, least recently compared first).
   * @default 200
   */
  maxPerSweep?: number;
}

/** What one sweep did. */
export interface SweepReport {
  /** False when another instance holds the lock (this one did nothing). */
  swept: boolean;
  compared: number;
  upstreamCalls: number;
  failed: boolean;
}

const LOCK_NAMESPACE = 'locks';
const LOCK_KEY = 'pbg-reconcile';

/**
 * Finds what change pushes missed. PayByGroup's document promises no retries, so a lost push
 * would otherwise stay lost until someone reads the purchase.
 *
 * Each sweep takes a store lock that expires just before the next sweep is due, so of several
 * instances on one store one sweeps per interval, and a sweeper that dies holds nothing for
 * longer than an interval. It takes up to `maxPerSweep` purchases the service knows in a
 * non-final state and asks PayByGroup about them in as few calls as its query API allows: one
 * query for this merchant's purchases in any open status (that covers every purchase still
 * open), then one per-id query for each purchase that answer left out — those have moved to a
 * final status (or an unknown word) in the meantime, which a status filter cannot ask for.
 * Everything read is observed through the service's read path, so what no push said becomes a
 * RECONCILIATION change. An upstream failure ends the sweep with a warning; the next one retries.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly owner = randomUUID();

  constructor(private readonly options: ReconcilerOptions) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /**
   * Stops sweeping and, when this instance holds the sweep lock, releases it so another
   * instance can sweep at once instead of after the lock expires. (A get-then-delete: if the
   * lock expired and another instance took it in between, that one's sweep may overlap the
   * next — harmless, since every observation is a compare-and-set.)
   */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    try {
      const locks = this.options.store.namespace<string>(LOCK_NAMESPACE);
      if ((await locks.get(LOCK_KEY)) === this.owner) await locks.delete(LOCK_KEY);
    } catch (error) {
      this.options.logger.debug({ err: error }, 'could not release the reconciliation lock');
    }
  }

  /** One sweep, if this instance wins the lock. Never rejects. */
  async sweep(): Promise<SweepReport> {
    const report: SweepReport = { swept: false, compared: 0, upstreamCalls: 0, failed: false };
    try {
      // Just under the interval, so the next sweep (of any instance) finds it free; a minute
      // when sweeps are off and only called by hand.
      const lockMs =
        this.options.intervalMs > 0
          ? Math.max(1, Math.floor(this.options.intervalMs * 0.9))
          : 60_000;
      const won = await this.options.store.setIfAbsent(
        LOCK_NAMESPACE,
        LOCK_KEY,
        this.owner,
        lockMs,
      );
      if (!won) return report;
      report.swept = true;
      const ids = await this.options.state.openPurchases(this.options.maxPerSweep ?? 200);
      if (ids.length > 0) await this.compare(ids, report);
    } catch (error) {
      report.failed = true;
      this.options.logger.warn({ err: error }, 'reconciliation sweep failed; the next one retries');
    }
    this.options.logger.debug({ ...report }, 'reconciliation sweep');
    return report;
  }

  private async compare(ids: string[], report: SweepReport): Promise<void> {
    const { client, purchases, state, merchantId } = this.options;
    const wanted = new Set(ids);
    const stamp = await state.readStamp();
    report.upstreamCalls += 1;
    const open = await client.query({ merchantId, status: [...OPEN_STATUSES] });
    const found = open.filter((p) => wanted.has(p.purchaseId));
    await purchases.observeRead(found, stamp);
    report.compared += found.length;
    const missing = ids.filter((id) => !found.some((p) => p.purchaseId === id));
    for (const purchaseId of missing) {
      const oneStamp = await state.readStamp();
      report.upstreamCalls += 1;
      const answer = await client.query({ merchantId, purchaseId });
      const purchase = answer.find((p) => p.purchaseId === purchaseId);
      if (purchase) await purchases.observeRead([purchase], oneStamp);
      report.compared += 1;
    }
  }
}
