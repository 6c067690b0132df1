/** Verifying, inside the subgraph, the bearer token the router forwards (defence in depth). */
export interface AuthOptions {
  /** Where the issuer publishes its signing keys (JWKS). `AUTH_JWKS_URL`. */
  jwksUrl: string;
  /** The `iss` a token must carry. `AUTH_JWT_ISSUER`. */
  issuer: string;
  /** The `aud` a token must carry (one of, when it is a list). `AUTH_JWT_AUDIENCE`. */
  audience: string;
  /**
   * Least time between two key-set fetches. A token signed by a key not in the cached set
   * (a rotation: a new `kid`) triggers a refetch once this has passed.
   * @default as `AUTH_JWKS_COOLDOWN_MS` (src/config/)
   */
  jwksCooldownMs?: number;
  /**
   * How long a fetched key set is used before it is fetched again even without an unknown
   * `kid`.
   * @default as `AUTH_JWKS_CACHE_MAX_AGE_MS`
   */
  jwksCacheMaxAgeMs?: number;
  /**
   * Timeout of one key-set fetch; past it the token is refused (UNAUTHENTICATED), never
   * accepted unverified.
   * @default 5000
   */
  jwksTimeoutMs?: number;
  /**
   * Leeway for `exp`, `nbf` and a future `iat` between this host's clock and the issuer's, in
   * seconds. Applied wherever expiry is checked (also on each graphql-ws subscribe).
   * @default 5
   */
  clockToleranceSec?: number;
  /** The clock, in ms since the epoch, that `exp`, `nbf` and `iat` are checked by. @default Date.now */
  now?: () => number;
}
