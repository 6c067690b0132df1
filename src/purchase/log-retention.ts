import type { Logger } from '../logger.js';
import type { PurchaseStateStore } from './state.js';

export interface LogRetentionOptions {
  state: PurchaseStateStore;
  /** How long a change stays in the log (PBG_CHANGE_LOG_TTL_MS). */
  ttlMs: number;
  logger: Logger;
  /**
   * Time between trims.
   * @default a tenth of `ttlMs`, at most ten minutes
   */
  everyMs?: number;
}

/**
 * Keeps the change log within its retention, whether or not reconciliation runs. Every instance
 * trims on its own timer, without a lock: a trim deletes what is past the same cutoff whoever
 * runs it, and the engines make each trim atomic (one SQLite transaction, one Redis script), so
 * two at once only do the work twice.
 */
export class LogRetention {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LogRetentionOptions) {}

  start(): void {
    if (this.timer) return;
    const everyMs = this.options.everyMs ?? Math.min(this.options.ttlMs / 10, 600_000);
    this.timer = setInterval(() => void this.trim(), everyMs).unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One trim; never rejects. Resolves with how many changes went (0 after a failure). */
  async trim(): Promise<number> {
    try {
      const removed = await this.options.state.trimLog(this.options.ttlMs);
      if (removed > 0) this.options.logger.info({ removed }, 'change log trimmed to its retention');
      return removed;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not trim the change log; trying again later');
      return 0;
    }
  }
}
