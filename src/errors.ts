/**
 * The one public error-code enum. Every GraphQL error this service raises on purpose carries
 * one of these in `extensions.code`; clients switch on it, so values are part of the contract
 * and are never renamed. Input problems a user can fix are not errors: they come back as
 * `userErrors` on mutation payloads (see UserErrorCode in resolvers/).
 */
export enum ErrorCode {
  /** The upstream did not answer within UPSTREAM_TIMEOUT_MS. Safe to retry queries. */
  UPSTREAM_TIMEOUT = 'UPSTREAM_TIMEOUT',
  /** The upstream refused the connection, answered 5xx or reported an internal error. */
  UPSTREAM_UNAVAILABLE = 'UPSTREAM_UNAVAILABLE',
  /** The upstream answered something this service cannot read. */
  UPSTREAM_BAD_RESPONSE = 'UPSTREAM_BAD_RESPONSE',
  /** The upstream rejected this server's credentials: a configuration problem, not the caller's. */
  UPSTREAM_AUTH = 'UPSTREAM_AUTH',
  /**
   * A money-moving mutation reached the upstream, but its answer was lost (a timeout, a 5xx or
   * a reset after the request was sent, Chillr's code 59, an unreadable answer, or a request
   * whose process died): the upstream may or may not have acted. Replayed for the
   * idempotency key; never retried blindly. See docs/money-safety.md.
   */
  UPSTREAM_OUTCOME_UNKNOWN = 'UPSTREAM_OUTCOME_UNKNOWN',
  /** Another request with the same idempotency key is still running; retry shortly. */
  IDEMPOTENCY_IN_PROGRESS = 'IDEMPOTENCY_IN_PROGRESS',
  /** The store (keyv backend) failed before the upstream was called; nothing changed upstream. */
  STORE_UNAVAILABLE = 'STORE_UNAVAILABLE',
  /**
   * The operation broke a per-operation limit (aliases, depth, tokens, cost); `extensions.limit`
   * names the setting and `extensions.max` its value. Nothing ran.
   */
  OPERATION_LIMIT_EXCEEDED = 'OPERATION_LIMIT_EXCEEDED',
  /**
   * AUTH_JWKS_URL is set and the operation needs a token (a field with `@authenticated` or
   * `@requiresScopes`), but none came, or it failed verification (signature, issuer, audience,
   * expiry). Nothing ran.
   */
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  /** The token is valid but lacks a scope the operation needs (`extensions.requiredScopes`). Nothing ran. */
  FORBIDDEN = 'FORBIDDEN',
  /** An argument failed validation in a way that is not reported as a userError. */
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  /**
   * A subscription over the HTTP callback protocol was not started: its `callbackUrl` did not
   * accept the `check` message. The message is the same whatever the target answered.
   */
  CALLBACK_CHECK_FAILED = 'CALLBACK_CHECK_FAILED',
  /** A bug. The message is generic; details are in the log under the request id. */
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/**
 * An error this service raises on purpose. Services throw it; the GraphQL layer turns it into
 * a GraphQL error with `extensions.code`. Messages are written for the API's user and never
 * contain credentials or upstream request bodies.
 */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: {
      cause?: unknown;
      details?: Record<string, unknown>;
      outcomeUnknown?: boolean;
      upstreamAnswered?: boolean;
    },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ServiceError';
    this.details = options?.details;
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
    this.upstreamAnswered = options?.upstreamAnswered ?? false;
  }
  /** Extra `extensions` for the GraphQL error. */
  readonly details: Record<string, unknown> | undefined;
  /**
   * True when the upstream may have acted on the request before it failed (a timeout, a 5xx,
   * an unreadable answer). Idempotency keeps such failures so a retry cannot act twice.
   */
  readonly outcomeUnknown: boolean;
  /**
   * True when the failure is an answer the upstream sent (a 5xx, an unreadable body, an
   * internal-error code): whatever it did, it has finished doing it. False for a timeout or a
   * reset, after which the upstream may still be working on the request.
   */
  readonly upstreamAnswered: boolean;
}

/**
 * Problems the caller can fix, returned as `userErrors` on mutation payloads rather than
 * thrown: a form can show them beside the offending field, and the rest of the response
 * stays usable. Part of the public contract (the graph's UserErrorCode).
 */
export enum UserErrorCode {
  INVALID_INPUT = 'INVALID_INPUT',
  NO_CHILLR_USERS = 'NO_CHILLR_USERS',
  IDEMPOTENCY_KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED',
  /** REQUIRE_IDEMPOTENCY_KEY is on and a money-moving mutation came without a key. */
  IDEMPOTENCY_KEY_REQUIRED = 'IDEMPOTENCY_KEY_REQUIRED',
  NOT_FOUND = 'NOT_FOUND',
  ACTION_REJECTED = 'ACTION_REJECTED',
}

export interface UserIssue {
  code: UserErrorCode;
  message: string;
  /** Path of the offending input field, e.g. ["customers", "1", "msisdn"]. */
  field?: string[];
}

/** The userError a money-moving mutation returns when a key is required and none came. */
export function keyRequiredIssue(): UserIssue {
  return {
    code: UserErrorCode.IDEMPOTENCY_KEY_REQUIRED,
    field: ['idempotencyKey'],
    message:
      'This mutation moves money, so it needs an idempotencyKey (REQUIRE_IDEMPOTENCY_KEY is on): send a fresh unique string, and the same one when you retry.',
  };
}

/** The userError every idempotent mutation returns for a key reused with other input. */
export function keyReusedIssue(): UserIssue {
  return {
    code: UserErrorCode.IDEMPOTENCY_KEY_REUSED,
    field: ['idempotencyKey'],
    message:
      'This idempotencyKey was already used with a different input in the last 24 hours; use a new key for a new request.',
  };
}
