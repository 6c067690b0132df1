/**
 * Environment → typed, validated configuration. This is the only module that reads
 * `process.env` (an eslint rule keeps it that way), so every public setting is listed here
 * and in the README's configuration table.
 *
 * Validation collects every problem before failing, so an operator fixes a broken deployment
 * in one pass instead of one restart per variable. Messages name the variable, quote what
 * arrived (never for secrets) and say what would be accepted.
 */

import type { SlowClientTimeouts } from './http/slow-clients.js';
import { Reader, type Env } from './config-reader.js';

/** Credentials of one upstream. Never logged, never returned (see src/logger.ts). */
export interface ChillrConfig {
  /** Base URL of the Chillr API, or `undefined` for the in-process sandbox simulator. */
  baseUrl: string | undefined;
  apiKey: string;
  apiSecretKey: string;
  /** Largest batch the client accepts before calling upstream. @default 1000 */
  maxBatchSize: number;
  /** How often `collectBatchUpdated` polls a batch. @default 5000 */
  pollIntervalMs: number;
  /** Batches polled at once by this process; one more subscription is refused. @default 1000 */
  maxPollers: number;
  /**
   * How long a non-terminal batch status may be served again after the read that brought it
   * was sent; 0 = every read asks Chillr (identical reads in flight still share one call).
   * @default 1000
   */
  statusCacheMs: number;
  /** Port of the in-process simulator when `baseUrl` is unset (0 = any free port). @default 4001 */
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
  /** Port of the in-process simulator when `baseUrl` is unset (0 = any free port). @default 4002 */
  sandboxPort: number;
  /**
   * How long a known purchase state (read or pushed) is served without asking PBG; change
   * pushes refresh it. 0 = always ask.
   * @default 30000
   */
  cacheTtlMs: number;
  /**
   * How long the purchase change log keeps a change (cursors older than that are refused).
   * @default 604800000 (7 days)
   */
  changeLogTtlMs: number;
  /**
   * How often one instance compares the purchases it knows in a non-final state with PayByGroup,
   * to find changes no push announced. 0 = never.
   * @default 60000
   */
  reconcileIntervalMs: number;
  /**
   * Base URL PBG uses to reach this service (the sandbox simulator calls it back there).
   * @default `http://127.0.0.1:<the port actually bound>`
   */
  publicBaseUrl: string | undefined;
  /**
   * Largest PBG callback body (a 5,000-event change push fits); an unauthenticated one is
   * refused before it is parsed.
   * @default 4194304 (4 MiB)
   */
  callbackMaxBytes: number;
}

/** Per-operation limits over HTTP and WebSocket (src/http/plugin/limits/options.ts). */
export interface GraphQLLimitsConfig {
  /** GRAPHQL_MAX_ALIASES. @default 30 */
  maxAliases: number;
  /** GRAPHQL_MAX_DEPTH. @default 10 */
  maxDepth: number;
  /** GRAPHQL_MAX_TOKENS. @default 5000 */
  maxTokens: number;
  /** GRAPHQL_MAX_COST (the schema's @cost/@listSize, with the variables). @default 5000 */
  maxCost: number;
  /** GRAPHQL_MAX_ENTITIES: `_entities` representations in one operation. @default 1000 */
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
  /** AUTH_JWKS_COOLDOWN_MS: least time between two key-set fetches for an unknown `kid`. @default 30000 */
  jwksCooldownMs: number;
  /** AUTH_JWKS_CACHE_MAX_AGE_MS: how long fetched keys are trusted before a refetch. @default 600000 */
  jwksCacheMaxAgeMs: number;
}

