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
import type { ValueOf } from './config/variables.js';

/** Credentials of one upstream. Never logged, never returned (see src/logger.ts). */
export interface ChillrConfig {
  /** Base URL of the Chillr API, or `undefined` for the in-process sandbox simulator. */
  baseUrl: string | undefined;
  apiKey: string;
  apiSecretKey: string;
  /** Largest batch the client accepts before calling upstream. `CHILLR_MAX_BATCH_SIZE`. */
  maxBatchSize: number;
  /** How often `collectBatchUpdated` polls a batch. `CHILLR_POLL_INTERVAL_MS`. */
  pollIntervalMs: number;
  /** CHILLR_MAX_POLLERS: batches polled at once by this process; one more subscription is refused. */
  maxPollers: number;
  /**
   * How long a non-terminal batch status may be served again after the read that brought it
   * was sent; 0 = every read asks Chillr (identical reads in flight still share one call).
   * `CHILLR_STATUS_CACHE_MS`.
   */
  statusCacheMs: number;
  /** CHILLR_SANDBOX_PORT: the in-process simulator's port when `baseUrl` is unset (0 = any). */
  sandboxPort: number;
}

export interface PbgConfig {
  /** Base URL of PayByGroup, or `undefined` for the in-process sandbox simulator. */
  baseUrl: string | undefined;
  apiKey: string;
  merchantId: string;
  /** 32 printable ASCII characters; PBG sends it on every callback and we send it on actions. */
  merchantAuth: string;
  /** When set, inbound PBG callbacks from other addresses are refused. */
  allowedIps: string[] | undefined;
  /** PBG_SANDBOX_PORT: the in-process simulator's port when `baseUrl` is unset (0 = any). */
  sandboxPort: number;
  /**
   * How long a known purchase state (read or pushed) is served without asking PBG; change
   * pushes refresh it. 0 = always ask.
   * `PBG_CACHE_TTL_MS`.
   */
  cacheTtlMs: number;
  /**
   * How long the purchase change log keeps a change (cursors older than that are refused).
   * `PBG_CHANGE_LOG_TTL_MS`.
   */
  changeLogTtlMs: number;
  /**
   * How often one instance compares the purchases it knows in a non-final state with PayByGroup,
   * to find changes no push announced. 0 = never.
   * `PBG_RECONCILE_INTERVAL_MS`.
   */
  reconcileIntervalMs: number;
  /**
   * Base URL PBG uses to reach this service (the sandbox simulator calls it back there).
   * `PUBLIC_BASE_URL`.
   */
  publicBaseUrl: string | undefined;
  /**
   * Largest PBG callback body (a 5,000-event change push fits); an unauthenticated one is
   * refused before it is parsed.
   * `PBG_CALLBACK_MAX_BYTES`.
   */
  callbackMaxBytes: number;
}

/** Per-operation limits over HTTP and WebSocket (src/http/plugin/limits/options.ts). */
export interface GraphQLLimitsConfig {
  /** GRAPHQL_MAX_ALIASES. */
  maxAliases: number;
  /** GRAPHQL_MAX_DEPTH. */
  maxDepth: number;
  /** GRAPHQL_MAX_TOKENS. */
  maxTokens: number;
  /** GRAPHQL_MAX_COST (the schema's @cost/@listSize, with the variables). */
  maxCost: number;
  /** GRAPHQL_MAX_ENTITIES: `_entities` representations in one operation. */
  maxEntities: number;
}

/** Verifying the token the router forwards (src/http/plugin/auth/). */
export interface AuthConfig {
  /** AUTH_JWKS_URL: where the signing keys are published. */
  jwksUrl: string;
  /** AUTH_JWT_ISSUER: the `iss` every token must carry. */
  issuer: string;
  /** AUTH_JWT_AUDIENCE: the `aud` every token must carry. */
  audience: string;
  /** AUTH_JWKS_COOLDOWN_MS: least time between two key-set fetches for an unknown `kid`. */
  jwksCooldownMs: number;
  /** AUTH_JWKS_CACHE_MAX_AGE_MS: how long fetched keys are trusted before a refetch. */
  jwksCacheMaxAgeMs: number;
}

