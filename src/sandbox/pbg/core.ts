import type { Logger } from '../../logger.js';
import {
  buildPurchase,
  merchantAnswerProblem,
  parseStartInput,
  placeholderAnswer,
  type StartPurchaseInput,
} from './create.js';
import { FaultQueue } from './faults.js';
import { isObject, SandboxError, type JsonObject } from './http.js';
import { MerchantClient, type CallbackRecord } from './merchant.js';
import { ChangePusher } from './pushes.js';
import { matches, type PurchaseFilter } from './query.js';
import { seedPurchases } from './seed.js';
import { nextStatus, type Action } from './status.js';
import { StateFile } from '../state-file.js';
import {
  isSavedPurchases,
  PurchaseStore,
  snapshot,
  triggersPush,
  type Purchase,
  type SavedPurchases,
} from './store.js';
import type { PbgCalls } from './types.js';

/** Options after defaults and checks. */
export interface CoreConfig {
  apiKey: string;
  merchantId: string;
  merchantAuth: string;
  merchantBaseUrl: string | undefined;
  deliverChangePushes: boolean;
  seed: boolean;
  /** Where purchases survive restarts; undefined keeps them in memory only. */
  stateFile: string | undefined;
  now: () => Date;
  logger: Logger;
}

const INVENTORY_STATES = ['available', 'unavailable', 'unknown'] as const;

/**
 * PBG's state and behaviour, free of HTTP: the upstream endpoints, the control API and the
 * programmatic API all go through here, so they cannot disagree.
 */
export class PbgCore {
  readonly store = new PurchaseStore();
  readonly faults = new FaultQueue();
  readonly pusher: ChangePusher;
  readonly merchant: MerchantClient;
  readonly calls: PbgCalls = { query: 0, action: 0, queryBodies: [], actionBodies: [] };
  private readonly stateFile: StateFile<SavedPurchases> | undefined;

  constructor(
    readonly config: CoreConfig,
    signal: AbortSignal,
  ) {
    this.merchant = new MerchantClient({
      baseUrl: config.merchantBaseUrl,
      merchantId: config.merchantId,
      signal,
      logger: config.logger,
    });
    this.pusher = new ChangePusher({
      merchantAuth: config.merchantAuth,
      url: this.merchant.url('/pbg/change_push'),
      deliver: config.deliverChangePushes,
      signal,
      logger: config.logger,
    });
    this.stateFile =
      config.stateFile === undefined
        ? undefined
        : new StateFile<SavedPurchases>(config.stateFile, config.logger);
    const saved = this.stateFile?.load(isSavedPurchases);
    if (saved) {
      this.store.restore(saved);
      config.logger.info(
        { file: config.stateFile, purchases: saved.purchases.length },
        'PBG sandbox: state restored',
      );
    } else {
      if (config.seed) for (const p of seedPurchases(config.merchantId)) this.store.add(p);
      this.persist();
    }
  }

  /** Saves the purchases when a state file is configured; called after every change. */
  private persist(): void {
    this.stateFile?.save(this.store.snapshot());
  }

  resetCalls(): void {
    this.calls.query = 0;
    this.calls.action = 0;
    this.calls.queryBodies.length = 0;
    this.calls.actionBodies.length = 0;
  }

  query(filter: PurchaseFilter): Purchase[] {
    return this.store
      .all()
      .filter((p) => matches(p, filter))
      .map(snapshot);
  }

  /** purchase_action.json after authentication: true when PBG accepts the action. */
  act(purchaseId: string, action: Action): boolean {
    const purchase = this.store.get(purchaseId);
    // Another merchant's purchase is as unknown to this merchant as a missing one.
    if (!purchase || purchase.merchant_id !== this.config.merchantId) return false;
    const next = nextStatus(purchase.status, action);
    if (next === undefined) return false;
    if (purchase.status !== next) {
      purchase.status = next;
      this.pushChange(purchaseId, purchase);
    }
    return true;
  }

  async startPurchase(rawInput: unknown): Promise<Purchase> {
    const input: StartPurchaseInput = parseStartInput(rawInput);
    this.assertNew(input.purchaseId);
    const record = await this.merchant.call('/pbg/purchase_create.json', {
      merchant_auth: this.config.merchantAuth,
      purchase_id: input.purchaseId,
    });
    const answer = this.merchant.sends
      ? this.judge(record, 'purchase_create.json', merchantAnswerProblem)
      : placeholderAnswer(input.purchaseId);
    // The merchant call took time: another start for the same id may have won meanwhile.
    this.assertNew(input.purchaseId);
    const purchase = this.store.add(
      buildPurchase(input, answer as JsonObject, this.config.merchantId, this.config.now()),
    );
    this.persist();
    this.config.logger.info({ purchaseId: input.purchaseId }, 'PBG sandbox: purchase started');
    return snapshot(purchase);
  }

