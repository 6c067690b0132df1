/**
 * Environment → typed, validated configuration. This is the only module that reads
 * `process.env` (an eslint rule keeps it that way), so every public setting is listed here
 * and in the README's configuration table.
 *
 * Validation collects every problem before failing, so an operator fixes a broken deployment
 * in one pass instead of one restart per variable. Messages name the variable, quote what
 * arrived (never for secrets) and say what would be accepted.
 *
 * What each variable is, its bounds and its value when unset are in the configuration table,
 * src/config/variables.ts (the README's table is generated from it); each field below names
 * its variable.
 */

import type { SlowClientTimeouts } from './http/slow-clients.js';
import { Reader, type Env } from './config-reader.js';
import type {
  AuthConfig,
  ChillrConfig,
  Config,
  GraphQLLimitsConfig,
  PbgConfig,
  ResponseCacheConfig,
  SupergraphConfig,
} from './config/types.js';

export type {
  AuthConfig,
  ChillrConfig,
  Config,
  GraphQLLimitsConfig,
  PbgConfig,
  ResponseCacheConfig,
  SupergraphConfig,
} from './config/types.js';

/** The credentials the sandbox simulators accept when none are configured. Not secrets. */
export { SANDBOX_DEFAULTS } from './config/variables.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates configuration; throws {@link ConfigError} listing every problem. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = new Reader(env, problems);

  const nodeEnv = read.get('NODE_ENV');
  const port = read.get('PORT');
  const chillrBaseUrl = read.get('CHILLR_BASE_URL');
  const pbgBaseUrl = read.get('PBG_BASE_URL');

  const config: Config = {
    port,
    host: read.get('HOST'),
    nodeEnv,
    logLevel: read.get('LOG_LEVEL'),
    storeUrl: read.get('STORE_URL'),
    pgPoolMax: read.get('PG_POOL_MAX'),
    redisUrl: read.get('REDIS_URL'),
    allowForgetfulStore: read.get('ALLOW_FORGETFUL_STORE'),
    redisPersistenceConfirmed: read.get('REDIS_PERSISTENCE_CONFIRMED'),
    outboxDir: read.get('OUTBOX_DIR'),
    upstreamTimeoutMs: read.get('UPSTREAM_TIMEOUT_MS'),
    requireIdempotencyKey: read.get('REQUIRE_IDEMPOTENCY_KEY', nodeEnv),
    idempotencyClaimMarginMs: read.get('IDEMPOTENCY_CLAIM_MARGIN_MS'),
    upstreamGuard: {
      maxConcurrency: read.get('UPSTREAM_MAX_CONCURRENCY'),
      maxQueue: read.get('UPSTREAM_MAX_QUEUE'),
      breakerThreshold: read.get('UPSTREAM_BREAKER_THRESHOLD'),
      halfOpenAfterMs: read.get('UPSTREAM_BREAKER_HALF_OPEN_MS'),
    },
    trustProxy: read.get('TRUST_PROXY'),
    router: {
      secret: read.get('ROUTER_SECRET'),
      secretHeader: read.get('ROUTER_SECRET_HEADER'),
    },
    callbackPort: read.get('CALLBACK_PORT'),
    metricsPort: read.get('METRICS_PORT'),
    otel: {
      endpoint: read.get('OTEL_EXPORTER_OTLP_ENDPOINT'),
      serviceName: read.get('OTEL_SERVICE_NAME'),
    },
    httpTimeouts: readHttpTimeouts(read, problems),
    maxRequestBytes: read.get('MAX_REQUEST_BYTES'),
    wsMaxSubscriptionsPerConnection: read.get('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION'),
    wsKeepAliveMs: read.get('WS_KEEPALIVE_MS'),
    wsInitTimeoutMs: read.get('WS_INIT_TIMEOUT_MS'),
    wsMaxBufferedBytes: read.get('WS_MAX_BUFFERED_BYTES'),
    subscriptionCallbackOrigins: read.get('SUBSCRIPTION_CALLBACK_ORIGINS'),
    subscriptionCallbackEnabled: read.get('SUBSCRIPTION_CALLBACK_ENABLED'),
    subscriptionCallbackMax: read.get('SUBSCRIPTION_CALLBACK_MAX'),
    chillr: readChillr(read, chillrBaseUrl),
    pbg: readPbg(read, pbgBaseUrl),
    graphqlLimits: readGraphqlLimits(read),
    auth: readAuth(read, problems),
    responseCache: readResponseCache(read),
  };

  if (nodeEnv === 'production' && (!chillrBaseUrl || !pbgBaseUrl)) {
    problems.push(
      'NODE_ENV=production needs CHILLR_BASE_URL and PBG_BASE_URL: the in-process sandbox ' +
        'simulators are for development only. Set both upstream URLs, or use NODE_ENV=development.',
    );
  }
  checkRouterPosture(config, read.get('ALLOW_UNAUTHENTICATED_ROUTER'), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Chillr's URL, credentials (the sandbox's when no URL is set) and batch limits. */