export interface Config {
  /** @default 4000 */
  port: number;
  /** @default '0.0.0.0' */
  host: string;
  nodeEnv: 'development' | 'production' | 'test';
  /** @default 'info' */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * `memory://`, `sqlite:<path>`, `redis://…` or `postgres://…`.
   * @default 'sqlite:data/payments.db'
   */
  storeUrl: string;
  /** Connections the PostgreSQL store's pool keeps open at most, per process. @default 10 */
  pgPoolMax: number;
  /** Moves pub/sub to Redis so subscriptions work across instances. @default undefined */
  redisUrl: string | undefined;
  /**
   * Production starts on a store that forgets acknowledged writes on a crash (`memory://`,
   * Redis with appendonly no): the operator accepts that an idempotency key can be forgotten.
   * @default false
   */
  allowForgetfulStore: boolean;
  /**
   * The operator's word that a Redis store which refuses CONFIG GET keeps an append-only file
   * (a managed Redis with persistence on); without it production will not start on it.
   * @default false
   */
  redisPersistenceConfirmed: boolean;
  /**
   * Local directory of the outbox journal: outcomes the store refused wait here, fsync'd, until
   * the store takes them — by this process or the next one started with the same directory.
   * @default 'data/outbox'
   */
  outboxDir: string;
  /** Per-attempt timeout of every upstream call. @default 10000 */
  upstreamTimeoutMs: number;
  /**
   * Money-moving mutations refuse to run without an idempotencyKey (userError
   * IDEMPOTENCY_KEY_REQUIRED, before any upstream call).
   * @default true when NODE_ENV=production, else false
   */
  requireIdempotencyKey: boolean;
  /**
   * Margin past 2 × upstreamTimeoutMs after which an idempotency claim's owner is taken for
   * dead, and an attempt that timed out is taken as finished upstream.
   * @default 5000
   */
  idempotencyClaimMarginMs: number;
  /** Bulkhead and circuit breaker of each upstream (see src/upstream/guard.ts). */
  upstreamGuard: {
    /** Calls in flight to one upstream per process. @default 32 */
    maxConcurrency: number;
    /** Calls waiting for a slot before more are refused. @default 10000 */
    maxQueue: number;
    /** Consecutive failures that open the circuit. @default 5 */
    breakerThreshold: number;
    /** How long an open circuit refuses calls before a probe. @default 10000 */
    halfOpenAfterMs: number;
  };
  /**
   * Express `trust proxy`: which proxies' `X-Forwarded-For` is believed. `false`, a hop count,
   * or a list of addresses/CIDRs/express names (`loopback`, `linklocal`, `uniquelocal`).
   * @default false
   */
  trustProxy: boolean | number | string[];
  /** Behind a router: who may call /graphql, and where the PBG callbacks listen. */
  router: {
    /** Shared secret every /graphql request must carry; unset = anyone who reaches the port. */
    secret: string | undefined;
    /** Header (and connection_init field) carrying it. @default 'router-authorization' */
    secretHeader: string;
  };
  /** A second port serving only the PBG callbacks (then the main port does not). @default undefined */
  callbackPort: number | undefined;
  /**
   * Where GET /metrics is served: its own port when set (then not on the main port), else the
   * main port, outside the router secret. @default undefined (the main port)
   */
  metricsPort: number | undefined;
  /** OpenTelemetry tracing (src/observability/tracing.ts). */
  otel: {
    /** OTEL_EXPORTER_OTLP_ENDPOINT: OTLP/HTTP base URL; unset = no exporter. @default undefined */
    endpoint: string | undefined;
    /** OTEL_SERVICE_NAME. @default 'payments-subgraph' */
    serviceName: string;
  };
  /**
   * How long a client may take to send its request, on every listener
   * (src/http/slow-clients.ts): HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS,
   * HTTP_BODY_IDLE_TIMEOUT_MS.
   */
  httpTimeouts: SlowClientTimeouts;
  /** Largest /graphql request body, and WebSocket message. @default 1048576 (1 MiB) */
  maxRequestBytes: number;
  /** Operations one WebSocket may run at once. @default 50 */
  wsMaxSubscriptionsPerConnection: number;
  /** graphql-ws: server ping interval, so idle proxies keep the socket open. @default 12000 */
  wsKeepAliveMs: number;
  /** graphql-ws: how long a client may take to send connection_init. @default 5000 */
  wsInitTimeoutMs: number;
  /**
   * Unsent bytes one WebSocket may hold when its next message is due; over it the client is
   * not reading, and the socket is closed (1013) instead of buffered further. @default 1048576
   */
  wsMaxBufferedBytes: number;
  /**
   * Origins a router's subscription `callbackUrl` may point at (HTTP callback protocol).
   * Required in production while the protocol is on.
   * @default undefined (any http(s) URL; development only)
   */
  subscriptionCallbackOrigins: string[] | undefined;
  /** SUBSCRIPTION_CALLBACK_ENABLED: serve the HTTP callback protocol at all. @default true */
  subscriptionCallbackEnabled: boolean;
  /** SUBSCRIPTION_CALLBACK_MAX: callback subscriptions one process holds at once. @default 1000 */
  subscriptionCallbackMax: number;
  chillr: ChillrConfig;
  pbg: PbgConfig;
  graphqlLimits: GraphQLLimitsConfig;
  /** Set when AUTH_JWKS_URL is: the subgraph verifies tokens itself. @default undefined */
  auth: AuthConfig | undefined;
  /**
   * Answers repeated reads of terminal data before Apollo Server (src/http/plugin/response-cache/);
   * undefined when RESPONSE_CACHE_ENABLED=false.
   */
  responseCache: ResponseCacheConfig | undefined;
}

