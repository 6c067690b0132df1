import type { ExecutionResult } from 'graphql';

/**
 * When a new subscriber may join a stream that is already running for the same key.
 *
 * - `anytime`: the stream's events do not depend on when it started (a live feed that starts
 *   at "now"); a joiner gets every event produced after it joined, and possibly one produced
 *   just before (an execution already under way when it joined).
 * - `replay-last`: each event is the whole current state (a batch as it is now); a joiner gets
 *   the last event at once, then every later one.
 * - `before-first`: the stream replays history (a cursor); a joiner is only sound while the
 *   stream has delivered nothing, so it may join until the first delivery, never after.
 */
export type JoinRule = 'anytime' | 'replay-last' | 'before-first';

/** One socket's subscription, as the fan-out sees it. */
export interface FanoutSubscriber {
  /**
   * Writes the `next` message carrying this serialized payload (the caller adds its id);
   * `result` is what it was serialized from (the same object for every subscriber).
   */
  deliver(payloadJson: string, result: ExecutionResult): void;
}

export interface SubscriptionFanoutOptions<A> {
  /** Starts the shared stream: graphql-js `subscribe` over the first subscriber's args. */
  subscribe(args: A): Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;
  /** The `next` payload's JSON text: called once per result, whatever the subscriber count. */
  serialize(result: ExecutionResult): string;
  /** A shared stream produced a result (one execution) for `count` subscribers. @default none */
  onResult?: (field: string, count: number) => void;
  /** A shared stream started (+1) or ended (-1). @default none */
  onStream?: (field: string, delta: 1 | -1) => void;
}

interface Member {
  subscriber: FanoutSubscriber;
  finish(error?: unknown): void;
  done: Promise<IteratorResult<never>>;
}

interface Stream {
  key: string;
  field: string;
  rule: JoinRule;
  members: Set<Member>;
  /** Results multicast so far. */
  delivered: number;
  /** The last payload (kept for `replay-last` joiners). */
  last: string | undefined;
  /** What `last` was serialized from. */
  lastResult: ExecutionResult | undefined;
  /** Resolves once started: a result for a stream that failed to start, else undefined. */
  started: Promise<ExecutionResult | undefined>;
  iterator: AsyncIterator<ExecutionResult> | undefined;
  ended: boolean;
}

/**
 * One execution per distinct subscription per event, however many sockets hold it.
 *
 * Subscriptions with the same key (document, operation name, variables and what the context
 * lets the caller see; ws.ts builds it) share one stream: one graphql-js `subscribe`, so one
 * execution per event, serialized once, and the same payload text written to every member
 * (only the message id differs). Nothing here waits for a member: `deliver` only queues bytes
 * on a socket (the transport bounds and drops a slow one), so a slow socket never delays the
 * others, and one member leaving or failing never ends the stream for the rest.
 *
 * The core gets back, per member, an iterator that yields nothing and settles when the stream
 * ends: done on completion, rejected with the stream's error, so graphql-ws sends `complete` or
 * `error` through its usual path. The last member leaving returns the stream (stopping the
 * change-log follower or the batch poller behind it).
 */
export class SubscriptionFanout<A> {
  /** The stream a new subscriber with this key may still join. */
  private readonly joinable = new Map<string, Stream>();
  private streams = 0;

  constructor(private readonly options: SubscriptionFanoutOptions<A>) {}

  /** Running shared streams, for tests. */
  stats(): { streams: number } {
    return { streams: this.streams };
  }

