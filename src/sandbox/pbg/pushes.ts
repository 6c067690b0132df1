import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../logger.js';
import { isObject } from './http.js';
import type { Purchase } from './store.js';

/** One Change Push PBG would have sent (or did send), as recorded for tests and demos. */
export interface PushRecord {
  /** The request body exactly as (it would be) sent. */
  body: { merchant_auth: string; events: Array<Record<string, unknown>> };
  /** True once the merchant answered 2xx with `{"result": true}`. */
  delivered: boolean;
  /** HTTP status of the last attempt, when one got an answer. */
  status?: number;
  /** Why the last attempt failed. */
  error?: string;
  /** Delivery attempts made so far (0 when pushes are only recorded). */
  attempts: number;
}

export interface ChangePusherOptions {
  merchantAuth: string;
  /** Full change-push URL, merchant_id query included; undefined → record only. */
  url: string | undefined;
  /** Whether to POST at all. */
  deliver: boolean;
  /** Aborted on close: stops in-flight requests and backoff sleeps. */
  signal: AbortSignal;
  logger: Logger;
}

/** Waits between attempts: three tries in all, quick enough for tests, slow enough to matter. */
const BACKOFF_MS = [100, 300];
const ATTEMPT_TIMEOUT_MS = 5_000;

/**
 * Records every Change Push and, when asked, delivers it. Delivery runs in the background (an
 * action's answer never waits for the merchant) but in order per purchase: a merchant that sees
 * "collected" before "payment_completed" for the same purchase would store the wrong end state.
 */
export class ChangePusher {
  readonly records: PushRecord[] = [];
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly options: ChangePusherOptions) {}

  /** Records a push of `events` (snapshots) and queues its delivery behind earlier ones. */
  push(purchaseId: string, events: Purchase[]): PushRecord {
    const record: PushRecord = {
      body: { merchant_auth: this.options.merchantAuth, events },
      delivered: false,
      attempts: 0,
    };
    this.records.push(record);
    const { url, deliver, signal } = this.options;
    if (deliver && url !== undefined && !signal.aborted) {
      const previous = this.chains.get(purchaseId) ?? Promise.resolve();
      const next = previous.then(() => this.deliver(url, record));
      this.chains.set(purchaseId, next);
      // deliver() never rejects (a failed push is recorded and logged), so neither does this.
      void next.finally(() => {
        if (this.chains.get(purchaseId) === next) this.chains.delete(purchaseId);
      });
    }
    return record;
  }

  /** Resolves once every queued delivery has finished (delivered or given up). */
  async settled(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private async deliver(url: string, record: PushRecord): Promise<void> {
    const { signal, logger } = this.options;
    for (let attempt = 0; attempt <= BACKOFF_MS.length; attempt++) {
      if (attempt > 0) {
        try {
          await sleep(BACKOFF_MS[attempt - 1], undefined, { signal });
        } catch {
          break; // closed while backing off
        }
      }
      if (signal.aborted) break;
      record.attempts += 1;
      if (await this.attempt(url, record)) {
        record.delivered = true;
        delete record.error;
        return;
      }
    }
    logger.warn(
      { attempts: record.attempts, status: record.status, error: record.error },
      'PBG sandbox: change push not delivered',
    );
  }

  /** One POST; true when the merchant acknowledged it. Never throws. */
  private async attempt(url: string, record: PushRecord): Promise<boolean> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(record.body),
        signal: AbortSignal.any([this.options.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      record.status = res.status;
      const text = await res.text();
      if (!res.ok) {
        record.error = `merchant answered HTTP ${res.status}`;
        return false;
      }
      let answer: unknown;
      try {
        answer = JSON.parse(text);
      } catch {
        answer = undefined;
      }
      // The document's answer is {"result": true}; {"result": false} is a refusal worth retrying.
      if (isObject(answer) && answer.result === true) return true;
      record.error = `merchant did not acknowledge: expected {"result":true}, got ${text.slice(0, 200)}`;
      return false;
    } catch (error) {
      record.error = `could not reach the merchant: ${error instanceof Error ? error.message : String(error)}`;
      return false;
    }
  }
}