  async payShare(purchaseId: string): Promise<Purchase> {
    this.payable(purchaseId);
    const record = await this.merchant.call('/pbg/inventory_status.json', {
      merchant_auth: this.config.merchantAuth,
      purchase_id: purchaseId,
    });
    let state: unknown = 'available';
    if (this.merchant.sends) {
      const answer = this.judge(record, 'inventory_status.json', inventoryProblem) as JsonObject;
      state = inventoryState(answer);
    }
    // Re-check: the purchase may have moved on while the merchant answered.
    const purchase = this.payable(purchaseId);
    if (state === 'unavailable') {
      purchase.status = 'unavailable';
    } else {
      // 'unknown' cannot be "instantly determined": PBG lets the user pay and the merchant
      // decides later with set_unavailable, which is the document's reason for that action.
      purchase.num_paid = (purchase.num_paid as number) + 1;
      if ((purchase.num_paid as number) >= (purchase.num_people as number)) {
        purchase.status = 'payment_completed';
      }
    }
    // A payment is pushed even when only num_paid moved: it is what the group's dashboard
    // (and a merchant's live view of it) is waiting for.
    this.pushChange(purchaseId, purchase);
    return snapshot(purchase);
  }

  /**
   * `push: false` changes the purchase silently: the Change Push PBG would send is neither sent
   * nor recorded, as when PBG's push is lost (its document promises no retries).
   */
  updatePurchase(
    purchaseId: string,
    patch: unknown,
    options: { push?: boolean } = {},
  ): Promise<Purchase> {
    // A refused patch rejects, as PBG's HTTP answer would, rather than throwing at the caller.
    try {
      return Promise.resolve(this.patchPurchase(purchaseId, patch, options));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  private patchPurchase(purchaseId: string, patch: unknown, options: { push?: boolean }): Purchase {
    const purchase = this.store.get(purchaseId);
    if (!purchase) throw new SandboxError(404, `no purchase ${JSON.stringify(purchaseId)}`);
    if (!isObject(patch)) throw new SandboxError(400, 'the patch must be a JSON object');
    if (patch.purchase_id !== undefined && patch.purchase_id !== purchaseId) {
      throw new SandboxError(400, 'purchase_id cannot change: it is how PBG and merchant meet');
    }
    const before = snapshot(purchase);
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete purchase[key];
      else purchase[key] = structuredClone(value);
    }
    this.persist();
    if (options.push !== false && triggersPush(before, purchase)) {
      this.pushChange(purchaseId, purchase);
    }
    return snapshot(purchase);
  }

  /** Every change that PBG pushes is saved first, so a restart cannot lose what was pushed. */
  private pushChange(purchaseId: string, purchase: Purchase): void {
    this.persist();
    this.pusher.push(purchaseId, [snapshot(purchase)]);
  }

  private assertNew(purchaseId: string): void {
    if (this.store.has(purchaseId)) {
      throw new SandboxError(409, `purchase ${JSON.stringify(purchaseId)} already exists`);
    }
  }

  /** The purchase, if a member can pay into it now; otherwise a 404/409 explaining why not. */
  private payable(purchaseId: string): Purchase {
    const purchase = this.store.get(purchaseId);
    const name = JSON.stringify(purchaseId);
    if (!purchase) throw new SandboxError(404, `no purchase ${name}`);
    if (purchase.merchant_id !== this.config.merchantId) {
      throw new SandboxError(
        409,
        `purchase ${name} belongs to merchant ${JSON.stringify(purchase.merchant_id)}, whose site this sandbox does not play`,
      );
    }
    if (purchase.status !== 'pending') {
      throw new SandboxError(
        409,
        `purchase ${name} is ${JSON.stringify(purchase.status)}; only pending purchases take payments`,
      );
    }
    const { num_paid: paid, num_people: people } = purchase;
    if (!Number.isInteger(paid) || !Number.isInteger(people) || (paid as number) < 0) {
      throw new SandboxError(409, `purchase ${name} has garbled num_paid/num_people`);
    }
    if ((paid as number) >= (people as number)) {
      throw new SandboxError(409, `purchase ${name} is already fully paid`);
    }
    return purchase;
  }

  /**
   * The merchant's answer if it is usable; otherwise notes why on the record and throws a 502
   * naming the endpoint, so the caller of startPurchase/payShare sees the merchant's mistake.
   */
  private judge(
    record: CallbackRecord,
    endpoint: string,
    problemOf: (answer: unknown) => string | undefined,
  ): unknown {
    const fail = (why: string): never => {
      record.error = why;
      throw new SandboxError(502, `merchant ${endpoint} failed: ${why}`);
    };
    if (record.error !== undefined) fail(record.error);
    const status = record.status ?? 0;
    if (status < 200 || status > 299) fail(`it answered HTTP ${status}`);
    const problem = problemOf(record.response);
    if (problem !== undefined) fail(problem);
    return record.response;
  }
}

/**
 * The inventory state in an inventory_status.json answer. The document names the field
 * inventory_state but its example uses result; either is accepted, result first.
 */
function inventoryState(answer: unknown): unknown {
  if (!isObject(answer)) return undefined;
  return answer.result ?? answer.inventory_state;
}

function inventoryProblem(answer: unknown): string | undefined {
  const state = inventoryState(answer);
  if ((INVENTORY_STATES as readonly unknown[]).includes(state)) return undefined;
  return `expected {"result":"available"|"unavailable"|"unknown"}, got ${JSON.stringify(answer)}`;
}
