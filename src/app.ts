import express from 'express';
import { ConfigError, type Config } from './config.js';
import { Closers } from './compose/closers.js';
import { wireChillr } from './compose/chillr.js';
import { serveGraph } from './compose/graph.js';
import { wirePbg } from './compose/pbg.js';
import { startUpstreams } from './compose/sandboxes.js';
import { createEventBus } from './events/pubsub.js';
import { serveCallbacks } from './http/callbacks/app.js';
import { listenStartingUp, type Listening } from './http/listen.js';
import { resumeRequest } from './http/pipeline/http.js';
import type { OperationPlugin } from './http/pipeline/index.js';
import { metricsRoute, observabilityPlugin } from './http/plugin/observability/index.js';
import { Idempotency } from './idempotency/claims.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics, Tracing, type Telemetry } from './observability/index.js';
import { tracedStore } from './observability/traced-store.js';
import { Outbox } from './idempotency/outbox.js';
import { OutboxJournal } from './idempotency/outbox-journal.js';
import type { PurchaseStateStore } from './purchase/state.js';
import type { Reconciler } from './purchase/reconcile.js';
import { credentialsOf, Redactor, upstreamSecretsOf } from './redact.js';
import type { ChillrSimulator } from './sandbox/chillr/index.js';
import type { PbgSimulator } from './sandbox/pbg/index.js';
import type { Services } from './services.js';
import { refusalOf } from './store/durability-check.js';
import { openStore, parseStoreUrl, type Store } from './store/index.js';
import { UpstreamGuard } from './upstream/guard.js';

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
  /**
   * The clock, in ms since the epoch, that bearer-token expiry and response-cache entries are
   * judged by: tests move it on instead of waiting out a token's or an entry's lifetime.
   * @default Date.now
   */
  now?: () => number;
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
  const credentials = new Redactor(credentialsOf(config));
  const logger = options.logger ?? createLogger({ level: config.logLevel, redactor: credentials });
  const closers = new Closers(logger);
  const telemetry = createTelemetry(config, closers);
  const observability = observabilityPlugin({ telemetry, logger });
  try {
    const listeners = await listen(config, telemetry, closers);
    const { main } = listeners;
    const store = await openTheStore(config, options, telemetry, logger, closers);
    const upstreams = await startUpstreams(
      config,
      listeners.callbacks?.url ?? main.url,
      logger,
      closers,
    );
    const events = await openEventBus(config, logger, closers);

    const { outbox, idempotency } = await startMoneySafety(
      config,
      store,
      telemetry,
      logger,
      closers,
    );
    const { pbg, services } = wireDomains({
      config,
      store,
      idempotency,
      outbox,
      telemetry,
      logger,
      closers,
      upstreams,
      bus: events.bus,
      reenterScope: resumeRequest,
    });
    // With CALLBACK_PORT the PayByGroup callbacks live only there.
    if (listeners.callbacks) {
      serveCallbacks(callbackOptions(config, listeners.callbacks, pbg.routes, observability));
    }
    await serveGraph({
      config,
      httpServer: main.server,
      closeHttp: main.close,
      services,
      bus: events.bus,
      store,
      telemetry,
      observability,
      redactor: credentials,
      pbgRoutes: listeners.callbacks ? undefined : pbg.routes,
      serveMetrics: listeners.metrics === undefined,
      logger,
      closers,
      now: options.now,
    });
    logger.info(
      { url: `${main.url}/graphql`, store: store.description },
      'payments subgraph listening',
    );
    return {
      url: main.url,
      port: main.port,
      callbackUrl: listeners.callbacks?.url ?? main.url,
      config,
      services,
      store,
      sandbox: upstreams.sandbox,
      metricsUrl: `${listeners.metrics?.url ?? main.url}/metrics`,
      telemetry,
      purchaseState: pbg.purchaseState,
      reconciler: pbg.reconciler,
      close: () => closers.closeAll(),
    };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}

/** The callback port's app: the PayByGroup routes behind the same scope and timeouts. */
function callbackOptions(
  config: Config,
  callbacks: Listening,
  routes: Parameters<typeof serveCallbacks>[0]['pbg'],
  observability: OperationPlugin,
): Parameters<typeof serveCallbacks>[0] {
  return {
    server: callbacks.server,
    pbg: routes,
    trustProxy: config.trustProxy,
    plugins: [observability],
    bodyIdleTimeoutMs: config.httpTimeouts.bodyIdleTimeoutMs,
  };
}

/** Metrics and tracing; the tracer closes last, so the final requests' spans are flushed. */
function createTelemetry(config: Config, closers: Closers): Telemetry {
  const telemetry: Telemetry = {
    metrics: new Metrics(),
    tracing: new Tracing({ endpoint: config.otel.endpoint, serviceName: config.otel.serviceName }),
  };
  closers.add(() => telemetry.tracing.close());
  return telemetry;
}

/**
 * Wake-ups between instances: Redis pub/sub with REDIS_URL; else LISTEN/NOTIFY when the store
 * is PostgreSQL; else in-process.
 */