function readChillr(read: Reader, chillrBaseUrl: string | undefined): ChillrConfig {
  return {
    baseUrl: chillrBaseUrl,
    apiKey: read.get('CHILLR_API_KEY', chillrBaseUrl),
    apiSecretKey: read.get('CHILLR_API_SECRET_KEY', chillrBaseUrl),
    maxBatchSize: read.get('CHILLR_MAX_BATCH_SIZE'),
    pollIntervalMs: read.get('CHILLR_POLL_INTERVAL_MS'),
    maxPollers: read.get('CHILLR_MAX_POLLERS'),
    statusCacheMs: read.get('CHILLR_STATUS_CACHE_MS'),
    sandboxPort: read.get('CHILLR_SANDBOX_PORT'),
  };
}

/** PayByGroup's URL, credentials, callback checks, caches and change-log retention. */
function readPbg(read: Reader, pbgBaseUrl: string | undefined): PbgConfig {
  return {
    baseUrl: pbgBaseUrl,
    apiKey: read.get('PBG_API_KEY', pbgBaseUrl),
    merchantId: read.get('PBG_MERCHANT_ID', pbgBaseUrl),
    merchantAuth: read.get('PBG_MERCHANT_AUTH', pbgBaseUrl),
    allowedIps: read.get('PBG_ALLOWED_IPS'),
    sandboxPort: read.get('PBG_SANDBOX_PORT'),
    cacheTtlMs: read.get('PBG_CACHE_TTL_MS'),
    changeLogTtlMs: read.get('PBG_CHANGE_LOG_TTL_MS'),
    reconcileIntervalMs: read.get('PBG_RECONCILE_INTERVAL_MS'),
    publicBaseUrl: read.get('PUBLIC_BASE_URL'),
    callbackMaxBytes: read.get('PBG_CALLBACK_MAX_BYTES'),
  };
}

/** Per-operation limits, checked before execution over HTTP and WebSocket. */
function readGraphqlLimits(read: Reader): GraphQLLimitsConfig {
  return {
    maxAliases: read.get('GRAPHQL_MAX_ALIASES'),
    maxDepth: read.get('GRAPHQL_MAX_DEPTH'),
    maxTokens: read.get('GRAPHQL_MAX_TOKENS'),
    maxCost: read.get('GRAPHQL_MAX_COST'),
    maxEntities: read.get('GRAPHQL_MAX_ENTITIES'),
  };
}

/** AUTH_JWKS_URL turns verification on, and then needs the issuer and audience to check. */
function readAuth(read: Reader, problems: string[]): AuthConfig | undefined {
  const jwksUrl = read.get('AUTH_JWKS_URL');
  const issuer = read.get('AUTH_JWT_ISSUER');
  const audience = read.get('AUTH_JWT_AUDIENCE');
  const jwksCooldownMs = read.get('AUTH_JWKS_COOLDOWN_MS');
  const jwksCacheMaxAgeMs = read.get('AUTH_JWKS_CACHE_MAX_AGE_MS');
  if (jwksUrl === undefined) {
    if (issuer !== undefined || audience !== undefined) {
      problems.push(
        'AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE only take effect with AUTH_JWKS_URL (the key set tokens are verified against); set it, or unset them.',
      );
    }
    return undefined;
  }
  const missing = [
    ['AUTH_JWT_ISSUER', issuer],
    ['AUTH_JWT_AUDIENCE', audience],
  ].filter(([, value]) => value === undefined);
  if (missing.length > 0) {
    problems.push(
      `AUTH_JWKS_URL is set, so ${missing.map(([name]) => name).join(' and ')} must be too: a token is accepted only from the expected issuer for the expected audience.`,
    );
  }
  return {
    jwksUrl,
    issuer: issuer ?? '',
    audience: audience ?? '',
    jwksCooldownMs,
    jwksCacheMaxAgeMs,
  };
}

