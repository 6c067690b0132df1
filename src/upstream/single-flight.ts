import { canonicalJson } from '../canonical-json.js';
import type { Metrics, UpstreamLabel } from '../observability/metrics.js';

export interface SingleFlightOptions {
  /** Which upstream this instance guards, for `payments_upstream_singleflight_total`. */
  upstream: UpstreamLabel;
  /** Counts every run as `sent` (it made the call) or `joined` (it shared one). @default none */
  metrics?: Metrics;
}

export interface RunOptions {
  /**
   * Stops this caller's wait, and only its wait: the shared call goes on for everyone else
   * (and still settles, counted, if nobody waits any more).
   * @default none
   */
  signal?: AbortSignal;
}

/** What a SingleFlight has done since it was made. */
export interface SingleFlightStats {
  /** Calls made: the first caller of each flight. */
  sent: number;
  /** Callers that shared a call already in flight. */
  joined: number;
  /** Flights in the air now. */
  inFlight: number;
}

/**
 * One upstream call per distinct question *at a time*, across requests: while a read for a key
 * is in flight, every other caller asking the same key waits for that read instead of sending
 * its own. The key is the operation plus the canonical JSON of its arguments (key order does
 * not matter), so "the same question" means the same bytes would go upstream.
 *
 * Why these rules:
 *
 * - **Nothing is kept after the call settles.** The flight leaves the map *before* its promise
 *   settles (inside the call's own `finally`), so a caller that arrives after the answer can
 *   never be handed it: it starts a new call. Serving an earlier answer is a cache, and a cache
 *   has a staleness window someone must choose and document (CollectService's status cache,
 *   PurchaseService's state cache). A failure is shared by the callers of that flight only,
 *   never remembered.
 * - **No caller can cancel the shared call.** The call is started without any caller's signal;
 *   its time limit is the upstream client's own per-attempt timeout, the same for everyone. A
 *   caller that gives up (`signal`) stops waiting; the others still get the answer.
 * - **Only reads.** A money-moving call must never be shared, and neither may a read whose
 *   meaning depends on *when* it was sent — the read-back that judges whether a lost action
 *   happened needs a read sent after that action, not one that happened to be in flight.
 *   Callers choose; this unit cannot tell.
 *
 * Per process: instances behind the router each make their own call (sharing across processes
 * would need a lock in the store, costing a round trip on every read to save one upstream call).
 */
export class SingleFlight {
  private readonly flights = new Map<string, Promise<unknown>>();
  private readonly counts = { sent: 0, joined: 0 };

  constructor(private readonly options: SingleFlightOptions) {}

  /**
   * The answer of `call`, or of the identical call already in flight. `args` is everything
   * that makes the question distinct (ids, filters, the merchant, …): two callers with equal
   * `operation` and canonically equal `args` share one call.
   */
  run<T>(
    operation: string,
    args: unknown,
    call: () => Promise<T>,
    options: RunOptions = {},
  ): Promise<T> {
    const key = `${operation}\n${canonicalJson(args)}`;
    let flight = this.flights.get(key) as Promise<T> | undefined;
    if (flight) {
      this.count('joined');
    } else {
      this.count('sent');
      flight = this.start(key, call);
    }
    return options.signal ? abortable(flight, options.signal) : flight;
  }

  stats(): SingleFlightStats {
    return { ...this.counts, inFlight: this.flights.size };
  }

  private start<T>(key: string, call: () => Promise<T>): Promise<T> {
    const holder: { flight?: Promise<T> } = {};
    const flight = (async () => {
      try {
        return await call();
      } finally {
        // Before the flight settles: nobody can join an answer that has already arrived.
        if (this.flights.get(key) === holder.flight) this.flights.delete(key);
      }
    })();
    holder.flight = flight;
    this.flights.set(key, flight);
    // Every caller may have stopped waiting; the failure is still theirs, not an unhandled one.
    flight.catch(() => undefined);
    return flight;
  }

  private count(result: 'sent' | 'joined'): void {
    this.counts[result] += 1;
    this.options.metrics?.singleFlight(this.options.upstream, result);
  }
}

/** `flight`, or this caller's abort reason if its signal fires first. The flight goes on. */
function abortable<T>(flight: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    flight.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('the caller stopped waiting');
}
