import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { Router } from 'express';
import type { GraphQLSchema } from 'graphql';
import { createContext } from '../../resolvers/context.js';
import { subscriptionJoinRule } from '../../resolvers/live/sharing.js';
import { buildFederatedSchema } from '../../resolvers/schema.js';
import type { Config } from '../config.js';
import type { EventBus } from '../events/pubsub.js';
import { createHttpApp } from '../http/app.js';
import { createFormatError } from '../http/graphql-errors.js';
import { createPipeline, type OperationPlugin } from '../http/pipeline/index.js';
import { authPlugin } from '../http/plugin/auth/index.js';
import { operationLimitsPlugin } from '../http/plugin/limits/index.js';
import { requestIdPlugin } from '../http/plugin/request-id/index.js';
import { requestLogPlugin } from '../http/plugin/request-log/index.js';
import { routerSecretPlugin } from '../http/plugin/router-secret/index.js';
import { storeReadiness } from '../http/readiness.js';
import { attachGraphqlWs } from '../http/ws.js';
import type { Logger } from '../logger.js';
import type { Telemetry } from '../observability/index.js';
import type { Redactor } from '../redact.js';
import type { Services } from '../services.js';
import type { Store } from '../store/index.js';
import type { Closers } from './closers.js';

export interface GraphWiring {
  config: Config;
  /** The main listener, already bound (answering 503 until now). */
  httpServer: http.Server;
  /** Its plain close, which Apollo's drain takes over. */
  closeHttp: () => Promise<void>;
  services: Services;
  bus: EventBus;
  store: Store;
  telemetry: Telemetry;
  /** The observability plugin (src/http/plugin/observability/), shared with the callback port. */
  observability: OperationPlugin;
  /** Scrubs the configured credentials from every error message. */
  redactor: Redactor;
  /** The PayByGroup callbacks, when they share the main port (no CALLBACK_PORT). */
  pbgRoutes: Router | undefined;
  /** Whether /metrics is served here (no METRICS_PORT). */
  serveMetrics: boolean;
  logger: Logger;
  closers: Closers;
  /** The clock token expiry and cache entries are judged by. @default Date.now */
  now?: () => number;
}

/**
 * The graph on the main listener: the federated schema, the operation pipeline (limits, token
 * and scope rules), Apollo Server over HTTP and graphql-ws on the same `/graphql` path, both
 * behind the router secret and formatting errors the same way.
 */
export async function serveGraph(w: GraphWiring): Promise<void> {
  const { config, logger, telemetry, services } = w;
  const schema = await buildFederatedSchema(w.bus);
  const pipeline = createPipeline(
    operationPlugins(config, schema, logger, w.observability, w.now),
    {
      schema,
    },
  );
  const pbg = w.pbgRoutes;
  const httpApp = await createHttpApp({
    httpServer: w.httpServer,
    schema,
    context: (requestId) => createContext(services, requestId, logger, telemetry.metrics),
    metrics: telemetry.metrics,
    serveMetrics: w.serveMetrics,
    logger,
    production: config.nodeEnv === 'production',
    redactor: w.redactor,
    pipeline,
    explorer:
      config.nodeEnv === 'production'
        ? undefined
        : { routerSecretHeader: config.router.secretHeader },
    bodyLimit: config.maxRequestBytes,
    bodyIdleTimeoutMs: config.httpTimeouts.bodyIdleTimeoutMs,
    trustProxy: config.trustProxy,
    readiness: storeReadiness(w.store),
    // With token verification, an entry stored for a token is served no longer than the keys
    // that verified it are trusted without a refetch.
    responseCache: config.responseCache && {
      ...config.responseCache,
      maxTokenReuseMs: config.auth?.jwksCacheMaxAgeMs,
      now: w.now,
    },
    subscriptionCallback: config.subscriptionCallbackEnabled
      ? {
          allowedOrigins: config.subscriptionCallbackOrigins,
          maxActive: config.subscriptionCallbackMax,
          onStream: (subscription, delta) =>
            telemetry.metrics.subscription({ subscription }, delta),
          logger: logger.child({ component: 'subscription-callback' }),
        }
      : undefined,
    routes: pbg ? (app) => app.use('/pbg', pbg) : undefined,
  });
  const closeWs = attachGraphqlWs({
    httpServer: w.httpServer,
    schema,
    context: (requestId) =>
      createContext(services, requestId ?? randomUUID(), logger, telemetry.metrics),
    // Auth passes or refuses a whole operation before it runs and the context holds no
    // principal (resolvers/context.ts), so every caller sees the same: one visibility.
    visibilityKey: () => 'any-authorized-caller',
    joinRule: subscriptionJoinRule,
    metrics: telemetry.metrics,
    logger,
    keepAliveMs: config.wsKeepAliveMs,
    maxBufferedBytes: config.wsMaxBufferedBytes,
    initTimeoutMs: config.wsInitTimeoutMs,
    maxPayloadBytes: config.maxRequestBytes,
    maxOperationsPerConnection: config.wsMaxSubscriptionsPerConnection,
    formatError: createFormatError(logger, w.redactor),
    pipeline,
  });
  // Apollo's drain closes the HTTP server, so it takes the plain close's place; sockets close
  // first (closers run in reverse), or the drain would wait for them.
  w.closers.replace(w.closeHttp, httpApp.stop);
  w.closers.add(closeWs);
}

/**
 * The operation pipeline's plugins, once for both transports, in the order their hooks run
 * (docs/architecture.md, "The operation pipeline"). Observability comes last: its request
 * start needs the request id, and its execute hook sees only what the others let through.
 */
function operationPlugins(
  config: Config,
  schema: GraphQLSchema,
  logger: Logger,
  observability: OperationPlugin,
  now: (() => number) | undefined,
): OperationPlugin[] {
  const secret = config.router.secret;
  const auth = config.auth;
  return [
    requestIdPlugin(),
    requestLogPlugin({ logger }),
    ...(secret ? [routerSecretPlugin({ secret, header: config.router.secretHeader, logger })] : []),
    operationLimitsPlugin({
      ...config.graphqlLimits,
      hideSuggestions: config.nodeEnv === 'production',
    }),
    ...(auth ? [authPlugin({ ...auth, now }, schema, logger.child({ component: 'auth' }))] : []),
    observability,
  ];
}