async function openEventBus(config: Config, logger: Logger, closers: Closers) {
  const events = await createEventBus({
    redisUrl: config.redisUrl,
    postgresUrl: parseStoreUrl(config.storeUrl).kind === 'postgres' ? config.storeUrl : undefined,
    logger,
  });
  closers.add(events.close);
  return events;
}

/**
 * The outbox (with its journal, adopted from a stopped process before this one serves) and the
 * idempotency keys over it. The outbox is flushed on close (closers run in reverse): after the
 * server drained, before the store goes.
 */
async function startMoneySafety(
  config: Config,
  store: Store,
  telemetry: Telemetry,
  logger: Logger,
  closers: Closers,
): Promise<{ outbox: Outbox; idempotency: Idempotency }> {
  const outboxLogger = logger.child({ component: 'outbox' });
  const journal = new OutboxJournal({ dir: config.outboxDir, logger: outboxLogger });
  const outbox = new Outbox({ store, logger: outboxLogger, journal });
  closers.add(() => outbox.close());
  await outbox.start();
  const idempotency = new Idempotency({
    store,
    outbox,
    logger,
    // Money calls are never retried, so one timeout bounds the call; the rest is margin for
    // a busy process (an owner that is merely slow must not be taken for a dead one).
    claimDeadlineMs: 2 * config.upstreamTimeoutMs + config.idempotencyClaimMarginMs,
    metrics: telemetry.metrics,
  });
  return { outbox, idempotency };
}

interface DomainWiring {
  config: Config;
  store: Store;
  idempotency: Idempotency;
  outbox: Outbox;
  telemetry: Telemetry;
  logger: Logger;
  closers: Closers;
  upstreams: { chillrBaseUrl: string; pbgBaseUrl: string };
  bus: Parameters<typeof wirePbg>[0]['bus'];
  reenterScope: Parameters<typeof wirePbg>[0]['reenterScope'];
}

/** Chillr and PayByGroup, each behind its own guard, and the services the graph serves. */
function wireDomains(w: DomainWiring) {
  const { config, logger, telemetry } = w;
  const redactor = new Redactor(upstreamSecretsOf(config));
  const guardOf = (upstream: string) =>
    new UpstreamGuard({ upstream, ...config.upstreamGuard, logger });
  const guards = { chillr: guardOf('Chillr'), pbg: guardOf('PayByGroup') };
  const common = {
    config,
    store: w.store,
    idempotency: w.idempotency,
    redactor,
    telemetry,
    logger,
    closers: w.closers,
  };
  const chillr = wireChillr({
    ...common,
    baseUrl: w.upstreams.chillrBaseUrl,
    outbox: w.outbox,
    guard: guards.chillr,
  });
  const pbg = wirePbg({
    ...common,
    baseUrl: w.upstreams.pbgBaseUrl,
    bus: w.bus,
    guard: guards.pbg,
    reenterScope: w.reenterScope,
  });
  telemetry.metrics.observe({
    outboxDepth: () => w.outbox.depth,
    batchPollers: () => chillr.batchWatcher.stats().pollers,
    breakers: { chillr: () => guards.chillr.breakerState, pbg: () => guards.pbg.breakerState },
  });
  const services: Services = {
    ...chillr,
    purchases: pbg.purchases,
    offers: pbg.offers,
    changeFeed: pbg.changeFeed,
  };
  return { pbg, services };
}

/**
 * Binds every port first, each answering 503 until its app is ready: the main one, the
 * callback port (CALLBACK_PORT) and the metrics port (METRICS_PORT) when set.
 */
async function listen(config: Config, telemetry: Telemetry, closers: Closers) {
  const main = await listenStartingUp(config.port, config.host, config.httpTimeouts);
  closers.add(main.close);
  const callbacks =
    config.callbackPort === undefined
      ? undefined
      : await listenStartingUp(config.callbackPort, config.host, config.httpTimeouts);
  if (callbacks) closers.add(callbacks.close);
  const metrics = await serveMetrics(config, metricsRoute(telemetry.metrics));
  if (metrics) closers.add(metrics.close);
  return { main, callbacks, metrics };
}

/** The store, wrapped for tests (faults) and, when spans are exported, for tracing. */
async function openTheStore(
  config: Config,
  options: AppOptions,
  telemetry: Telemetry,
  logger: Logger,
  closers: Closers,
): Promise<Store> {
  const opened = await openStore(config.storeUrl, { logger, postgresPoolMax: config.pgPoolMax });
  closers.add(() => opened.close());
  const refusal = await refusalOf(
    opened,
    {
      production: config.nodeEnv === 'production',
      allowForgetful: config.allowForgetfulStore,
      persistenceConfirmed: config.redisPersistenceConfirmed,
    },
    logger,
  );
  if (refusal) throw new ConfigError([refusal]);
  const wrapped = options.wrapStore?.(opened) ?? opened;
  return config.otel.endpoint ? tracedStore(wrapped, telemetry.tracing.tracer) : wrapped;
}

/** GET /metrics on METRICS_PORT, when set; nothing else is served there. */
async function serveMetrics(
  config: Config,
  handler: express.RequestHandler,
): Promise<Listening | undefined> {
  if (config.metricsPort === undefined) return undefined;
  const listener = await listenStartingUp(config.metricsPort, config.host, config.httpTimeouts);
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
