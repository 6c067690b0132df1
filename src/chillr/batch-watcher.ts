import type { CollectBatchView } from './view.js';
import { isTerminalBatchStatus } from './types.js';
import { ErrorCode, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { VARIABLES } from '../config/variables.js';

export interface BatchWatcherOptions {
  /** Reads a batch (CollectService.getBatch: Chillr, or the cache once it is terminal). */
  refresh: (batchId: string) => Promise<CollectBatchView | null>;
  /** Time between polls of one batch. */
  intervalMs: number;
  /**
   * Batches polled at once; a subscription to one more is refused.
   * @default as CHILLR_MAX_POLLERS (src/config/)
   */
  maxPollers?: number;
  logger: Logger;
}

interface Poller {
  subscribers: Set<Subscriber>;
  timer: NodeJS.Timeout | undefined;
  /** JSON of the last emitted view: emit only on change. */
  lastJson: string | undefined;
  last: CollectBatchView | undefined;
}

interface Subscriber {
  push(view: CollectBatchView): void;
  end(error?: Error): void;
}

/**
 * Chillr has no push, so `collectBatchUpdated` polls `check_collect_status`. One poller per
 * batch id serves every subscriber to it (three browser tabs watching one batch cost one
 * upstream call per interval, not three); it emits only when the batch changed, completes
 * every subscription once the batch is terminal, and stops when the last subscriber leaves.
 * Pollers are per process: with several instances each polls the batches its own
 * subscribers watch, which keeps a dead instance from leaving a poller behind.
 */
export class BatchWatcher {
  private readonly pollers = new Map<string, Poller>();
  private totalPolls = 0;

  constructor(private readonly options: BatchWatcherOptions) {}

  /** Active pollers and upstream polls made so far (for tests and /metrics). */
  stats(): { pollers: number; polls: number } {
    return { pollers: this.pollers.size, polls: this.totalPolls };
  }

  /** The batch now, then on every change, until it is terminal or the caller stops iterating. */
  watch(batchId: string): AsyncIterableIterator<CollectBatchView> {
    const queue: CollectBatchView[] = [];
    let done = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const subscriber: Subscriber = {
      push: (view) => {
        queue.push(view);
        wake?.();
      },
      end: (error) => {
        done = true;
        failure = error;
        wake?.();
      },
    };
    let poller = this.pollers.get(batchId);
    const maxPollers = this.options.maxPollers ?? VARIABLES.CHILLR_MAX_POLLERS.default;
    if (!poller && this.pollers.size >= maxPollers) {
      throw new ServiceError(
        ErrorCode.UPSTREAM_UNAVAILABLE,
        `This instance already polls ${this.pollers.size} batches for subscribers, its limit (CHILLR_MAX_POLLERS=${maxPollers}); try again later.`,
      );
    }
    if (!poller) {
      poller = {
        subscribers: new Set(),
        timer: undefined,
        lastJson: undefined,
        last: undefined,
      };
      this.pollers.set(batchId, poller);
      poller.subscribers.add(subscriber);
      this.pollUnawaited(batchId, poller);
    } else {
      poller.subscribers.add(subscriber);
      // A late joiner gets the current state at once instead of waiting for a change.
      if (poller.last) subscriber.push(poller.last);
    }
    const leave = () => {
      done = true;
      // A consumer waiting in next() (the callback plugin's loop) must see the end, too.
      wake?.();
      const current = this.pollers.get(batchId);
      if (!current) return;
      current.subscribers.delete(subscriber);
      if (current.subscribers.size === 0) this.stop(batchId, current);
    };

    const iterator: AsyncIterableIterator<CollectBatchView> = {
      next: async () => {
        for (;;) {
          const view = queue.shift();
          if (view) return { value: view, done: false };
          if (failure) throw failure;
          if (done) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      },
      return: () => {
        leave();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private async poll(batchId: string, poller: Poller): Promise<void> {
    poller.timer = undefined;
    if (this.pollers.get(batchId) !== poller) return;
    this.totalPolls++;
    let view: CollectBatchView | null;
    try {
      view = await this.options.refresh(batchId);
    } catch (error) {
      // An upstream hiccup does not end anyone's subscription: try again next interval.
      this.options.logger.warn({ batchId, err: error }, 'collect batch poll failed');
      this.schedule(batchId, poller);
      return;
    }
    if (this.pollers.get(batchId) !== poller) return;
    if (view === null) {
      this.finish(
        batchId,
        poller,
        new ServiceError(ErrorCode.BAD_USER_INPUT, `Chillr does not know batch ${batchId}.`),
      );
      return;
    }
    const json = JSON.stringify(view);
    if (json !== poller.lastJson) {
      poller.lastJson = json;
      poller.last = view;
      for (const subscriber of poller.subscribers) subscriber.push(view);
    }
    if (isTerminalBatchStatus(view.status)) this.finish(batchId, poller);
    else this.schedule(batchId, poller);
  }

  private schedule(batchId: string, poller: Poller): void {
    poller.timer = setTimeout(() => this.pollUnawaited(batchId, poller), this.options.intervalMs);
    poller.timer.unref();
  }

  /**
   * Nobody waits on a poll: subscribers hear its result through their queues. A failed upstream
   * call is handled inside (tried again next interval); anything else that fails is logged here
   * rather than left an unhandled rejection.
   */
  private pollUnawaited(batchId: string, poller: Poller): void {
    this.poll(batchId, poller).catch((error: unknown) =>
      this.options.logger.error({ batchId, err: error }, 'collect batch poll failed unexpectedly'),
    );
  }

  private finish(batchId: string, poller: Poller, error?: Error): void {
    for (const subscriber of poller.subscribers) subscriber.end(error);
    this.stop(batchId, poller);
  }

  private stop(batchId: string, poller: Poller): void {
    if (poller.timer) clearTimeout(poller.timer);
    poller.timer = undefined;
    if (this.pollers.get(batchId) === poller) this.pollers.delete(batchId);
  }

  /** Ends every subscription (shutdown). */
  close(): void {
    for (const [batchId, poller] of this.pollers) this.finish(batchId, poller);
  }
}