export interface Config {
  /** `PORT`. */
  port: number;
  /** `HOST`. */
  host: string;
  /** `NODE_ENV`. */
  nodeEnv: ValueOf<'NODE_ENV'>;
  /** `LOG_LEVEL`. */
  logLevel: ValueOf<'LOG_LEVEL'>;
  /**
   * `memory://`, `sqlite:<path>`, `redis://…` or `postgres://…`.
   * `STORE_URL`.
   */
  storeUrl: string;
  /** Connections the PostgreSQL store's pool keeps open at most, per process. `PG_POOL_MAX`. */
  pgPoolMax: number;
  /** Moves pub/sub to Redis so subscriptions work across instances. `REDIS_URL`. */
  redisUrl: string | undefined;
  /**
   * Production starts on a store that forgets acknowledged writes on a crash (`memory://`,
   * Redis with appendonly no): the operator accepts that an idempotency key can be forgotten.
   * `ALLOW_FORGETFUL_STORE`.
   */
  allowForgetfulStore: boolean;
  /**
   * The operator's word that a Redis store which refuses CONFIG GET keeps an append-only file
   * (a managed Redis with persistence on); without it production will not start on it.
   * `REDIS_PERSISTENCE_CONFIRMED`.
   */
  redisPersistenceConfirmed: boolean;
  /**
   * Local directory of the outbox journal: outcomes the store refused wait here, fsync'd, until
   * the store takes them — by this process or the next one started with the same directory.
   * `OUTBOX_DIR`.
   */
  outboxDir: string;
  /** Per-attempt timeout of every upstream call. `UPSTREAM_TIMEOUT_MS`. */
  upstreamTimeoutMs: number;
  /**
   * Money-moving mutations refuse to run without an idempotencyKey (userError
   * IDEMPOTENCY_KEY_REQUIRED, before any upstream call).
   * `REQUIRE_IDEMPOTENCY_KEY`.
   */
  requireIdempotencyKey: boolean;
  /**
   * Margin past 2 × upstreamTimeoutMs after which an idempotency claim's owner is taken for
   * dead, and an attempt that timed out is taken as finished upstream.
   * `IDEMPOTENCY_CLAIM_MARGIN_MS`.
   */
  idempotencyClaimMarginMs: number;
  /** Bulkhead and circuit breaker of each upstream (see src/upstream/guard.ts). */
  upstreamGuard: {
    /** Calls in flight to one upstream per process. `UPSTREAM_MAX_CONCURRENCY`. */
    maxConcurrency: number;
    /** Calls waiting for a slot before more are refused. `UPSTREAM_MAX_QUEUE`. */
    maxQueue: number;
    /** Consecutive failures that open the circuit. `UPSTREAM_BREAKER_THRESHOLD`. */
    breakerThreshold: number;
    /** How long an open circuit refuses calls before a probe. `UPSTREAM_BREAKER_HALF_OPEN_MS`. */
    halfOpenAfterMs: number;
  };
  /**
   * Express `trust proxy`: which proxies' `X-Forwarded-For` is believed. `false`, a hop count,
   * or a list of addresses/CIDRs/express names (`loopback`, `linklocal`, `uniquelocal`).
   * `TRUST_PROXY`.
   */
  trustProxy: boolean | number | string[];
  /** Behind a router: who may call /graphql, and where the PBG callbacks listen. */
  router: {
    /** Shared secret every /graphql request must carry; unset = anyone who reaches the port. */
    secret: string | undefined;
    /** Header (and connection_init field) carrying it. `ROUTER_SECRET_HEADER`. */
    secretHeader: string;
  };
  /** CALLBACK_PORT: a second port serving only the PBG callbacks (then the main port does not). */
  callbackPort: number | undefined;
  /**
   * Where GET /metrics is served: its own port when set (then not on the main port), else the
   * main port, outside the router secret. `METRICS_PORT`.
   */
  metricsPort: number | undefined;
  /** OpenTelemetry tracing (src/observability/tracing.ts). */
  otel: {
    /** OTEL_EXPORTER_OTLP_ENDPOINT: OTLP/HTTP base URL; unset = no exporter. */
    endpoint: string | undefined;
    /** OTEL_SERVICE_NAME. */
    serviceName: string;
  };
  /**
   * How long a client may take to send its request, on every listener
   * (src/http/slow-clients.ts): HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS,
   * HTTP_BODY_IDLE_TIMEOUT_MS.
   */
  httpTimeouts: SlowClientTimeouts;
  /** Largest /graphql request body, and WebSocket message. `MAX_REQUEST_BYTES`. */
  maxRequestBytes: number;
  /** Operations one WebSocket may run at once. `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`. */
  wsMaxSubscriptionsPerConnection: number;
  /** graphql-ws: server ping interval, so idle proxies keep the socket open. `WS_KEEPALIVE_MS`. */
  wsKeepAliveMs: number;
  /** graphql-ws: how long a client may take to send connection_init. `WS_INIT_TIMEOUT_MS`. */
  wsInitTimeoutMs: number;
  /**
   * Unsent bytes one WebSocket may hold when its next message is due; over it the client is
   * not reading, and the socket is closed (1013) instead of buffered further.
   * `WS_MAX_BUFFERED_BYTES`.
   */
  wsMaxBufferedBytes: number;
  /**
   * Origins a router's subscription `callbackUrl` may point at (HTTP callback protocol).
   * Required in production while the protocol is on.
   * `SUBSCRIPTION_CALLBACK_ORIGINS`.
   */
  subscriptionCallbackOrigins: string[] | undefined;
  /** SUBSCRIPTION_CALLBACK_ENABLED: serve the HTTP callback protocol at all. */
  subscriptionCallbackEnabled: boolean;
  /** SUBSCRIPTION_CALLBACK_MAX: callback subscriptions one process holds at once. */
  subscriptionCallbackMax: number;
  chillr: ChillrConfig;
  pbg: PbgConfig;
  graphqlLimits: GraphQLLimitsConfig;
  /** Set when AUTH_JWKS_URL is: the subgraph verifies tokens itself. */
  auth: AuthConfig | undefined;
  /**
   * Answers repeated reads of terminal data before Apollo Server (src/http/plugin/response-cache/);
   * undefined when RESPONSE_CACHE_ENABLED=false.
   */
  responseCache: ResponseCacheConfig | undefined;
}

/** RESPONSE_CACHE_*: the bounds of the response cache. */
export interface ResponseCacheConfig {
  /** RESPONSE_CACHE_MAX_ENTRIES: most responses kept (LRU past it). */
  maxEntries: number;
  /** RESPONSE_CACHE_MAX_BYTES: most bytes kept (LRU past it). */
  maxBytes: number;
}

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

/**
 * `npm run supergraph` only (src/tools/supergraph.ts): where the demo gateway and the example
 * orders subgraph listen, and where the composed supergraph is written. The payments subgraph
 * itself keeps its own configuration ({@link loadConfig}).
 */
export interface SupergraphConfig {
  /** GATEWAY_PORT: Hive Gateway's port (`/graphql`, graphql-ws and SSE). */
  gatewayPort: number;
  /** ORDERS_PORT: the example orders subgraph (examples/orders/). */
  ordersPort: number;
  /** SUPERGRAPH_FILE: where the composed supergraph SDL is written. */
  supergraphFile: string;
  /**
   * GATEWAY_CORS_ORIGINS: browser origins the gateway's CORS allows; unset, the gateway's own
   * (http://localhost:PORT, http://127.0.0.1:PORT).
   */
  corsOrigins: string[] | undefined;
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
