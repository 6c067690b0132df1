import { createHash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { canonicalJson } from '../canonical-json.js';
import {
  GROUP_PURCHASE_CHANGED,
  type EventBus,
  type GroupPurchaseChange,
} from '../events/pubsub.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from '../store/index.js';
import type { CallbackResponse, PbgCallbacks } from './callbacks.js';
import { readGroupPurchase } from './parse.js';
import type { PurchaseStateStore } from './purchase-state.js';
import type { GroupPurchaseRecord } from './types.js';

export interface ChangePushOptions {
  callbacks: PbgCallbacks;
  store: Store;
  state: PurchaseStateStore;
  bus: EventBus;
  logger: Logger;
  /** How long event ids are remembered to drop repeats. @default 30 days */
  eventTtlMs?: number;
  /** Events handled between yields to the event loop. @default 100 */
  chunkSize?: number;
  /** @default () => new Date() */
  now?: () => Date;
  /** `payments_change_push_events_total{outcome}`. @default none */
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
 * The order matters for a payments integration: every event is **written to the store before**
 * the `{"result": true}` answer — if the store fails, PBG gets a 503 and pushes again, and
 * nothing was acknowledged that could be lost — and only then published to subscribers.
 * An event's id is a hash of its content, so a repeated push is stored and published once
 * (the atomic `setIfAbsent` makes that hold across instances too).
 *
 * Large pushes are handled in chunks with a yield between them, so 5,000 events do not hold
 * the event loop (and every other request) for the whole push.
 */
export class ChangePushReceiver {
  /** Serialises pushes per purchase in this process, so diffs chain in arrival order. */
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly eventTtlMs: number;
  private readonly chunkSize: number;

  constructor(private readonly options: ChangePushOptions) {
    this.eventTtlMs = options.eventTtlMs ?? 30 * 86_400_000;
    this.chunkSize = options.chunkSize ?? 100;
  }

  async handle(raw: unknown): Promise<CallbackResponse> {
    const checked = this.options.callbacks.check(raw, 'change push');
    if ('status' in checked) return checked;
    const events = checked.body.events;
    if (!Array.isArray(events)) {
      return {
        status: 400,
        body: { result: false, error: 'events must be an array of purchase objects.' },
      };
    }
    if (events.length === 0) {
      return {
        status: 400,
        body: {
          result: false,
          error: 'events is empty; a change push carries at least one event.',
        },
      };
    }

    const refused: RefusedEvent[] = [];
    const accepted: Array<{
      index: number;
      raw: Record<string, unknown>;
      record: GroupPurchaseRecord;
    }> = [];
    events.forEach((event: unknown, index) => {
      const record = readGroupPurchase(event, this.options.logger, `change push event ${index}`);
      if (record === null) {
        refused.push({
          index,
          reason: 'each event must be an object with a non-empty string purchase_id',
        });
      } else {
        accepted.push({ index, raw: event as Record<string, unknown>, record });
      }
    });
    this.options.metrics?.changePush('refused', refused.length);
    if (accepted.length === 0) {
      this.options.logger.warn({ refused: refused.length }, 'change push with no readable event');
      return {
        status: 400,
        body: { result: false, error: 'No event in this push could be read.', refused },
      };
    }

    const receivedAt = (this.options.now?.() ?? new Date()).toISOString();
    const changes: GroupPurchaseChange[] = [];
    try {
      for (let start = 0; start < accepted.length; start += this.chunkSize) {
        const chunk = accepted.slice(start, start + this.chunkSize);
        const stored = await Promise.all(
          chunk.map((event) =>
            this.serialised(event.record.purchaseId, () =>
              this.store(event.raw, event.record, receivedAt),
            ),
          ),
        );
        for (const change of stored) if (change) changes.push(change);
        if (start + this.chunkSize < accepted.length) await yieldToEventLoop();
      }
    } catch (error) {
      // Nothing is acknowledged: PBG will push again, and what was stored is deduplicated.
      this.options.logger.error(
        { err: error, stored: changes.length },
        'change push not stored; answering 503 so PBG retries',
      );
      return {
        status: 503,
        body: { result: false, error: 'Could not store the events; please push again.' },
      };
    }

    this.options.logger.info(
      {
        events: events.length,
        stored: changes.length,
        repeats: accepted.length - changes.length,
        refused: refused.length,
      },
      'change push stored',
    );
    this.options.metrics?.changePush('stored', changes.length);
    this.options.metrics?.changePush('repeat', accepted.length - changes.length);
    void this.publish(changes);
    return { status: 200, body: refused.length > 0 ? { result: true, refused } : { result: true } };
  }

  /**
   * Stores one event unless it was seen before; returns the change to publish, or null.
   *
   * An event id moves through three states in the store: `claimed` (this or another instance
   * is storing it), `stored` (its state is written; publishing may not have happened — the push
   * was answered 503 because a later event failed, or the process died after the answer) and
   * `published`. A repeat of a `published` event is dropped; a repeat of a `stored` one is
   * published now, so an acknowledged change always reaches subscribers; a `claimed` one is
   * in progress elsewhere (503, PBG retries) until it is older than the claim timeout, when a
   * crashed claimant's work is taken over. A claim whose state write fails is released.
   */
  private async store(
    raw: Record<string, unknown>,
    record: GroupPurchaseRecord,
    receivedAt: string,
  ): Promise<GroupPurchaseChange | null> {
    const eventId = eventIdOf(raw);
    const events = this.options.store.namespace<StoredEvent>('events');
    const previous = (await this.options.state.baseline(record.purchaseId)) ?? undefined;
    let change: GroupPurchaseChange = {
      eventId,
      purchase: record,
      changedFields: changedFields(previous, record),
      previousStatus: previous?.status ?? null,
      receivedAt,
    };
    const claim: StoredEvent = { state: 'claimed', change, at: Date.now() };
    if (!(await this.options.store.setIfAbsent('events', eventId, claim, this.eventTtlMs))) {
      const existing = await events.get(eventId);
      if (existing?.state === 'published') return null;
      if (existing?.state === 'stored') return existing.change;
      if (existing && Date.now() - existing.at < CLAIM_TIMEOUT_MS) {
        throw new Error(`event ${eventId} is being stored by another request`);
      }
      // A claim older than the timeout belongs to a request that died: take it over.
      if (existing) change = existing.change;
    }
    try {
      await this.options.state.putPushed(record);
      await events.set(eventId, { state: 'stored', change, at: Date.now() }, this.eventTtlMs);
    } catch (error) {
      await events.delete(eventId).catch(() => undefined);
      throw error;
    }
    return change;
  }

  private async publish(changes: GroupPurchaseChange[]): Promise<void> {
    const events = this.options.store.namespace<StoredEvent>('events');
    for (let start = 0; start < changes.length; start += this.chunkSize) {
      const chunk = changes.slice(start, start + this.chunkSize);
      for (const change of chunk) this.options.bus.publish(GROUP_PURCHASE_CHANGED, change);
      try {
        await Promise.all(
          chunk.map((change) =>
            events.set(
              change.eventId,
              { state: 'published', change, at: Date.now() },
              this.eventTtlMs,
            ),
          ),
        );
      } catch (error) {
        // Left `stored`: a repeat of these events publishes them again (at least once).
        this.options.logger.warn({ err: error }, 'could not mark change-push events published');
      }
      // Let subscribers drain between chunks instead of queueing thousands of messages at once.
      await yieldToEventLoop();
    }
  }

  private serialised<T>(purchaseId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(purchaseId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(purchaseId, tail);
    void tail.then(() => {
      if (this.tails.get(purchaseId) === tail) this.tails.delete(purchaseId);
    });
    return next;
  }
}

/** How an event id is kept in the store (see ChangePushReceiver.store). */
interface StoredEvent {
  state: 'claimed' | 'stored' | 'published';
  change: GroupPurchaseChange;
  /** Epoch ms of the last state change. */
  at: number;
}

/** How long a claim protects an event being stored by another request. */
const CLAIM_TIMEOUT_MS = 30_000;

/** The fields whose change makes PBG push, compared with the last known state. */
const WATCHED = ['status', 'commitDeadline', 'numPeople'] as const;

function changedFields(
  previous: GroupPurchaseRecord | undefined,
  next: GroupPurchaseRecord,
): string[] {
  if (!previous) return [...WATCHED].filter((field) => next[field] !== null);
  return WATCHED.filter((field) =>
    field === 'status' ? previous.rawStatus !== next.rawStatus : previous[field] !== next[field],
  );
}

/** sha256 over the event with its keys sorted: same content → same id, whatever the key order. */
export function eventIdOf(event: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(event)).digest('hex');
}
