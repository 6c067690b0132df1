import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Metrics } from '../observability/metrics.js';
import { metricsRoute } from './plugin/observability/index.js';
import { createResponseCache, type ResponseCacheOptions } from './plugin/response-cache/index.js';
import { mountExplorer, type ExplorerOptions } from './explorer.js';
import type { Logger } from '../logger.js';
import type { Redactor } from '../redact.js';
import { createFormatError } from './graphql-errors.js';
import { graphqlHandler } from './express-graphql.js';
import type { OperationPipeline } from './pipeline/index.js';
import { httpAdapter, type HttpPipeline } from './pipeline/http.js';
import { bodyIdleTimeout } from './slow-clients.js';
import {
  subscriptionCallbackPlugin,
  type SubscriptionCallbackOptions,
} from './subscription-callback.js';
import { VARIABLES } from '../config/variables.js';

export interface HttpAppOptions<Context extends object> {
  schema: GraphQLSchema;
  /** Builds the per-operation context (fresh DataLoaders each time). */
  context: (requestId: string) => Context;
  logger: Logger;
  /** Sandbox landing page, introspection and detailed errors are for development only. */
  production: boolean;
  /** Express `trust proxy`, so `req.ip` is the client behind a load balancer. @default false */
  trustProxy?: boolean | number | string[];
  /** Throws when the service cannot serve (store unreachable, upstream not configured). */
  readiness: () => Promise<void>;
  /** Extra routes mounted before /graphql (the PBG callbacks). @default undefined */
  routes?: (app: express.Express) => void;
  /** A body with no byte for this long is cut off @default as HTTP_BODY_IDLE_TIMEOUT_MS */
  bodyIdleTimeoutMs?: number;
  /** Largest JSON body accepted on /graphql. @default as MAX_REQUEST_BYTES (src/config/) */
  bodyLimit?: number;
  /**
   * The operation pipeline (src/http/pipeline/): request start on every request; on
   * /graphql admission before the body is read, the parse hook after it, then validation,
   * execute and error hooks inside Apollo Server.
   */
  pipeline: OperationPipeline;
  /** Scrubs configured secrets from every error message. @default none */
  redactor?: Redactor;
  /** An already listening server to serve on (its port is needed before the app exists). @default a new one */
  httpServer?: http.Server;
  /** Subscriptions over Apollo's HTTP callback protocol (routers). @default undefined (off) */
  subscriptionCallback?: SubscriptionCallbackOptions;
  /**
   * The service's metrics, for GET /metrics and the response cache's own. (What each operation
   * reports is the pipeline's observability plugin.) @default none
   */
  metrics?: Metrics;
  /** Serve GET /metrics here, outside the router secret (false when METRICS_PORT is set). @default false */
  serveMetrics?: boolean;
  /**
   * Repeated reads of what cannot change answered before Apollo Server
   * (src/http/plugin/response-cache/); its metrics go to `metrics`' registry.
   * @default undefined (off)
   */
  responseCache?: Omit<ResponseCacheOptions, 'registry' | 'onHit' | 'logger'>;
  /**
   * GraphiQL served offline at GET /graphql (Accept: text/html) outside production.
   * @default undefined (Apollo's landing page outside production, none in production)
   */
  explorer?: ExplorerOptions;
}

export interface HttpApp {
  app: express.Express;
  httpServer: http.Server;
  /** Drains in-flight requests and closes the HTTP server. */
  stop: () => Promise<void>;
}

/**
 * The HTTP face of the service: `/graphql` (Apollo Server on express 5), `/healthz`,
 * `/readyz`, and whatever `routes` adds. It does not listen; the caller decides where.
 */
