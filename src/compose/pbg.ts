import type { RequestHandler, Router } from 'express';
import type { Config } from '../config.js';
import type { EventBus } from '../events/pubsub.js';
import { pbgRoutes } from '../http/callbacks/pbg-routes.js';
import type { Idempotency } from '../idempotency/claims.js';
import type { Logger } from '../logger.js';
import type { Telemetry } from '../observability/index.js';
import { PbgCallbacks } from '../http/callbacks/pbg-handlers.js';
import { ChangeFeed } from '../purchase/change-feed.js';
import { ChangePushReceiver } from '../purchase/change-push.js';
import { PbgClient } from '../pbg/client.js';
import { LogRetention } from '../purchase/log-retention.js';
import { OfferCatalog } from '../purchase/offers.js';
import { PurchaseStateStore } from '../purchase/state.js';
import { Reconciler } from '../purchase/reconcile.js';
import { PurchaseService } from '../purchase/service.js';
import type { Redactor } from '../redact.js';
import type { Store } from '../store/index.js';
import type { UpstreamGuard } from '../upstream/guard.js';
import { SingleFlight } from '../upstream/single-flight.js';
import type { Closers } from './closers.js';

export interface PbgWiring {
  config: Config;
  baseUrl: string;
  store: Store;
  bus: EventBus;
  idempotency: Idempotency;
  guard: UpstreamGuard;
  redactor: Redactor;
  telemetry: Telemetry;
  logger: Logger;
  closers: Closers;
  /** Re-enters the request's log/trace scope after the callback body parser. */
  reenterScope?: RequestHandler;
}

export interface PbgWired {
  purchases: PurchaseService;
  purchaseState: PurchaseStateStore;
  changeFeed: ChangeFeed;
  offers: OfferCatalog;
  reconciler: Reconciler;
  /** The PayByGroup → merchant callbacks, to mount at /pbg. */
  routes: Router;
}

/**
 * PayByGroup: one client (shared by the service, the state owner's read-back and the
 * reconciler), the purchase state owner and its change feed, the callbacks, and the timers
 * that keep the change log honest (reconciliation, retention).
 */
export function wirePbg(w: PbgWiring): PbgWired {
  const { config, logger, closers } = w;
  const client = new PbgClient({
    baseUrl: w.baseUrl,
    apiKey: config.pbg.apiKey,
    merchantId: config.pbg.merchantId,
    merchantAuth: config.pbg.merchantAuth,
    timeoutMs: config.upstreamTimeoutMs,
    redactor: w.redactor,
    guard: w.guard,
    telemetry: w.telemetry,
    logger: logger.child({ component: 'pbg-client' }),
  });
  const changeFeed = new ChangeFeed({
    store: w.store,
    bus: w.bus,
    logger,
    retentionMs: config.pbg.changeLogTtlMs,
  });
  changeFeed.start();
  closers.add(() => changeFeed.close());
  const purchaseState = new PurchaseStateStore({
    store: w.store,
    bus: w.bus,
    merchantId: config.pbg.merchantId,
    // Straight to the client, never through the service's single flight: this read must show
    // an action that was just accepted, so it has to be sent after it.
    readPurchase: async (purchaseId) =>
      (await client.query({ merchantId: config.pbg.merchantId, purchaseId })).find(
        (p) => p.purchaseId === purchaseId,
      ) ?? null,
    logger: logger.child({ component: 'purchase-state' }),
  });
  const purchases = new PurchaseService({
    client,
    idempotency: w.idempotency,
    requireIdempotencyKey: config.requireIdempotencyKey,
    merchantId: config.pbg.merchantId,
    state: purchaseState,
    changes: changeFeed,
    cacheTtlMs: config.pbg.cacheTtlMs,
    flights: new SingleFlight({ upstream: 'pbg', metrics: w.telemetry.metrics }),
    logger,
    metrics: w.telemetry.metrics,
  });
  const offers = new OfferCatalog(w.store);
  const reconciler = startTimers(w, client, purchases, purchaseState);
  const routes = callbackRoutes(w, offers, purchaseState);
  return { purchases, purchaseState, changeFeed, offers, reconciler, routes };
}

/** Reconciliation sweeps and change-log retention, each on its own timer. */
function startTimers(
  w: PbgWiring,
  client: PbgClient,
  purchases: PurchaseService,
  state: PurchaseStateStore,
): Reconciler {
  const { config, logger, closers } = w;
  const reconciler = new Reconciler({
    client,
    purchases,
    state,
    store: w.store,
    merchantId: config.pbg.merchantId,
    intervalMs: config.pbg.reconcileIntervalMs,
    logger: logger.child({ component: 'pbg-reconcile' }),
  });
  reconciler.start();
  closers.add(() => reconciler.close());
  const retention = new LogRetention({
    state,
    ttlMs: config.pbg.changeLogTtlMs,
    logger: logger.child({ component: 'change-log' }),
  });
  retention.start();
  closers.add(() => retention.close());
  return reconciler;
}

/** PayByGroup → merchant: purchase info, inventory, change pushes. */
function callbackRoutes(w: PbgWiring, offers: OfferCatalog, state: PurchaseStateStore): Router {
  const { config, logger } = w;
  const callbacks = new PbgCallbacks({
    offers,
    merchantAuth: config.pbg.merchantAuth,
    logger: logger.child({ component: 'pbg-callbacks' }),
  });
  const changePush = new ChangePushReceiver({
    callbacks,
    state,
    logger: logger.child({ component: 'pbg-change-push' }),
    metrics: w.telemetry.metrics,
  });
  return pbgRoutes({
    callbacks,
    changePush: (body) => changePush.handle(body),
    allowedIps: config.pbg.allowedIps,
    merchantAuth: config.pbg.merchantAuth,
    bodyLimitBytes: config.pbg.callbackMaxBytes,
    reenterScope: w.reenterScope,
    logger,
  });
}