  /**
   * Joins (or starts) the stream for `key`. Resolves with the member's iterator, or with the
   * result a stream that could not start answered (every subscriber waiting for it gets it).
   */
  async subscribe(
    key: string,
    field: string,
    rule: JoinRule,
    args: A,
    subscriber: FanoutSubscriber,
  ): Promise<AsyncIterableIterator<never> | ExecutionResult> {
    let stream = this.joinable.get(key);
    if (!stream || !mayJoin(stream, rule)) stream = this.open(key, field, rule, args);
    const member = this.join(stream, subscriber);
    const failed = await stream.started;
    if (failed) {
      this.leave(stream, member);
      return failed;
    }
    const iterator: AsyncIterableIterator<never> = {
      next: () => member.done,
      return: () => {
        this.leave(stream, member);
        member.finish();
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private open(key: string, field: string, rule: JoinRule, args: A): Stream {
    const stream: Stream = {
      key,
      field,
      rule,
      members: new Set(),
      delivered: 0,
      last: undefined,
      lastResult: undefined,
      started: Promise.resolve(undefined),
      iterator: undefined,
      ended: false,
    };
    this.joinable.set(key, stream);
    stream.started = this.start(stream, args);
    return stream;
  }

  private async start(stream: Stream, args: A): Promise<ExecutionResult | undefined> {
    let source: AsyncIterable<ExecutionResult> | ExecutionResult;
    try {
      source = await this.options.subscribe(args);
    } catch (error) {
      this.end(stream, error);
      throw error;
    }
    if (!(Symbol.asyncIterator in source)) {
      this.end(stream);
      return source;
    }
    stream.iterator = source[Symbol.asyncIterator]();
    this.streams += 1;
    this.options.onStream?.(stream.field, 1);
    // Never rejects: pump ends the stream, with the error, for every member if its source fails.
    void this.pump(stream, stream.iterator);
    return undefined;
  }

  /** Multicasts every result of the stream; never awaits a member. */
  private async pump(stream: Stream, iterator: AsyncIterator<ExecutionResult>): Promise<void> {
    try {
      for (;;) {
        const step = await iterator.next();
        if (step.done || stream.ended) break;
        const payload = this.options.serialize(step.value);
        stream.delivered += 1;
        if (stream.rule === 'before-first') this.unlist(stream);
        if (stream.rule === 'replay-last') {
          stream.last = payload;
          stream.lastResult = step.value;
        }
        this.options.onResult?.(stream.field, stream.members.size);
        for (const member of stream.members) member.subscriber.deliver(payload, step.value);
      }
      this.end(stream);
    } catch (error) {
      this.end(stream, error);
    }
  }

  private join(stream: Stream, subscriber: FanoutSubscriber): Member {
    let finish!: (error?: unknown) => void;
    const done = new Promise<IteratorResult<never>>((resolve, reject) => {
      finish = (error) =>
        error === undefined ? resolve({ done: true, value: undefined }) : reject(error);
    });
    // Settled either way; a rejection nobody awaits yet must not count as unhandled.
    done.catch(() => undefined);
    const member: Member = { subscriber, finish, done };
    if (stream.ended) {
      member.finish();
      return member;
    }
    stream.members.add(member);
    if (stream.last !== undefined) subscriber.deliver(stream.last, stream.lastResult!);
    return member;
  }

  private leave(stream: Stream, member: Member): void {
    if (!stream.members.delete(member)) return;
    if (stream.members.size === 0 && stream.iterator) this.end(stream);
  }

  /** Ends the stream for every member (with `error`, if it failed) and returns its source. */
  private end(stream: Stream, error?: unknown): void {
    if (stream.ended) return;
    stream.ended = true;
    this.unlist(stream);
    const members = [...stream.members];
    stream.members.clear();
    for (const member of members) member.finish(error);
    if (stream.iterator) {
      this.streams -= 1;
      this.options.onStream?.(stream.field, -1);
      void stream.iterator.return?.()?.catch(() => undefined);
    }
  }

  private unlist(stream: Stream): void {
    if (this.joinable.get(stream.key) === stream) this.joinable.delete(stream.key);
  }
}

function mayJoin(stream: Stream, rule: JoinRule): boolean {
  if (stream.ended || stream.rule !== rule) return false;
  return rule !== 'before-first' || stream.delivered === 0;
}
