/**
 * The shape of the loaded configuration: what src/config.ts hands the rest of the service.
 * Each field names the variable it comes from; what the variable means, its bounds and its
 * default are in the configuration table (src/config/variables.ts).
 */

import type { SlowClientTimeouts } from '../http/slow-clients.js';
import type { ValueOf } from './variables.js';

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
