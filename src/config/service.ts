/**
 * The service itself: where it listens, its store, and how it calls the upstreams.
 * Part of the configuration table (./variables.ts): in README order.
 */
import { bool, boolByEnv, int, oneOf, redisUrl, storeUrl, text } from './variable.js';

export const SERVICE_VARIABLES = {
  PORT: int({
    default: 4000,
    min: 0,
    max: 65535,
    meaning:
      'HTTP port for `/graphql`, `/healthz`, `/readyz` and (unless `CALLBACK_PORT` is set) the PBG callbacks',
  }),
  HOST: text({
    default: '0.0.0.0',
    meaning: 'listen address',
  }),
  NODE_ENV: oneOf({
    allowed: ['development', 'production', 'test'] as const,
    default: 'development',
    meaning:
      '`production` turns off the GraphiQL explorer and introspection, and refuses to run on the simulators',
  }),
  LOG_LEVEL: oneOf({
    allowed: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
    default: 'info',
    meaning:
      '`fatal` `error` `warn` `info` `debug` `trace` `silent`; logs are JSON lines (pino) with a request id',
  }),
  STORE_URL: storeUrl({
    default: 'sqlite:data/payments.db',
    meaning:
      '`memory://`, `sqlite:<path>` (embedded `node:sqlite`, shareable by processes on one host), `redis://…` or `postgres://user:password@host:port/db` ([PostgreSQL](docs/postgres.md)); see [Choosing a store](docs/stores.md)',
  }),
  PG_POOL_MAX: int({
    default: 10,
    min: 1,
    max: 1000,
    meaning: "connections the PostgreSQL store's pool keeps open at most, per process",
  }),
  REDIS_URL: redisUrl({
    meaning: 'moves pub/sub to Redis so subscriptions cross instances',
  }),
  ALLOW_FORGETFUL_STORE: bool({
    default: false,
    meaning:
      '`true`: production starts on a store that forgets acknowledged writes on a crash (`memory://`, Redis with `appendonly no`); see "Choosing a store"',
  }),
  REDIS_PERSISTENCE_CONFIRMED: bool({
    default: false,
    meaning:
      '`true`: the operator states that a Redis store which refuses `CONFIG GET` (a managed one) keeps an append-only file; production needs it to start there',
  }),
  OUTBOX_DIR: text({
    default: 'data/outbox',
    meaning:
      "local directory of the outbox journal: outcomes the store refused wait here, fsync'd, until stored — by this process or the next one started on the same directory (put it on a volume that outlives the container); instances on one host that share it answer a retry from each other's journal while the store is away",
  }),
  UPSTREAM_TIMEOUT_MS: int({
    default: 10_000,
    min: 1,
    max: 300_000,
    meaning: 'per-attempt timeout of every upstream call',
  }),
  REQUIRE_IDEMPOTENCY_KEY: boolByEnv({
    default: false,
    production: true,
    shown: '`true` in production',
    meaning:
      '`true`: money-moving mutations without an `idempotencyKey` answer the userError `IDEMPOTENCY_KEY_REQUIRED`',
  }),
  IDEMPOTENCY_CLAIM_MARGIN_MS: int({
    default: 5000,
    min: 0,
    max: 600_000,
    meaning:
      'a claim older than `2 × UPSTREAM_TIMEOUT_MS` + this is taken as a dead owner (outcome unknown), and a timed-out attempt as finished upstream, so a PayByGroup action may be sent again',
  }),
  UPSTREAM_MAX_CONCURRENCY: int({
    default: 32,
    min: 1,
    max: 10_000,
    meaning: 'calls in flight to one upstream per process (bulkhead); the rest queue',
  }),
  UPSTREAM_MAX_QUEUE: int({
    default: 10_000,
    min: 0,
    max: 1_000_000,
    meaning:
      'calls waiting for a slot; past it a call fails at once with `UPSTREAM_UNAVAILABLE` naming the limit',
  }),
  UPSTREAM_BREAKER_THRESHOLD: int({
    default: 5,
    min: 1,
    max: 1000,
    meaning: "consecutive timeouts/5xx/refused connections that open an upstream's circuit breaker",
  }),
  UPSTREAM_BREAKER_HALF_OPEN_MS: int({
    default: 10_000,
    min: 10,
    max: 3_600_000,
    meaning: 'how long an open circuit fails calls fast before one probe goes through',
  }),
};
