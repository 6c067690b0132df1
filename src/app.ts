import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { buildFederatedSchema } from '../resolvers/schema.js';
import { createContext } from '../resolvers/context.js';
import { ChillrClient } from './chillr/client.js';
import { CollectService } from './chillr/service.js';
import type { Config } from './config.js';
import { BatchWatcher } from './events/batch-watcher.js';
import { createEventBus } from './events/pubsub.js';
import { createHttpApp } from './http/app.js';
import { pbgRoutes } from './http/pbg-routes.js';
import { Idempotency } from './idempotency.js';
import { createLogger, type Logger } from './logger.js';
import { PbgCallbacks } from './pbg/callbacks.js';
import { ChangePushReceiver } from './pbg/change-push.js';
import { PbgClient } from './pbg/client.js';
import { OfferCatalog } from './pbg/offers.js';
import { ChangeFeed } from './pbg/change-feed.js';
import { PurchaseStateStore } from './pbg/purchase-state.js';
import { Reconciler } from './pbg/reconcile.js';
import { PurchaseService } from './pbg/service.js';
import { startChillrSimulator, type ChillrSimulator } from './sandbox/chillr/index.js';
import { startPbgSimulator, type PbgSimulator } from './sandbox/pbg/index.js';
import type { Services } from './services.js';
import { openStore, type Store } from './store/index.js';

export interface AppOptions {
  /** @default a JSON logger at config.logLevel on stdout */
  logger?: Logger;
}

export interface RunningApp {
  /** e.g. http://127.0.0.1:4000 */
  url: string;
  port: number;
  config: Config;
  services: Services;
  store: Store;
  /** The owner of purchase state (its counters: `stats()`). */
  purchaseState: PurchaseStateStore;
  /** Finds what change pushes missed (every PBG_RECONCILE_INTERVAL_MS; tests call sweep()). */
  reconciler: Reconciler;
  /** The in-process simulators standing in for unconfigured upstreams. */
  sandbox: { chillr?: ChillrSimulator; pbg?: PbgSimulator };
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
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const closers: Array<() => Promise<void>> = [];
  try {
    const httpServer = http.createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(JSON.stringify({ error: 'Starting up; retry shortly.' }));
    });
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => resolve());
    });
    const closeHttp = () => new Promise<void>((resolve) => httpServer.close(() => resolve()));
    closers.push(closeHttp);
    const address = httpServer.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://127.0.0.1:${port}`;

    const store = await openStore(config.storeUrl, { logger });
    closers.push(() => store.close());
    const sandbox: RunningApp['sandbox'] = {};

    let chillrBaseUrl = config.chillr.baseUrl;
    if (chillrBaseUrl === undefined) {
      const simulator = await startChillrSimulator({
        port: config.chillr.sandboxPort,
        credentials: { apiKey: config.chillr.apiKey, apiSecretKey: config.chillr.apiSecretKey },
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
        merchantBaseUrl: config.pbg.publicBaseUrl ?? url,
        // The loop is closed: the simulator POSTs its change pushes to this service.
        deliverChangePushes: true,
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

    const idempotency = new Idempotency(store, {
      pendingTtlMs: Math.max(60_000, config.upstreamTimeoutMs * 3),
    });
    const offers = new OfferCatalog(store);
    const purchaseState = new PurchaseStateStore({
      store,
      bus: events.bus,
      merchantId: config.pbg.merchantId,
      logger: logger.child({ component: 'purchase-state' }),
    });
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
        logger: logger.child({ component: 'chillr-client' }),
      }),
      store,
      idempotency,
      logger,
      maxBatchSize: config.chillr.maxBatchSize,
    });
    const batchWatcher = new BatchWatcher({
      refresh: (id) => collect.getBatch(id),
      intervalMs: config.chillr.pollIntervalMs,
      logger: logger.child({ component: 'batch-watcher' }),
    });
    closers.push(async () => batchWatcher.close());
    const pbgClient = new PbgClient({
      baseUrl: pbgBaseUrl,
      apiKey: config.pbg.apiKey,
      merchantId: config.pbg.merchantId,
      merchantAuth: config.pbg.merchantAuth,
      timeoutMs: config.upstreamTimeoutMs,
      logger: logger.child({ component: 'pbg-client' }),
    });
    const services: Services = {
      collect,
      batchWatcher,
      changeFeed,
      purchases: new PurchaseService({
        client: pbgClient,
        idempotency,
        merchantId: config.pbg.merchantId,
        state: purchaseState,
        cacheTtlMs: config.pbg.cacheTtlMs,
        logger,
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
    });
    const reconciler = new Reconciler({
      client: pbgClient,
      purchases: services.purchases,
      state: purchaseState,
      store,
      merchantId: config.pbg.merchantId,
      intervalMs: config.pbg.reconcileIntervalMs,
      logTtlMs: config.pbg.changeLogTtlMs,
      logger: logger.child({ component: 'pbg-reconcile' }),
    });
    reconciler.start();
    closers.push(() => reconciler.close());

    const schema = await buildFederatedSchema(events.bus);
    const httpApp = await createHttpApp({
      httpServer,
      schema,
      context: (requestId) => createContext(services, requestId, logger),
      logger,
      production: config.nodeEnv === 'production',
      trustProxy: config.trustProxy,
      readiness: () => store.ping(),
      routes: (app) => {
        app.use(
          '/pbg',
          pbgRoutes({
            callbacks,
            changePush: (body) => changePush.handle(body),
            allowedIps: config.pbg.allowedIps,
            logger,
          }),
        );
      },
    });

    // Subscriptions: graphql-ws on the same server and path as queries.
    const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
    const wsCleanup = useServer(
      {
        schema,
        context: () => createContext(services, randomUUID(), logger),
        connectionInitWaitTimeout: config.wsInitTimeoutMs,
        onError: (_ctx, _id, _payload, errors) => {
          logger.warn({ errors: errors.map((e) => e.message) }, 'subscription error');
        },
      },
      wsServer,
      config.wsKeepAliveMs,
    );
    // httpApp.stop() (Apollo's drain) closes the HTTP server, so it replaces the plain close above;
    // sockets close first, or the drain would wait for them.
    closers.splice(closers.indexOf(closeHttp), 1);
    closers.push(httpApp.stop);
    closers.push(async () => {
      await wsCleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    });
    logger.info({ url: `${url}/graphql`, store: store.description }, 'payments subgraph listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      config,
      services,
      store,
      sandbox,
      purchaseState,
      reconciler,
      close: () => (closing ??= closeAll(closers, logger)),
    };
  } catch (error) {
    await closeAll(closers, logger);
    throw error;
  }
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
