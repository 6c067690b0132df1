/**
 * GraphQL: the HTTP callback protocol, per-operation limits, the response cache, token
 * verification.
 * Part of the configuration table (./variables.ts): in README order.
 */
import { bool, int, origins, text, url } from './variable.js';

export const GRAPHQL_VARIABLES = {
  SUBSCRIPTION_CALLBACK_ORIGINS: origins({
    shown: 'unset (required in production)',
    meaning:
      "comma-separated origins (`https://router.internal:4040`) a router's subscription `callbackUrl` may point at; see [docs/security.md](docs/security.md)",
  }),
  SUBSCRIPTION_CALLBACK_ENABLED: bool({
    default: true,
    meaning:
      '`false` turns the HTTP callback protocol off (then production needs no `SUBSCRIPTION_CALLBACK_ORIGINS`)',
  }),
  SUBSCRIPTION_CALLBACK_MAX: int({
    default: 1000,
    min: 1,
    max: 1_000_000,
    meaning:
      'callback subscriptions one process holds at once; one more is refused (503) naming the limit',
  }),
  GRAPHQL_MAX_ALIASES: int({
    default: 30,
    min: 1,
    max: 100_000,
    meaning:
      'most aliased fields in one operation (HTTP and WebSocket); see [Behind a router](docs/behind-a-router.md#behind-a-router)',
  }),
  GRAPHQL_MAX_DEPTH: int({
    default: 10,
    min: 1,
    max: 1000,
    meaning: 'deepest field nesting in one operation (fragments add no depth)',
  }),
  GRAPHQL_MAX_TOKENS: int({
    default: 5000,
    min: 10,
    max: 10_000_000,
    meaning:
      'most lexical tokens in one document, checked before it is parsed; send large inputs as variables',
  }),
  GRAPHQL_MAX_COST: int({
    default: 5000,
    min: 1,
    max: 100_000_000,
    meaning:
      "largest cost of one operation by the schema's `@cost`/`@listSize` (the router's estimate, with the variables); see [Demand control](docs/behind-a-router.md#demand-control-cost-listsize-federation-29)",
  }),
  GRAPHQL_MAX_ENTITIES: int({
    default: 1000,
    min: 1,
    max: 1_000_000,
    meaning:
      'most `_entities` representations in one operation (each can be an upstream call); more is refused before execution naming the limit',
  }),
  RESPONSE_CACHE_ENABLED: bool({
    default: true,
    meaning:
      '`false` turns the response cache off (every read executes); the `Cache-Control` hints stay. See [Caching](docs/caching.md#caching)',
  }),
  RESPONSE_CACHE_MAX_ENTRIES: int({
    default: 10_000,
    min: 1,
    max: 10_000_000,
    meaning:
      'most responses the response cache keeps; past it the least recently used goes (`payments_response_cache_evictions_total{reason="capacity"}`)',
  }),
  RESPONSE_CACHE_MAX_BYTES: int({
    default: 33_554_432,
    min: 65_536,
    max: 17_179_869_184,
    shown: '`33554432` (32 MiB)',
    meaning:
      'most bytes it keeps (bodies, keys, headers; at least 65536); past it the least recently used go',
  }),
  AUTH_JWKS_URL: url({
    meaning:
      "when set, the subgraph verifies the forwarded `Authorization: Bearer` JWT against these keys and enforces the schema's scopes",
  }),
  AUTH_JWT_ISSUER: text({
    default: undefined,
    meaning: 'the `iss` tokens must carry; required with `AUTH_JWKS_URL`',
  }),
  AUTH_JWT_AUDIENCE: text({
    default: undefined,
    meaning: 'the `aud` tokens must carry; required with `AUTH_JWKS_URL`',
  }),
  AUTH_JWKS_COOLDOWN_MS: int({
    default: 30_000,
    min: 0,
    max: 3_600_000,
    meaning:
      'least time between two key-set fetches (a token with an unknown `kid` refetches after it)',
  }),
  AUTH_JWKS_CACHE_MAX_AGE_MS: int({
    default: 600_000,
    min: 0,
    max: 86_400_000,
    meaning: 'how long fetched keys are used before they are fetched again',
  }),
};