/** Slow-client cut-offs; the headers must be allowed less time than the whole request. */
function readHttpTimeouts(read: Reader, problems: string[]): SlowClientTimeouts {
  const timeouts = {
    headersTimeoutMs: read.get('HTTP_HEADERS_TIMEOUT_MS'),
    requestTimeoutMs: read.get('HTTP_REQUEST_TIMEOUT_MS'),
    bodyIdleTimeoutMs: read.get('HTTP_BODY_IDLE_TIMEOUT_MS'),
  };
  if (timeouts.headersTimeoutMs > timeouts.requestTimeoutMs) {
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS (${timeouts.headersTimeoutMs}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${timeouts.requestTimeoutMs}): the headers are part of the request.`,
    );
  }
  return timeouts;
}

/** RESPONSE_CACHE_ENABLED=false turns it off; its bounds are checked either way. */
function readResponseCache(read: Reader): ResponseCacheConfig | undefined {
  const enabled = read.get('RESPONSE_CACHE_ENABLED');
  const bounds = {
    maxEntries: read.get('RESPONSE_CACHE_MAX_ENTRIES'),
    maxBytes: read.get('RESPONSE_CACHE_MAX_BYTES'),
  };
  return enabled ? bounds : undefined;
}

/**
 * Combinations that would open the service to anyone: production with no router secret (unless
 * the operator says the network already keeps everyone else out), and an allow-list of PBG
 * addresses read through proxies it cannot tell from forgers.
 */
function checkRouterPosture(config: Config, allowUnauthenticated: boolean, problems: string[]) {
  if (config.nodeEnv === 'production' && !config.router.secret && !allowUnauthenticated) {
    problems.push(
      'ROUTER_SECRET must be set when NODE_ENV=production, so only the router reaches /graphql ' +
        '(configure the router to send it in the ROUTER_SECRET_HEADER header). If the network ' +
        'already guarantees that, set ALLOW_UNAUTHENTICATED_ROUTER=true.',
    );
  }
  if (
    config.nodeEnv === 'production' &&
    config.subscriptionCallbackEnabled &&
    !config.subscriptionCallbackOrigins
  ) {
    problems.push(
      'SUBSCRIPTION_CALLBACK_ORIGINS must be set when NODE_ENV=production (the origins of your ' +
        "routers' subscription callback endpoints, e.g. https://router.internal:4040): without " +
        'it a subscription may name any address as its callbackUrl and this service POSTs to ' +
        'it. If no router uses the HTTP callback protocol, set SUBSCRIPTION_CALLBACK_ENABLED=false.',
    );
  }
  if (
    config.pbg.allowedIps &&
    (config.trustProxy === true || typeof config.trustProxy === 'number')
  ) {
    problems.push(
      `TRUST_PROXY=${String(config.trustProxy)} cannot be used with PBG_ALLOWED_IPS: it believes ` +
        'X-Forwarded-For from whoever connects, so a forged header would pass the allow-list. ' +
        'Set TRUST_PROXY to the addresses or CIDRs of your proxies (e.g. 10.0.0.0/8).',
    );
  }
}

/** Reads and validates the supergraph demo's settings; throws {@link ConfigError}. */
export function loadSupergraphConfig(env: Env = process.env): SupergraphConfig {
  const problems: string[] = [];
  const read = new Reader(env, problems);
  const config: SupergraphConfig = {
    gatewayPort: read.get('GATEWAY_PORT'),
    ordersPort: read.get('ORDERS_PORT'),
    supergraphFile: read.get('SUPERGRAPH_FILE'),
    corsOrigins: read.get('GATEWAY_CORS_ORIGINS'),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
