import { randomUUID } from 'node:crypto';
import express from 'express';
import { buildFederatedSchema } from '../resolvers/schema.js';
import { createContext } from '../resolvers/context.js';
import { ChillrClient } from './chillr/client.js';
import { CollectService } from './chillr/service.js';
import type { Config } from './config.js';
import { BatchWatcher } from './events/batch-watcher.js';
import { createEventBus } from './events/pubsub.js';
import { createHttpApp } from './http/app.js';
import { createFormatError } from './http/graphql-errors.js';
import { serveCallbacks } from './http/callback-app.js';
import { listenStartingUp, type Listening } from './http/listen.js';
import { createOperationGuard } from './http/plugin/index.js';
import { createObservability } from './http/plugin/observability/index.js';
import { Metrics, Tracing, type Telemetry } from './observability/index.js';
import { tracedStore } from './observability/traced-store.js';
import { attachGraphqlWs } from './http/ws.js';
import { pbgRoutes } from './http/pbg-routes.js';
import { Idempotency } from './idempotency.js';
import { Outbox } from './outbox.js';
import { UpstreamGuard } from './upstream/guard.js';
import { credentialsOf, Redactor, upstreamSecretsOf } from './redact.js';
import { createLogger, type Logger } from './logger.js';
import { PbgCallbacks } from './pbg/callbacks.js';
import { ChangePushReceiver } from './pbg/change-push.js';
import { PbgClient } from './pbg/client.js';
import { OfferCatalog } from './pbg/offers.js';
import { ChangeFeed } from './pbg/change-feed.js';
import { PurchaseStateStore } from './pbg/purchase-state.js';
import { LogRetention } from './pbg/log-retention.js';
import { Reconciler } from './pbg/reconcile.js';
import { PurchaseService } from './pbg/service.js';
import { startChillrSimulator, type ChillrSimulator } from './sandbox/chillr/index.js';
import { startPbgSimulator, type PbgSimulator } from './sandbox/pbg/index.js';
import { sandboxStatePath } from './sandbox/state-file.js';
import type { Services } from './services.js';
import { openStore, type Store } from './store/index.js';

export interface AppOptions {
  /** @default a JSON logger at config.logLevel on stdout */
  logger?: Logger;
  /**
   * Wraps the store once it is open, before any service uses it: the seam fault-injection
   * tests use to make the store fail at a chosen step (claim, outcome, bookkeeping) and then
   * recover, without patching modules.
   * @default the store as opened
   */
  wrapStore?: (store: Store) => Store;
}

export interface RunningApp {
  /** e.g. http://127.0.0.1:4000 */
  url: string;
  port: number;
  /** Where the PayByGroup callbacks listen when CALLBACK_PORT is set (else `url`). */
  callbackUrl: string;
  config: Config;
  services: Services;
  store: Store;
  /** The owner of purchase state (its counters: `stats()`). */
  purchaseState: PurchaseStateStore;
  /** Finds what change pushes missed (every PBG_RECONCILE_INTERVAL_MS; tests call sweep()). */
  reconciler: Reconciler;
  /** The in-process simulators standing in for unconfigured upstreams. */
  sandbox: { chillr?: ChillrSimulator; pbg?: PbgSimulator };
  /** GET /metrics: `${url}/metrics`, or its own port's when METRICS_PORT is set. */
  metricsUrl: string;
  /** This app's Prometheus registry and tracer. */
  telemetry: Telemetry;
  /** Stops accepting, drains in-flight requests, then closes the store and simulators. */
  close(): Promise<void>;
}

/**
 * The composition root: configuration in, a listening service out. `src/main.ts` calls it for
 * `npm start`; tests call it with ephemeral ports and their own store URLs.
 *
 * The HTTP server binds first, answering 503 while the rest starts: the PayByGroup sandbox
 * must know this service's real address (port 0 in tests) to call it back.
 */
