import type { Logger } from '../../logger.js';

/** The two upstream endpoints of the Mass Collect document. */
export type ChillrEndpoint = 'collect' | 'check_collect_status';

/** What a test or a demo may set a Chillr user's payment to. */
export type SettablePaymentStatus = 'paid' | 'failed' | 'pending';

/**
 * A fault queued for the next `times` calls of one endpoint. Faults of an endpoint are used in
 * the order they were queued; each call consumes one use of the oldest fault.
 *
 * - `status`: HTTP 200 with the document's failure envelope carrying `status_code: statusCode`
 *   (59 is the only way to get "Internal server error", which the simulator never has on its own).
 * - `delay`: wait `ms` milliseconds, then answer normally.
 * - `garbage`: HTTP 200, `content-type: application/json`, a body that is not JSON.
 * - `http500`: HTTP 500 with an HTML body, like a proxy in front of a crashed upstream.
 */
export type ChillrFault =
  | { endpoint: ChillrEndpoint; kind: 'status'; statusCode: number; times?: number }
  | { endpoint: ChillrEndpoint; kind: 'delay'; ms: number; times?: number }
  | { endpoint: ChillrEndpoint; kind: 'garbage'; times?: number }
  | { endpoint: ChillrEndpoint; kind: 'http500'; times?: number };

/** A merchant's key pair, as the document's `api_key` / `api_secret_key`. */
export interface ChillrCredentials {
  apiKey: string;
  apiSecretKey: string;
}

export interface ChillrSimulatorOptions {
  /**
   * TCP port to listen on; 0 picks a free one (read it back from `url`).
   * @default 0
   */
  port?: number;
  /**
   * Interface to listen on. Loopback by default: the simulator accepts a fixed, published key
   * pair, so it should not be reachable from other machines unless someone asks for it.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The only key pair the simulator accepts (anything else is failure 57 or 56).
   * @default SANDBOX_CHILLR_CREDENTIALS
   */
  credentials?: ChillrCredentials;
  /**
   * Seed the document's status-check sample batch `5743fcb263686923fc0d0000`, so that the
   * sample request works against a fresh simulator.
   * @default true
   */
  seed?: boolean;
  /**
   * A JSON file that keeps the simulator's batches across restarts: read at start (a missing
   * file means a fresh, seeded simulator) and rewritten after every change.
   * @default undefined (state lives in memory only)
   */
  stateFile?: string;
  /**
   * Clock used for every expiry decision; tests pass a controllable one.
   * @default () => new Date()
   */
  now?: () => Date;
  /**
   * Where the simulator logs calls (never bodies, so never credentials).
   * @default silentLogger
   */
  logger?: Logger;
}

/** Counts of upstream API calls received; calls to the `/_sandbox/` control API are not counted. */
export interface ChillrCallCounts {
  /** POST /api/v5/collect calls. */
  collect: number;
  /** POST /api/v5/check_collect_status calls. */
  checkCollectStatus: number;
  /** check_collect_status calls per requested `batch_id` (as sent, whether it exists or not). */
  byBatchId: Map<string, number>;
}

export interface ChillrSimulator {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** Live counters; `resetCalls()` zeroes this same object, so a held reference stays valid. */
  readonly calls: ChillrCallCounts;
  resetCalls(): void;
  /** Throws on an unknown batch, an msisdn not in it, or an msisdn that is not a Chillr user. */
  setPaymentStatus(batchId: string, msisdn: string, status: SettablePaymentStatus): void;
  /** Marks a batch expired now, whatever its expiry date. Throws on an unknown batch. */
  expireBatch(batchId: string): void;
  /** Queues a fault; throws on a malformed one. */
  injectFault(fault: ChillrFault): void;
  /** Stops listening and drops open connections (including delayed calls). Idempotent. */
  close(): Promise<void>;
}
