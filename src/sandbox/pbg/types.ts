import type { Logger } from '../../logger.js';
import type { PbgFault } from './faults.js';
import type { CallbackRecord } from './merchant.js';
import type { PushRecord } from './pushes.js';
import type { StartPurchaseInput } from './create.js';

export type { PbgFault, CallbackRecord, PushRecord, StartPurchaseInput };

export interface PbgSimulatorOptions {
  /**
   * TCP port; 0 picks a free one (read it back from `url`).
   * @default 0
   */
  port?: number;
  /**
   * Interface to listen on. Loopback by default: the simulator has well-known credentials.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The merchant's API key PBG accepts on the query endpoint (merch_get_purch_info.json).
   * @default SANDBOX_PBG.apiKey
   */
  apiKey?: string;
  /**
   * Merchant id of the seeded merchant: the one whose purchase_action.json calls are accepted
   * and whose endpoints the simulator calls back.
   * @default SANDBOX_PBG.merchantId
   */
  merchantId?: string;
  /**
   * 32 printable ASCII characters: required on actions and sent on every callback.
   * @default SANDBOX_PBG.merchantAuth
   */
  merchantAuth?: string;
  /**
   * Base URL of the merchant's callback endpoints (the subgraph), e.g. 'http://127.0.0.1:4000'.
   * Unset → callbacks and pushes are only recorded, never sent.
   * @default undefined
   */
  merchantBaseUrl?: string;
  /**
   * POST change pushes to `{merchantBaseUrl}/pbg/change_push` (true) or only record them (false).
   * Off by default so a sandbox never calls anything its owner did not ask for.
   * @default false
   */
  deliverChangePushes?: boolean;
  /**
   * Start with the seeded purchases (every status, see seed.ts) instead of none.
   * @default true
   */
  seed?: boolean;
  /**
   * A JSON file that keeps the purchases across restarts: read at start (a missing file means
   * a fresh, seeded simulator) and rewritten after every change. Pushes, callbacks and call
   * counts are not kept.
   * @default undefined (purchases live in memory only)
   */
  stateFile?: string;
  /**
   * Clock for created_at and default commit deadlines of new purchases.
   * @default () => new Date()
   */
  now?: () => Date;
  /**
   * Where the simulator logs (never request bodies, so never credentials).
   * @default silentLogger
   */
  logger?: Logger;
}

/** Counts and bodies of upstream requests (control calls are not counted). */
export interface PbgCalls {
  /** Requests to /api/merch_get_purch_info.json. */
  query: number;
  /** Requests to /api/purchase_action.json. */
  action: number;
  /** Query bodies as received: parsed JSON, or the raw text when it was not JSON. */
  queryBodies: unknown[];
  /** Action bodies as received: parsed JSON, or the raw text when it was not JSON. */
  actionBodies: unknown[];
}

export interface PbgSimulator {
  /** 'http://127.0.0.1:PORT': the PBG base URL to give the merchant-side client. */
  readonly url: string;
  /** Upstream requests received, for asserting what the client sent (field names included). */
  readonly calls: PbgCalls;
  /** Zeroes `calls` in place (references to `calls` stay valid). */
  resetCalls(): void;
  /** Change pushes PBG would have sent / did send, in order; entries update as delivery goes. */
  readonly pushes: PushRecord[];
  /** Calls made to purchase_create.json / inventory_status.json, in order. */
  readonly callbacks: CallbackRecord[];
  /**
   * Starts a group purchase like a user clicking "PayByGroup" on the merchant site: asks the
   * merchant's purchase_create.json for cost, image and name, then creates the purchase as
   * 'pending'. Rejects with a clear Error when the merchant's answer is unusable.
   */
  startPurchase(input: StartPurchaseInput): Promise<Record<string, unknown>>;
  /**
   * One group member pays: asks inventory_status.json first; 'unavailable' → the purchase
   * becomes 'unavailable', otherwise the payment is recorded and the last one makes it
   * 'payment_completed'. Pushes a change either way.
   */
  payShare(purchaseId: string): Promise<Record<string, unknown>>;
  /**
   * Sets any fields (a value of undefined deletes the field). Pushes a change when status,
   * commit_deadline or num_people changed — unless `push: false`, which changes the purchase
   * silently (a lost push, for reconciliation to find). purchase_id cannot change.
   */
  updatePurchase(
    purchaseId: string,
    patch: Record<string, unknown>,
    options?: { push?: boolean },
  ): Promise<Record<string, unknown>>;
  /** Makes the next request(s) to an upstream endpoint fail; faults queue per endpoint. */
  injectFault(fault: PbgFault): void;
  /** Resolves when every queued change-push delivery has finished (delivered or given up). */
  settled(): Promise<void>;
  /** Stops listening, aborts in-flight callbacks and deliveries. Safe to call twice. */
  close(): Promise<void>;
}