export async function startApp(config: Config, options: AppOptions = {}): Promise<RunningApp> {
  const logger =
    options.logger ??
    createLogger({ level: config.logLevel, redactor: new Redactor(credentialsOf(config)) });
  const closers: Array<() => Promise<void>> = [];
  const telemetry: Telemetry = {
    metrics: new Metrics(),
    tracing: new Tracing({ endpoint: config.otel.endpoint, serviceName: config.otel.serviceName }),
  };
  // Last to close: spans of the final requests are flushed to the collector.
  closers.push(() => telemetry.tracing.close());
  const observability = createObservability({ telemetry, logger });
  try {
    const main = await listenStartingUp(config.port, config.host);
    const { server: httpServer, port, url } = main;
    closers.push(main.close);
    const closeHttp = main.close;
    // PayByGroup's callbacks on their own listener when CALLBACK_PORT says so.
    const callbackListener =
      config.callbackPort === undefined
        ? undefined
        : await listenStartingUp(config.callbackPort, config.host);
    if (callbackListener) closers.push(callbackListener.close);
    const metricsListener = await serveMetrics(config, observability.metrics);
    if (metricsListener) closers.push(metricsListener.close);

    const opened = await openStore(config.storeUrl, { logger });
    closers.push(() => opened.close());
    const wrapped = options.wrapStore?.(opened) ?? opened;
    // A span per store call, only when spans are exported.
    const store = config.otel.endpoint ? tracedStore(wrapped, telemetry.tracing.tracer) : wrapped;
    const sandbox: RunningApp['sandbox'] = {};

    let chillrBaseUrl = config.chillr.baseUrl;
    if (chillrBaseUrl === undefined) {
      const simulator = await startChillrSimulator({
        port: config.chillr.sandboxPort,
        credentials: { apiKey: config.chillr.apiKey, apiSecretKey: config.chillr.apiSecretKey },
        stateFile: sandboxStatePath(config.storeUrl, 'chillr'),
        logger: logger.child({ component: 'chillr-sandbox' }),
      });
      sandbox.chillr = simulator;
      closers.push(() => simulator.close());
      chillrBaseUrl = simulator.url;
      logger.info(
        { url: chillrBaseUrl },
        'CHILLR_BASE_URL unset: using the in-process Chillr sandbox',
      );
    }

    let pbgBaseUrl = config.pbg.baseUrl;
    if (pbgBaseUrl === undefined) {
      const simulator = await startPbgSimulator({
        port: config.pbg.sandboxPort,
        apiKey: config.pbg.apiKey,
        merchantId: config.pbg.merchantId,
        merchantAuth: config.pbg.merchantAuth,
        merchantBaseUrl: config.pbg.publicBaseUrl ?? callbackListener?.url ?? url,
        // The loop is closed: the simulator POSTs its change pushes to this service.
        deliverChangePushes: true,
        stateFile: sandboxStatePath(config.storeUrl, 'pbg'),
        logger: logger.child({ component: 'pbg-sandbox' }),
      });
      sandbox.pbg = simulator;
      closers.push(() => simulator.close());
      pbgBaseUrl = simulator.url;
      logger.info(
        { url: pbgBaseUrl },
        'PBG_BASE_URL unset: using the in-process PayByGroup sandbox',
      );
    }

    const events = await createEventBus({ redisUrl: config.redisUrl, logger });
    closers.push(events.close);

    // Flushed on close (closers run in reverse): after the server drained, before the store goes.
    const outbox = new Outbox({ store, logger: logger.child({ component: 'outbox' }) });
    closers.push(() => outbox.close());
    const idempotency = new Idempotency({
      store,
      outbox,
      logger,
      // Money calls are never retried, so one timeout bounds the call; the rest is margin for
      // a busy process (an owner that is merely slow must not be taken for a dead one).
      claimDeadlineMs: 2 * config.upstreamTimeoutMs + config.idempotencyClaimMarginMs,
      metrics: telemetry.metrics,
    });
    const upstreamRedactor = new Redactor(upstreamSecretsOf(config));
    const guardOf = (upstream: string) =>
      new UpstreamGuard({ upstream, ...config.upstreamGuard, logger });
    const guards = { chillr: guardOf('Chillr'), pbg: guardOf('PayByGroup') };
    const offers = new OfferCatalog(store);

    const changeFeed = new ChangeFeed({
      store,
      bus: events.bus,
      logger,
      retentionMs: config.pbg.changeLogTtlMs,
    });
    changeFeed.start();
    closers.push(async () => changeFeed.close());
    const collect = new CollectService({
      client: new ChillrClient({
        baseUrl: chillrBaseUrl,
        apiKey: config.chillr.apiKey,
        apiSecretKey: config.chillr.apiSecretKey,
        timeoutMs: config.upstreamTimeoutMs,
        redactor: upstreamRedactor,
        guard: guards.chillr,
        telemetry,
        logger: logger.child({ component: 'chillr-client' }),
      }),
      store,
      idempotency,
      outbox,
      requireIdempotencyKey: config.requireIdempotencyKey,
      logger,
      metrics: telemetry.metrics,
      maxBatchSize: config.chillr.maxBatchSize,
    });
    const batchWatcher = new BatchWatcher({
      refresh: (id) => collect.getBatch(id),
      intervalMs: config.chillr.pollIntervalMs,
      maxPollers: config.chillr.maxPollers,
      logger: logger.child({ component: 'batch-watcher' }),
    });
    closers.push(async () => batchWatcher.close());
    telemetry.metrics.observe({
      outboxDepth: () => outbox.depth,
      batchPollers: () => batchWatcher.stats().pollers,
      breakers: { chillr: () => guards.chillr.breakerState, pbg: () => guards.pbg.breakerState },
    });
    const pbgClient = new PbgClient({
      baseUrl: pbgBaseUrl,
      apiKey: config.pbg.apiKey,
      merchantId: config.pbg.merchantId,
      merchantAuth: config.pbg.merchantAuth,
      timeoutMs: config.upstreamTimeoutMs,
      redactor: upstreamRedactor,
      guard: guards.pbg,
      telemetry,
      logger: logger.child({ component: 'pbg-client' }),
    });
    const purchaseState = new PurchaseStateStore({
      store,
      bus: events.bus,
      merchantId: config.pbg.merchantId,
      readPurchase: async (purchaseId) =>
        (await pbgClient.query({ merchantId: config.pbg.merchantId, purchaseId })).find(
          (p) => p.purchaseId === purchaseId,
        ) ?? null,
      logger: logger.child({ component: 'purchase-state' }),
    });
    const services: Services = {
      collect,
      batchWatcher,
      changeFeed,
      purchases: new PurchaseService({
        client: pbgClient,
        idempotency,
        requireIdempotencyKey: config.requireIdempotencyKey,
        merchantId: config.pbg.merchantId,
        state: purchaseState,
        cacheTtlMs: config.pbg.cacheTtlMs,
        logger,
        metrics: telemetry.metrics,
      }),
      offers,
    };
    const callbacks = new PbgCallbacks({
      offers,
      merchantAuth: config.pbg.merchantAuth,
      logger: logger.child({ component: 'pbg-callbacks' }),
    });

    const changePush = new ChangePushReceiver({
      callbacks,
      state: purchaseState,
      logger: logger.child({ component: 'pbg-change-push' }),
      metrics: telemetry.metrics,
    });
    const reconciler = new Reconciler({
      client: pbgClient,
      purchases: services.purchases,
      state: purchaseState,
      store,
      merchantId: config.pbg.merchantId,
      intervalMs: config.pbg.reconcileIntervalMs,
      logger: logger.child({ component: 'pbg-reconcile' }),
    });
    reconciler.start();
    closers.push(() => reconciler.close());
    const retention = new LogRetention({
      state: purchaseState,
      ttlMs: config.pbg.changeLogTtlMs,
      logger: logger.child({ component: 'change-log' }),
    });
    retention.start();
    closers.push(async () => retention.close());

    const pbg = pbgRoutes({
      callbacks,
      changePush: (body) => changePush.handle(body),
      allowedIps: config.pbg.allowedIps,
      merchantAuth: config.pbg.merchantAuth,
      bodyLimitBytes: config.pbg.callbackMaxBytes,
      reenterScope: observability.reenter,
      logger,
    });
    if (callbackListener) {
      serveCallbacks({
        server: callbackListener.server,
        pbg,
        trustProxy: config.trustProxy,
        scope: observability.scope,
      });
    }

    const schema = await buildFederatedSchema(events.bus);
    observability.traceResolvers(schema);
    const guard = createOperationGuard({
      schema,
      limits: { ...config.graphqlLimits, hideSuggestions: config.nodeEnv === 'production' },
      auth: config.auth,
      logger: logger.child({ component: 'auth' }),
    });
    const routerSecret = config.router.secret
      ? { secret: config.router.secret, header: config.router.secretHeader }
      : undefined;
    const httpApp = await createHttpApp({
      httpServer,
      schema,
      context: (requestId) => createContext(services, requestId, logger, telemetry.metrics),
      observability,
      serveMetrics: metricsListener === undefined,
      logger,
      production: config.nodeEnv === 'production',
      redactor: new Redactor(credentialsOf(config)),
      routerSecret,
      bodyLimit: config.maxRequestBytes,
      trustProxy: config.trustProxy,
      guard: guard.apollo,
      readiness: () => store.ping(),
      subscriptionCallback: {
        allowedOrigins: config.subscriptionCallbackOrigins,
        logger: logger.child({ component: 'subscription-callback' }),
      },
      // With CALLBACK_PORT the callbacks live only there.
      routes: callbackListener ? undefined : (app) => app.use('/pbg', pbg),
    });

    // Subscriptions: graphql-ws on the same server and path as queries.
    const closeWs = attachGraphqlWs({
      httpServer,
      schema,
      context: (requestId) =>
        createContext(services, requestId ?? randomUUID(), logger, telemetry.metrics),
      observability: observability.ws,
      logger,
      keepAliveMs: config.wsKeepAliveMs,
      initTimeoutMs: config.wsInitTimeoutMs,
      maxPayloadBytes: config.maxRequestBytes,
      maxOperationsPerConnection: config.wsMaxSubscriptionsPerConnection,
      formatError: createFormatError(logger, new Redactor(credentialsOf(config))),
      routerSecret,
      guard: guard.ws,
    });
    // httpApp.stop() (Apollo's drain) closes the HTTP server, so it replaces the plain close above;
    // sockets close first, or the drain would wait for them.
    closers.splice(closers.indexOf(closeHttp), 1);
    closers.push(httpApp.stop);
    closers.push(closeWs);
    logger.info({ url: `${url}/graphql`, store: store.description }, 'payments subgraph listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      callbackUrl: callbackListener?.url ?? url,
      config,
      services,
      store,
      sandbox,
      metricsUrl: `${metricsListener?.url ?? url}/metrics`,
      telemetry,
      purchaseState,
      reconciler,
      close: () => (closing ??= closeAll(closers, logger)),
    };
  } catch (error) {
    await closeAll(closers, logger);
    throw error;
  }
}

/** GET /metrics on METRICS_PORT, when set; nothing else is served there. */
async function serveMetrics(
  config: Config,
  handler: express.RequestHandler,
): Promise<Listening | undefined> {
  if (config.metricsPort === undefined) return undefined;
  const listener = await listenStartingUp(config.metricsPort, config.host);
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', handler);
  app.use((_req, res) => {
    res.status(404).json({ error: 'This port serves only GET /metrics.' });
  });
  listener.server.removeAllListeners('request');
  listener.server.on('request', app);
  return listener;
}

/** Closes in reverse order of opening: the server drains before the store goes away. */
async function closeAll(closers: Array<() => Promise<void>>, logger: Logger): Promise<void> {
  for (const close of [...closers].reverse()) {
    try {
      await close();
    } catch (error) {
      logger.warn({ err: error }, 'error while shutting down');
    }
  }
}