/** RESPONSE_CACHE_*: the bounds of the response cache. */
export interface ResponseCacheConfig {
  /** RESPONSE_CACHE_MAX_ENTRIES: most responses kept (LRU past it). @default 10000 */
  maxEntries: number;
  /** RESPONSE_CACHE_MAX_BYTES: most bytes kept (LRU past it). @default 33554432 (32 MiB) */
  maxBytes: number;
}

/** The credentials the sandbox simulators accept when none are configured. Not secrets. */
export const SANDBOX_DEFAULTS = {
  chillrApiKey: '5695d71a6368690df2030000',
  chillrApiSecretKey: 'f333884a36ccfc54787e6d96eac5e3d3',
  pbgApiKey: 'sandbox-pbg-api-key',
  pbgMerchantId: 'ABC',
  pbgMerchantAuth: 'sandbox-merchant-auth-0123456789',
} as const;

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

  const nodeEnv = read.oneOf('NODE_ENV', ['development', 'production', 'test'], 'development');
  const port = read.int('PORT', 4000, 0, 65535);
  const chillrBaseUrl = read.url('CHILLR_BASE_URL');
  const pbgBaseUrl = read.url('PBG_BASE_URL');

  const config: Config = {
    port,
    host: read.string('HOST') ?? '0.0.0.0',
    nodeEnv,
    logLevel: read.oneOf(
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
    ),
    storeUrl: read.storeUrl('STORE_URL', 'sqlite:data/payments.db'),
    pgPoolMax: read.int('PG_POOL_MAX', 10, 1, 1000),
    redisUrl: read.redisUrl('REDIS_URL'),
    allowForgetfulStore: read.bool('ALLOW_FORGETFUL_STORE', false),
    redisPersistenceConfirmed: read.bool('REDIS_PERSISTENCE_CONFIRMED', false),
    outboxDir: read.string('OUTBOX_DIR') ?? 'data/outbox',
    upstreamTimeoutMs: read.int('UPSTREAM_TIMEOUT_MS', 10_000, 1, 300_000),
    requireIdempotencyKey: read.bool('REQUIRE_IDEMPOTENCY_KEY', nodeEnv === 'production'),
    idempotencyClaimMarginMs: read.int('IDEMPOTENCY_CLAIM_MARGIN_MS', 5000, 0, 600_000),
    upstreamGuard: {
      maxConcurrency: read.int('UPSTREAM_MAX_CONCURRENCY', 32, 1, 10_000),
      maxQueue: read.int('UPSTREAM_MAX_QUEUE', 10_000, 0, 1_000_000),
      breakerThreshold: read.int('UPSTREAM_BREAKER_THRESHOLD', 5, 1, 1000),
      halfOpenAfterMs: read.int('UPSTREAM_BREAKER_HALF_OPEN_MS', 10_000, 10, 3_600_000),
    },
    trustProxy: read.trustProxy('TRUST_PROXY'),
    router: {
      secret: read.string('ROUTER_SECRET'),
      secretHeader: read.headerName('ROUTER_SECRET_HEADER', 'router-authorization'),
    },
    callbackPort: read.optionalInt('CALLBACK_PORT', 0, 65535),
    metricsPort: read.optionalInt('METRICS_PORT', 0, 65535),
    otel: {
      endpoint: read.url('OTEL_EXPORTER_OTLP_ENDPOINT'),
      serviceName: read.string('OTEL_SERVICE_NAME') ?? 'payments-subgraph',
    },
    httpTimeouts: readHttpTimeouts(read, problems),
    maxRequestBytes: read.int('MAX_REQUEST_BYTES', 1_048_576, 1024, 104_857_600),
    wsMaxSubscriptionsPerConnection: read.int('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', 50, 1, 10_000),
    wsKeepAliveMs: read.int('WS_KEEPALIVE_MS', 12_000, 0, 600_000),
    wsInitTimeoutMs: read.int('WS_INIT_TIMEOUT_MS', 5_000, 100, 600_000),
    wsMaxBufferedBytes: read.int('WS_MAX_BUFFERED_BYTES', 1_048_576, 1024, 1_073_741_824),
    subscriptionCallbackOrigins: read.origins('SUBSCRIPTION_CALLBACK_ORIGINS'),
    subscriptionCallbackEnabled: read.bool('SUBSCRIPTION_CALLBACK_ENABLED', true),
    subscriptionCallbackMax: read.int('SUBSCRIPTION_CALLBACK_MAX', 1000, 1, 1_000_000),
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
  checkRouterPosture(config, read.bool('ALLOW_UNAUTHENTICATED_ROUTER', false), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Chillr's URL, credentials (the sandbox's when no URL is set) and batch limits. */
function readChillr(read: Reader, chillrBaseUrl: string | undefined): ChillrConfig {
  return {
    baseUrl: chillrBaseUrl,
    apiKey: read.secret('CHILLR_API_KEY', chillrBaseUrl, SANDBOX_DEFAULTS.chillrApiKey),
    apiSecretKey: read.secret(
      'CHILLR_API_SECRET_KEY',
      chillrBaseUrl,
      SANDBOX_DEFAULTS.chillrApiSecretKey,
    ),
    maxBatchSize: read.int('CHILLR_MAX_BATCH_SIZE', 1000, 1, 100_000),
    pollIntervalMs: read.int('CHILLR_POLL_INTERVAL_MS', 5000, 10, 3_600_000),
    maxPollers: read.int('CHILLR_MAX_POLLERS', 1000, 1, 1_000_000),
    statusCacheMs: read.int('CHILLR_STATUS_CACHE_MS', 1000, 0, 60_000),
    sandboxPort: read.int('CHILLR_SANDBOX_PORT', 4001, 0, 65535),
  };
}

/** PayByGroup's URL, credentials, callback checks, caches and change-log retention. */
function readPbg(read: Reader, pbgBaseUrl: string | undefined): PbgConfig {
  return {
    baseUrl: pbgBaseUrl,
    apiKey: read.secret('PBG_API_KEY', pbgBaseUrl, SANDBOX_DEFAULTS.pbgApiKey),
    merchantId: read.secret('PBG_MERCHANT_ID', pbgBaseUrl, SANDBOX_DEFAULTS.pbgMerchantId),
    merchantAuth: read.merchantAuth('PBG_MERCHANT_AUTH', pbgBaseUrl),
    allowedIps: read.list('PBG_ALLOWED_IPS'),
    sandboxPort: read.int('PBG_SANDBOX_PORT', 4002, 0, 65535),
    cacheTtlMs: read.int('PBG_CACHE_TTL_MS', 30_000, 0, 86_400_000),
    changeLogTtlMs: read.int('PBG_CHANGE_LOG_TTL_MS', 7 * 86_400_000, 60_000, 366 * 86_400_000),
    reconcileIntervalMs: read.int('PBG_RECONCILE_INTERVAL_MS', 60_000, 0, 86_400_000),
    publicBaseUrl: read.url('PUBLIC_BASE_URL'),
    callbackMaxBytes: read.int('PBG_CALLBACK_MAX_BYTES', 4_194_304, 1024, 9_437_184),
  };
}

/** Per-operation limits, checked before execution over HTTP and WebSocket. */
function readGraphqlLimits(read: Reader): GraphQLLimitsConfig {
  return {
    maxAliases: read.int('GRAPHQL_MAX_ALIASES', 30, 1, 100_000),
    maxDepth: read.int('GRAPHQL_MAX_DEPTH', 10, 1, 1000),
    maxTokens: read.int('GRAPHQL_MAX_TOKENS', 5000, 10, 10_000_000),
    maxCost: read.int('GRAPHQL_MAX_COST', 5000, 1, 100_000_000),
    maxEntities: read.int('GRAPHQL_MAX_ENTITIES', 1000, 1, 1_000_000),
  };
}

/** AUTH_JWKS_URL turns verification on, and then needs the issuer and audience to check. */
function readAuth(read: Reader, problems: string[]): AuthConfig | undefined {
  const jwksUrl = read.url('AUTH_JWKS_URL');
  const issuer = read.string('AUTH_JWT_ISSUER');
  const audience = read.string('AUTH_JWT_AUDIENCE');
  const jwksCooldownMs = read.int('AUTH_JWKS_COOLDOWN_MS', 30_000, 0, 3_600_000);
  const jwksCacheMaxAgeMs = read.int('AUTH_JWKS_CACHE_MAX_AGE_MS', 600_000, 0, 86_400_000);
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
    headersTimeoutMs: read.int('HTTP_HEADERS_TIMEOUT_MS', 10_000, 1000, 600_000),
    requestTimeoutMs: read.int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000),
    bodyIdleTimeoutMs: read.int('HTTP_BODY_IDLE_TIMEOUT_MS', 10_000, 0, 600_000),
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
  const enabled = read.bool('RESPONSE_CACHE_ENABLED', true);
  const bounds = {
    maxEntries: read.int('RESPONSE_CACHE_MAX_ENTRIES', 10_000, 1, 10_000_000),
    maxBytes: read.int('RESPONSE_CACHE_MAX_BYTES', 33_554_432, 65_536, 17_179_869_184),
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
  /** Hive Gateway's port (`/graphql`, graphql-ws and SSE). @default 4100 */
  gatewayPort: number;
  /** The example orders subgraph (examples/orders/). @default 4003 */
  ordersPort: number;
  /** Where the composed supergraph SDL is written. @default 'supergraph.graphql' */
  supergraphFile: string;
  /**
   * GATEWAY_CORS_ORIGINS: browser origins the gateway's CORS allows.
   * @default undefined (the gateway's own: http://localhost:PORT, http://127.0.0.1:PORT)
   */
  corsOrigins: string[] | undefined;
}

/** Reads and validates the supergraph demo's settings; throws {@link ConfigError}. */
export function loadSupergraphConfig(env: Env = process.env): SupergraphConfig {
  const problems: string[] = [];
  const read = new Reader(env, problems);
  const config: SupergraphConfig = {
    gatewayPort: read.int('GATEWAY_PORT', 4100, 0, 65535),
    ordersPort: read.int('ORDERS_PORT', 4003, 0, 65535),
    supergraphFile: read.string('SUPERGRAPH_FILE') ?? 'supergraph.graphql',
    corsOrigins: read.origins('GATEWAY_CORS_ORIGINS'),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
