import {
  bulkhead,
  CircuitState,
  circuitBreaker,
  ConsecutiveBreaker,
  handleWhen,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  wrap,
} from 'cockatiel';
import { ErrorCode, ServiceError } from '../errors.js';
import type { Logger } from '../logger.js';
import { VARIABLES } from '../config/variables.js';

/**
 * What stands between every request shape and one upstream, per process: a bulkhead and a
 * circuit breaker (cockatiel's).
 *
 * - **Bulkhead.** At most `maxConcurrency` calls are in flight to the upstream; the rest wait
 *   in a bounded queue. Ten thousand aliases, two thousand `_entities` representations or a
 *   thousand pollers all reach the upstream at the same bounded rate; past the queue, a call
 *   fails at once with UPSTREAM_UNAVAILABLE naming the limit.
 * - **Circuit breaker.** After `breakerThreshold` consecutive failures that say the upstream
 *   is down (timeouts, refused connections, 5xx), calls fail fast for `halfOpenAfterMs`
 *   without reaching it; then one probe goes through, and its success closes the circuit.
 *   Retries stop with it: a plainly dead upstream is not hammered.
 *
 * Failing fast happens before a request leaves the process, so a money-moving call refused
 * here releases its idempotency key (nothing was sent).
 */
export interface UpstreamGuardOptions {
  /** Human name of the upstream, for messages and logs ("Chillr", "PayByGroup"). */
  upstream: string;
  /** Calls in flight at once. @default as UPSTREAM_MAX_CONCURRENCY (src/config/) */
  maxConcurrency?: number;
  /** Calls waiting for a slot before new ones are refused. @default as UPSTREAM_MAX_QUEUE */
  maxQueue?: number;
  /** Consecutive failures that open the circuit. @default as UPSTREAM_BREAKER_THRESHOLD */
  breakerThreshold?: number;
  /**
   * How long an open circuit refuses calls before letting a probe through.
   * @default as UPSTREAM_BREAKER_HALF_OPEN_MS
   */
  halfOpenAfterMs?: number;
  logger: Logger;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export class UpstreamGuard {
  private readonly bulkhead;
  private readonly breaker;
  private readonly policy;
  private readonly upstream: string;
  private readonly limits: { maxConcurrency: number; maxQueue: number; halfOpenAfterMs: number };

  constructor(options: UpstreamGuardOptions) {
    this.upstream = options.upstream;
    this.limits = {
      maxConcurrency: options.maxConcurrency ?? VARIABLES.UPSTREAM_MAX_CONCURRENCY.default,
      maxQueue: options.maxQueue ?? VARIABLES.UPSTREAM_MAX_QUEUE.default,
      halfOpenAfterMs: options.halfOpenAfterMs ?? VARIABLES.UPSTREAM_BREAKER_HALF_OPEN_MS.default,
    };
    this.bulkhead = bulkhead(this.limits.maxConcurrency, this.limits.maxQueue);
    this.breaker = circuitBreaker(handleWhen(meansUpstreamDown), {
      halfOpenAfter: this.limits.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(
        options.breakerThreshold ?? VARIABLES.UPSTREAM_BREAKER_THRESHOLD.default,
      ),
    });
    this.breaker.onStateChange((state) => {
      options.logger.warn(
        { upstream: this.upstream, breaker: stateName(state) },
        `circuit breaker for ${this.upstream} is ${stateName(state)}`,
      );
    });
    // The breaker outside: an open circuit refuses before a call takes a queue place.
    this.policy = wrap(this.breaker, this.bulkhead);
  }

  /** Runs one attempt of an upstream call under the breaker and the bulkhead. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(call);
    } catch (error) {
      if (isBrokenCircuitError(error)) {
        throw new ServiceError(
          ErrorCode.UPSTREAM_UNAVAILABLE,
          `${this.upstream} is failing; calls to it are paused (circuit breaker open, UPSTREAM_BREAKER_HALF_OPEN_MS=${this.limits.halfOpenAfterMs}). Nothing was sent; try again later.`,
          { details: { refusedBy: 'breaker' } },
        );
      }
      if (isBulkheadRejectedError(error)) {
        throw new ServiceError(
          ErrorCode.UPSTREAM_UNAVAILABLE,
          `Too many calls to ${this.upstream} are waiting (UPSTREAM_MAX_CONCURRENCY=${this.limits.maxConcurrency} in flight, UPSTREAM_MAX_QUEUE=${this.limits.maxQueue} queued). Nothing was sent; try again later.`,
          { details: { refusedBy: 'bulkhead' } },
        );
      }
      throw error;
    }
  }

  /** The breaker's state, for readiness and metrics. */
  get breakerState(): BreakerState {
    return stateName(this.breaker.state);
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.limits.maxConcurrency - this.bulkhead.executionSlots;
  }
}

/** True for a call this guard refused before sending it: retrying at once would only repeat that. */
export function refusedByGuard(error: unknown): boolean {
  return error instanceof ServiceError && error.details?.refusedBy !== undefined;
}

/** Timeouts, refused connections and 5xx say the upstream is down; a 4xx or bad body does not. */
function meansUpstreamDown(error: unknown): boolean {
  return (
    error instanceof ServiceError &&
    (error.code === ErrorCode.UPSTREAM_TIMEOUT || error.code === ErrorCode.UPSTREAM_UNAVAILABLE)
  );
}

function stateName(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return 'closed';
  if (state === CircuitState.HalfOpen) return 'half-open';
  return 'open';
}
