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
export interface FanoutSubscriber<P> {
  /** Writes the `next` message carrying this serialized payload (the caller adds its id). */
  deliver(payload: P): void;
}

export interface SubscriptionFanoutOptions<A, P> {
  /** Starts the shared stream: graphql-js `subscribe` over the first subscriber's args. */
  subscribe(args: A): Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;
  /**
   * Runs the start of a new stream — its `subscribe`, so every later execution of it too — in
   * the scope of the subscriber that started it (its log fields, its trace). A joiner runs
   * nothing, so it is not entered for joiners: their iterators' promises then capture no
   * async context of their own. @default runs `start` as it is
   */
  startIn?: <T>(args: A, start: () => T) => T;
  /**
   * The `next` payload, serialized: called once per result, whatever the subscriber count,
   * and handed as it is to every member's `deliver`.
   */
  serialize(result: ExecutionResult): P;
  /** A shared stream produced a result (one execution) for `count` subscribers. @default none */
  onResult?: (field: string, count: number) => void;
  /** A shared stream started (+1) or ended (-1). @default none */
  onStream?: (field: string, delta: 1 | -1) => void;
}

interface Stream<P> {
  key: string;
  field: string;
  rule: JoinRule;
  members: Set<Member<P>>;
  /** Results multicast so far. */
  delivered: number;
  /** The last payload (kept for `replay-last` joiners). */
  last: P | undefined;
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
export class SubscriptionFanout<A, P> {
  /** The stream a new subscriber with this key may still join. */
  private readonly joinable = new Map<string, Stream<P>>();
  private streams = 0;

  constructor(private readonly options: SubscriptionFanoutOptions<A, P>) {}

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
    subscriber: FanoutSubscriber<P>,
  ): Promise<AsyncIterableIterator<never> | ExecutionResult> {
    let stream = this.joinable.get(key);
    if (!stream || !mayJoin(stream, rule)) {
      const open = () => this.open(key, field, rule, args);
      stream = this.options.startIn ? this.options.startIn(args, open) : open();
    }
    const member = this.join(stream, subscriber);
    const failed = await stream.started;
    if (failed) {
      this.leave(stream, member);
      return failed;
    }
    return member;
  }

  private open(key: string, field: string, rule: JoinRule, args: A): Stream<P> {
    const stream: Stream<P> = {
      key,
      field,
      rule,
      members: new Set(),
      delivered: 0,
      last: undefined,
      started: Promise.resolve(undefined),
      iterator: undefined,
      ended: false,
    };
    this.joinable.set(key, stream);
    stream.started = this.start(stream, args);
    return stream;
  }

  private async start(stream: Stream<P>, args: A): Promise<ExecutionResult | undefined> {
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
    void this.pump(stream, stream.iterator);
    return undefined;
  }

  /** Multicasts every result of the stream; never awaits a member. */
  private async pump(stream: Stream<P>, iterator: AsyncIterator<ExecutionResult>): Promise<void> {
    try {
      for (;;) {
        const step = await iterator.next();
        if (step.done || stream.ended) break;
        const payload = this.options.serialize(step.value);
        stream.delivered += 1;
        if (stream.rule === 'before-first') this.unlist(stream);
        if (stream.rule === 'replay-last') stream.last = payload;
        this.options.onResult?.(stream.field, stream.members.size);
        for (const member of stream.members) member.subscriber.deliver(payload);
      }
      this.end(stream);
    } catch (error) {
      this.end(stream, error);
    }
  }

  private join(stream: Stream<P>, subscriber: FanoutSubscriber<P>): Member<P> {
    const member = new Member(subscriber, stream, this);
    if (stream.ended) {
      member.finish();
      return member;
    }
    stream.members.add(member);
    if (stream.last !== undefined) subscriber.deliver(stream.last);
    return member;
  }

  /** `member` leaves `stream`; the last member leaving ends it. */
  leave(stream: Stream<P>, member: Member<P>): void {
    if (!stream.members.delete(member)) return;
    if (stream.members.size === 0 && stream.iterator) this.end(stream);
  }

  /** Ends the stream for every member (with `error`, if it failed) and returns its source. */
  private end(stream: Stream<P>, error?: unknown): void {
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

  private unlist(stream: Stream<P>): void {
    if (this.joinable.get(stream.key) === stream) this.joinable.delete(stream.key);
  }
}

function mayJoin<P>(stream: Stream<P>, rule: JoinRule): boolean {
  if (stream.ended || stream.rule !== rule) return false;
  return rule !== 'before-first' || stream.delivered === 0;
}

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined });

interface Waiting {
  promise: Promise<IteratorResult<never>>;
  resolve(result: IteratorResult<never>): void;
  reject(error: unknown): void;
}

/**
 * One socket's subscription in a stream, and the iterator graphql-ws drains for it: it yields
 * nothing and settles when the member's part ends — done on completion, rejected with the
 * stream's error. One object per member, its methods on the prototype: with thousands of idle
 * subscribers, closures and promises per member are most of what the fan-out holds. The
 * promise is made when graphql-ws first asks (it does at once), so a member that ends before
 * anyone waits leaves no rejection unhandled.
 */
class Member<P> implements AsyncIterableIterator<never> {
  /** Set once the member's part ended: `error` undefined for a normal end. */
  private ended: { error: unknown } | undefined = undefined;
  private waiting: Waiting | undefined = undefined;

  constructor(
    readonly subscriber: FanoutSubscriber<P>,
    private readonly stream: Stream<P>,
    private readonly fanout: { leave(stream: Stream<P>, member: Member<P>): void },
  ) {}

  next(): Promise<IteratorResult<never>> {
    if (this.ended) {
      const { error } = this.ended;
      return error === undefined ? Promise.resolve(DONE) : Promise.reject(error);
    }
    if (!this.waiting) {
      const waiting = {} as Waiting;
      waiting.promise = new Promise((resolve, reject) => {
        waiting.resolve = resolve;
        waiting.reject = reject;
      });
      this.waiting = waiting;
    }
    return this.waiting.promise;
  }

  async return(): Promise<IteratorResult<never>> {
    this.fanout.leave(this.stream, this);
    this.finish();
    return DONE;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<never> {
    return this;
  }

  /** Ends the member's part (with `error`, if its stream failed); later calls do nothing. */
  finish(error?: unknown): void {
    if (this.ended) return;
    this.ended = { error };
    const waiting = this.waiting;
    this.waiting = undefined;
    if (error === undefined) waiting?.resolve(DONE);
    else waiting?.reject(error);
  }
}
