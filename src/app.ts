import { buildFederatedSchema } from '../resolvers/schema.js';
import { createContext } from '../resolvers/context.js';
import { ChillrClient } from './chillr/client.js';
import { CollectService } from './chillr/service.js';
import type { Config } from './config.js';
import { createHttpApp } from './http/app.js';
import { Idempotency } from './idempotency.js';
import { createLogger, type Logger } from './logger.js';
import { startChillrSimulator, type ChillrSimulator } from './sandbox/chillr/index.js';
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
  /** The in-process simulators standing in for unconfigured upstreams. */
  sandbox: { chillr?: ChillrSimulator };
  /** Stops accepting, drains in-flight requests, then closes the store and simulators. */
  close(): Promise<void>;
}

/**
 * The composition root: configuration in, a listening service out. `src/main.ts` calls it for
 * `npm start`; tests call it with ephemeral ports and their own store URLs.
 */
export async function startApp(config: Config, options: AppOptions = {}): Promise<RunningApp> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const closers: Array<() => Promise<void>> = [];
  try {
    const store = await openStore(config.storeUrl, { logger });
    closers.push(() => store.close());

    const sandbox: RunningApp['sandbox'] = {};
    let chillrBaseUrl = config.chillr.baseUrl;
    if (chillrBaseUrl === undefined) {
      sandbox.chillr = await startChillrSimulator({
        port: config.chillr.sandboxPort,
        credentials: { apiKey: config.chillr.apiKey, apiSecretKey: config.chillr.apiSecretKey },
        logger: logger.child({ component: 'chillr-sandbox' }),
      });
      closers.push(() => sandbox.chillr!.close());
      chillrBaseUrl = sandbox.chillr.url;
      logger.info(
        { url: chillrBaseUrl },
        'CHILLR_BASE_URL unset: using the in-process Chillr sandbox',
      );
    }

    const idempotency = new Idempotency(store, {
      pendingTtlMs: Math.max(60_000, config.upstreamTimeoutMs * 3),
    });
    const chillrClient = new ChillrClient({
      baseUrl: chillrBaseUrl,
      apiKey: config.chillr.apiKey,
      apiSecretKey: config.chillr.apiSecretKey,
      timeoutMs: config.upstreamTimeoutMs,
      logger: logger.child({ component: 'chillr-client' }),
    });
    const services: Services = {
      collect: new CollectService({
        client: chillrClient,
        store,
        idempotency,
        logger,
        maxBatchSize: config.chillr.maxBatchSize,
      }),
    };

    const { httpServer, apollo } = await createHttpApp({
      schema: await buildFederatedSchema(),
      context: (requestId) => createContext(services, requestId, logger),
      logger,
      production: config.nodeEnv === 'production',
      trustProxy: config.trustProxy,
      readiness: () => store.ping(),
    });
    closers.push(() => apollo.stop());

    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => resolve());
    });
    const address = httpServer.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://127.0.0.1:${port}`;
    logger.info({ url: `${url}/graphql`, store: store.description }, 'payments subgraph listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      config,
      services,
      store,
      sandbox,
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