export async function createHttpApp<C extends object>(
  options: HttpAppOptions<C>,
): Promise<HttpApp> {
  const { logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  const httpServer = options.httpServer ?? http.createServer();
  const pipeline = httpAdapter(options.pipeline);
  const responseCache =
    options.responseCache &&
    createResponseCache({
      ...options.responseCache,
      registry: options.metrics?.registry,
      onHit: pipeline.answered,
      logger,
    });
  const apollo = createApollo(options, httpServer, pipeline, responseCache);
  await apollo.start();

  app.use(
    bodyIdleTimeout(options.bodyIdleTimeoutMs ?? VARIABLES.HTTP_BODY_IDLE_TIMEOUT_MS.default),
  );
  app.use(pipeline.requestStart);
  if (options.metrics && options.serveMetrics) app.get('/metrics', metricsRoute(options.metrics));

  serveHealth(app, options.readiness, logger);

  const bodyLimit = options.bodyLimit ?? VARIABLES.MAX_REQUEST_BYTES.default;
  const json = express.json({ limit: bodyLimit, verify: responseCache?.captureBody });
  options.routes?.(app);
  // Before the router-secret check: the page and its assets hold no secret (explorer.ts).
  if (options.explorer && !options.production) mountExplorer(app, options.explorer);
  app.use(
    '/graphql',
    pipeline.admit,
    json,
    // The operation stage (the pipeline's wraps), when a plugin has one; then, after the router
    // secret and the body, before the parse hook and Apollo, the response cache: a hit is a body
    // byte-identical to one that already passed the pipeline.
    ...[pipeline.operation, responseCache?.middleware].filter(
      (handler): handler is RequestHandler => handler !== undefined,
    ),
    pipeline.parse,
    graphqlHandler(apollo, { context: pipeline.context((req) => options.context(req.id)) }),
  );

  app.use((req, res) => {
    res
      .status(404)
      .json({ error: `No route for ${req.method} ${req.path}; the graph is at /graphql.` });
  });
  // Body-parser and other middleware errors: answer in JSON, never crash, never echo the body.
  app.use(errorHandler(bodyLimit, logger));

  // Replaces any placeholder handler the server answered with while the app was being built.
  httpServer.removeAllListeners('request');
  httpServer.on('request', app);
  return { app, httpServer, stop: () => apollo.stop() };
}

/** Apollo's landing page when the explorer is not mounted: none in production. */
function landingPage(production: boolean) {
  return production
    ? ApolloServerPluginLandingPageDisabled()
    : ApolloServerPluginLandingPageLocalDefault({ embed: true, footer: false });
}

/** Apollo Server with the plugins in order: pipeline, response cache, drain, page. */
function createApollo<C extends object>(
  options: HttpAppOptions<C>,
  httpServer: http.Server,
  pipeline: HttpPipeline,
  responseCache: ReturnType<typeof createResponseCache> | undefined,
): ApolloServer<C> {
  const { logger } = options;
  return new ApolloServer<C>({
    schema: options.schema,
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    // src/main.ts owns SIGTERM/SIGINT; Apollo's own handler raced it (15 s and exit 1).
    stopOnTerminationSignals: false,
    formatError: createFormatError(logger, options.redactor),
    validationRules: pipeline.validationRules,
    plugins: [
      pipeline.apollo,
      ...(responseCache ? [responseCache.plugin] : []),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Development: GraphiQL served offline by this service (explorer.ts) instead of Apollo's
      // CDN-loaded page; production: no page at all.
      options.explorer ? ApolloServerPluginLandingPageDisabled() : landingPage(options.production),
      ...(options.subscriptionCallback
        ? [subscriptionCallbackPlugin<C>(options.subscriptionCallback)]
        : []),
    ],
    logger: {
      debug: (m) => logger.debug(m),
      info: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      error: (m) => logger.error(m),
    },
  });
}

/** `/healthz`: the process answers. `/readyz`: it can work (the store answers and writes). */
function serveHealth(app: express.Express, readiness: () => Promise<void>, logger: Logger): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (req, res) => {
    try {
      await readiness();
      res.json({ status: 'ready' });
    } catch (error) {
      logger.warn({ requestId: req.id, err: error }, 'not ready');
      res.status(503).json({ status: 'not ready', reason: (error as Error).message });
    }
  });
}

/** The last handler: an error answered in JSON with a plain message, logged when it is ours. */
function errorHandler(bodyLimit: number, logger: Logger) {
  return (
    error: Error & { status?: number; type?: string },
    req: Request,
    res: Response,
    _next: NextFunction,
  ) => {
    // Already answered (a stalled body cut off by bodyIdleTimeout): nothing more to say.
    if (res.headersSent) return;
    const status = error.status && error.status >= 400 && error.status < 600 ? error.status : 500;
    if (status >= 500) logger.error({ requestId: req.id, err: error }, 'request failed');
    res.status(status).json({
      error:
        status === 413
          ? `Request body too large: the limit is ${bodyLimit} bytes (MAX_REQUEST_BYTES).`
          : status >= 500
            ? 'Internal server error.'
            : error.message,
    });
  };
}
