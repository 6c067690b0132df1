import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { CallbackResponse, PbgCallbacks } from '../http/callbacks/pbg-handlers.js';
import { purchaseObjectProblem } from './limits.js';
import { readGroupPurchase } from '../pbg/parse.js';
import type { PurchaseStateStore } from './state.js';
import type { Observed } from './decide.js';
import type { GroupPurchaseRecord } from '../pbg/types.js';
import { GroupPurchaseChangeSource } from './stored.js';
import { settleAll } from '../settle-all.js';

export interface ChangePushOptions {
  callbacks: PbgCallbacks;
  /** The owner of purchase state: every event is observed through it. */
  state: PurchaseStateStore;
  logger: Logger;
  /**
   * Events checked and parsed per slice of the event loop, with a yield between slices.
   * @default 500
   */
  sliceSize?: number;
  /** `payments_change_push_events_total{outcome}`, per event. @default none */
  metrics?: Metrics;
}

/** A refused event: its index in `events` and why. */
export interface RefusedEvent {
  index: number;
  reason: string;
}

/**
 * PBG's Change Push API (`POST /pbg/change_push`, or `POST /pbg` with `events`).
 *
 * Every readable event is observed through the purchase state owner, which writes each change
 * and its change-log entry in one atomic step; only when every event is stored (a change), known
 * (a repeat) or kept out (stale: older than the known state) does PayByGroup get
 * `{"result": true}`. If the store fails, the answer is 503 and PayByGroup pushes again — what was
 * stored meanwhile is then a repeat, so nothing is logged twice and nothing acknowledged is lost.
 * No event is ever "claimed": a process that dies mid-push leaves nothing that blocks the retry.
 *
 * Each event is checked for nesting depth and size before anything else reads it (limits.ts),
 * and refused by index in `refused` when it breaks one.
 *
 * A bulk push is observed a slice of events at a time, each slice handed to the purchase state
 * owner as soon as it is read, which compares its events and commits the changes of distinct
 * purchases in as few state log commits as keep up (one SQLite transaction in the writer thread,
 * one Redis pipeline, one PostgreSQL transaction each), while the next slice is read; a purchase
 * listed twice has its later events in later commits, in order. The main-thread work (checking
 * and parsing here, comparing and serializing there) runs in slices with a yield to the event
 * loop between them, so 5,000 events never hold other requests for more than one slice.
 */
export class ChangePushReceiver {
  private readonly sliceSize: number;

  constructor(private readonly options: ChangePushOptions) {
    this.sliceSize = options.sliceSize ?? 500;
  }

  async handle(raw: unknown): Promise<CallbackResponse> {
    const checked = this.options.callbacks.check(raw, 'change push');
    if ('status' in checked) return checked;
    const events = checked.body.events;
    if (!Array.isArray(events)) {
      return refuse('events must be an array of purchase objects.');
    }
    if (events.length === 0) {
      return refuse('events is empty; a change push carries at least one event.');
    }
    const { accepted, refused, observing } = await this.readAndObserve(events);
    this.options.metrics?.changePush('refused', refused.length);
    if (accepted === 0) {
      this.options.logger.warn({ refused: refused.length }, 'change push with no readable event');
      return {
        status: 400,
        body: { result: false, error: 'No event in this push could be read.', refused },
      };
    }

    let outcomes: Observed[];
    try {
      // Every slice's outcomes, in order, once all have settled.
      outcomes = (await settleAll(observing)).flat();
    } catch (error) {
      // Nothing is acknowledged: PBG pushes again, and what was stored is then a repeat.
      this.options.logger.error(
        { err: error, events: accepted },
        'change push not stored; answering 503 so PBG retries',
      );
      return {
        status: 503,
        body: { result: false, error: 'Could not store the events; please push again.' },
      };
    }
    const counts = countKinds(outcomes);
    this.count(counts);
    this.options.logger.info(
      { events: events.length, refused: refused.length, ...counts },
      'change push stored',
    );
    return { status: 200, body: refused.length > 0 ? { result: true, refused } : { result: true } };
  }

  private count(counts: Record<string, number>): void {
    const metrics = this.options.metrics;
    metrics?.changePush('stored', counts.changes ?? 0);
    metrics?.changePush('repeat', counts.repeats ?? 0);
    metrics?.changePush('stale', counts.stale ?? 0);
    metrics?.changePush('refused', counts.refused ?? 0);
  }

  /**
   * Splits the events into readable purchases and refusals (by index, with the reason), a slice
   * at a time, and hands each slice's purchases to the state owner as soon as it is read: the
   * limit check and parsing walk every event (~50 ms for 5,000 events on the 2-core machine),
   * and a slice observed meanwhile is compared and committed while the next one is read,
   * instead of every commit waiting for the last event to be parsed. The slices share one
   * CommitLane, so the log holds the push in its order, slices decided while a commit ran go
   * together in the next, and a push that fails part-way has stored a prefix of it.
   */
  private async readAndObserve(events: unknown[]): Promise<{
    accepted: number;
    refused: RefusedEvent[];
    observing: Array<Promise<Observed[]>>;
  }> {
    const refused: RefusedEvent[] = [];
    const observing: Array<Promise<Observed[]>> = [];
    const lane = this.options.state.commitLane();
    let accepted = 0;
    for (let start = 0; start < events.length; start += this.sliceSize) {
      if (start > 0) await yieldToEventLoop();
      const slice = this.read(events, start, Math.min(events.length, start + this.sliceSize));
      refused.push(...slice.refused);
      if (slice.accepted.length === 0) continue;
      accepted += slice.accepted.length;
      // Each accepted event passed purchaseObjectProblem in read(): not checked again there.
      // Committed after the slices before it (one lane): the log keeps the push's order.
      const observed = this.options.state.observe(slice.accepted, GroupPurchaseChangeSource.PUSH, {
        withinLimits: true,
        lane,
      });
      // Awaited together in handle(); a failure must not count as unhandled meanwhile.
      observed.catch(() => undefined);
      observing.push(observed);
    }
    return { accepted, refused, observing };
  }

  /** Events `from` to `to` as readable purchases and refusals. */
  private read(
    events: unknown[],
    from: number,
    to: number,
  ): { accepted: GroupPurchaseRecord[]; refused: RefusedEvent[] } {
    const refused: RefusedEvent[] = [];
    const accepted: GroupPurchaseRecord[] = [];
    for (let index = from; index < to; index++) {
      const event = events[index];
      const problem = purchaseObjectProblem(event);
      if (problem !== undefined) {
        refused.push({ index, reason: problem });
        continue;
      }
      const record = readGroupPurchase(event, this.options.logger, `change push event ${index}`);
      if (record === null) {
        refused.push({
          index,
          reason: 'each event must be an object with a non-empty string purchase_id',
        });
      } else accepted.push(record);
    }
    return { accepted, refused };
  }
}

function countKinds(outcomes: Observed[]): Record<string, number> {
  const counts: Record<string, number> = { changes: 0, repeats: 0, stale: 0, refused: 0 };
  for (const outcome of outcomes) {
    const key =
      outcome.kind === 'change' ? 'changes' : outcome.kind === 'repeat' ? 'repeats' : outcome.kind;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function refuse(error: string): CallbackResponse {
  return { status: 400, body: { result: false, error } };
}
