import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginSubscriptionCallback } from '@apollo/server/plugin/subscriptionCallback';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import { callbackFetch, CallbackSlots, type Slot } from './callback-slots.js';
import { VARIABLES } from '../config/variables.js';

/**
 * Subscriptions over Apollo's HTTP callback protocol (what Apollo Router and Hive Router use
 * to scale subscriptions): the router POSTs the subscription with `extensions.subscription`
 * (`callbackUrl`, `subscriptionId`, `verifier`, `heartbeatIntervalMs`); this service answers
 * `check` to the callback URL first, then `next` per event and `complete` at the end, and a
 * `check` every `heartbeatIntervalMs`. A 404 from the router (to a message or a heartbeat)
 * ends the subscription: its source iterator is returned, which stops a batch's shared poller
 * when it was the last subscriber.
 *
 * The protocol itself is Apollo Server's plugin (`@apollo/server/plugin/subscriptionCallback`):
 * it runs graphql-js `subscribe` on our schema, so the same pub/sub and pollers serve
 * graphql-ws and callback subscribers. In front of it, a guard refuses what the plugin would
 * accept blindly: a callback URL that is not http(s) or not on an allowed origin (this service
 * would otherwise POST wherever a caller points it), a missing id or verifier, a bad heartbeat
 * interval, an operation that is not a subscription, and one subscription more than the
 * process may hold. Heartbeats asked for more often than {@link MIN_HEARTBEAT_MS} are raised
 * to it (a 1 ms interval was honoured: hundreds of POSTs a second per subscription, and a
 * queue of pending beats growing without bound). Callbacks never follow redirects and give up
 * after a timeout; a failed `check` is answered with one generic error, so the answer does
 * not tell the caller what the target said (see docs/security.md).
 */
export interface SubscriptionCallbackOptions {
  /**
   * Origins (`https://router.internal:4040`) a `callbackUrl` may point at; anything else is
   * refused with HTTP 400 before any callback is sent.
   * @default undefined (any http(s) URL: set it in production)
   */
  allowedOrigins?: string[];
  /**
   * Callback subscriptions this process holds at once (running, or waiting for their `check`);
   * one more is refused with HTTP 503 naming SUBSCRIPTION_CALLBACK_MAX.
   * @default as that variable (src/config/)
   */
  maxActive?: number;
  /**
   * How long one callback request (check, next, complete, heartbeat) may take before it counts
   * as failed.
   * @default 5000
   */
  requestTimeoutMs?: number;
  /** A callback subscription's stream started (+1) or ended (-1), by root field. @default none */
  onStream?: (subscription: string, delta: 1 | -1) => void;
  /**
   * Heartbeats that may fail in a row (network errors, 5xx) before the subscription ends.
   * @default 5
   */
  maxConsecutiveHeartbeatFailures?: number;
  /**
   * Heartbeats go out every `heartbeatIntervalMs` × this ratio. At exactly the interval they
   * race a router that drops a subscription after `heartbeatIntervalMs` of silence (Hive
   * Gateway's http-callback transport does: "Subscription timed out" after the first beat).
   * @default 0.5
   */
  heartbeatRatio?: number;
  /**
   * Retries of a `check`/`next`/`complete` message after a network error or 5xx (not after a
   * 4xx: 404 ends the subscription at once).
   * @default 5 (100 ms to 1 s apart)
   */
  retries?: number;
  logger: Logger;
}

const MAX_HEARTBEAT_MS = 3_600_000;
/**
 * The shortest heartbeat interval honoured; a smaller one (but not 0, which means no
 * heartbeats) is raised to it. Raised rather than refused: a router only uses the interval to
 * notice a dead subgraph, and every router default is seconds (Apollo Router 5 s), so raising
 * costs a real router nothing, while a refusal would turn a harmless setting into an outage.
 */
export const MIN_HEARTBEAT_MS = 1000;

function badRequest(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
  });
}

/** The first problem with `extensions.subscription`, or undefined when it is usable. */
export function callbackProblem(
  extension: Record<string, unknown>,
  allowedOrigins: string[] | undefined,
): string | undefined {
  const callbackUrl = extension.callbackUrl ?? extension.callback_url;
  const id = extension.subscriptionId ?? extension.subscription_id;
  const heartbeat = extension.heartbeatIntervalMs ?? extension.heartbeat_interval_ms;
  let url: URL;
  try {
    url = new URL(String(callbackUrl));
  } catch {
    return 'extensions.subscription.callbackUrl must be an absolute http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return 'extensions.subscription.callbackUrl must be an http(s) URL';
  }
  if (allowedOrigins && !allowedOrigins.includes(url.origin)) {
    return `extensions.subscription.callbackUrl origin ${url.origin} is not allowed`;
  }
  if (typeof id !== 'string' || id.length === 0 || id.length > 200) {
    return 'extensions.subscription.subscriptionId must be a non-empty string';
  }
  if (typeof extension.verifier !== 'string' || extension.verifier.length === 0) {
    return 'extensions.subscription.verifier must be a non-empty string';
  }
  if (
    heartbeat !== undefined &&
    (!Number.isInteger(heartbeat) ||
      (heartbeat as number) < 0 ||
      (heartbeat as number) > MAX_HEARTBEAT_MS)
  ) {
    return `extensions.subscription.heartbeatIntervalMs must be a whole number from 0 to ${MAX_HEARTBEAT_MS}`;
  }
  return undefined;
}

/**
 * The interval Apollo's plugin will read: at least {@link MIN_HEARTBEAT_MS}, then shortened by
 * `heartbeatRatio`; 0 stays off.
 */
function earlyHeartbeats(extension: Record<string, unknown>, ratio = 0.5): void {
  const asked = (extension.heartbeatIntervalMs ??
    extension.heartbeat_interval_ms ??
    5000) as number;
  const floored = Math.max(asked, MIN_HEARTBEAT_MS);
  extension.heartbeatIntervalMs = asked > 0 ? Math.max(1, Math.floor(floored * ratio)) : 0;
}

function tooMany(max: number): GraphQLError {
  return new GraphQLError(
    `This service already holds the most callback subscriptions it may (SUBSCRIPTION_CALLBACK_MAX=${max}); retry later or subscribe through another instance.`,
    {
      extensions: {
        code: ErrorCode.OPERATION_LIMIT_EXCEEDED,
        limit: 'SUBSCRIPTION_CALLBACK_MAX',
        max,
        http: { status: 503 },
      },
    },
  );
}

/**
 * The one answer to a failed `check`, whatever the target did (refused, 403, 500, closed,
 * hung, redirected): the caller learns nothing about the address it named. The log has the
 * details.
 */
const CHECK_FAILED = {
  message: 'The subscription was not started: the callback URL did not accept its check message.',
  extensions: { code: ErrorCode.CALLBACK_CHECK_FAILED },
};

/**
 * Apollo's callback plugin behind a guard. The plugin would POST `check` to any callback URL,
 * even for a request that failed validation (its `willSendResponse` runs for error responses
 * too), so it only sees requests whose extension is valid and whose operation is a
 * subscription that resolved without errors.
 */
export function subscriptionCallbackPlugin<C extends object>(
  options: SubscriptionCallbackOptions,
): ApolloServerPlugin<C> {
  const { logger } = options;
  const log = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string) =>
    logger[level]({ component: 'subscription-callback' }, message);
  const slots = new CallbackSlots(
    options.maxActive ?? VARIABLES.SUBSCRIPTION_CALLBACK_MAX.default,
    options.onStream,
  );
  const inner = ApolloServerPluginSubscriptionCallback({
    maxConsecutiveHeartbeatFailures: options.maxConsecutiveHeartbeatFailures ?? 5,
    retry: { retries: options.retries ?? 5, minTimeout: 100, maxTimeout: 1000 },
    fetcher: callbackFetch(options.requestTimeoutMs ?? 5000),
    // Its messages carry the subscription id, never the verifier.
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
  }) as ApolloServerPlugin<C>;
  return {
    async serverWillStart(service) {
      slots.watch(service.schema);
      return inner.serverWillStart?.(service);
    },
    async requestDidStart(requestContext) {
      const extension: unknown = requestContext.request.extensions?.subscription;
      if (extension === undefined) return;
      const problem =
        typeof extension === 'object' && extension !== null
          ? callbackProblem(extension as Record<string, unknown>, options.allowedOrigins)
          : 'extensions.subscription must be an object';
      if (!problem) earlyHeartbeats(extension as Record<string, unknown>, options.heartbeatRatio);
      const listener = problem ? undefined : await inner.requestDidStart?.(requestContext);
      let slot: Slot | undefined;
      return {
        // A refusal rejects (never throws) so that Apollo still runs the other plugins' hooks.
        didResolveOperation({ operation }) {
          if (problem) return Promise.reject(badRequest(problem));
          if (operation?.operation !== 'subscription') {
            return Promise.reject(
              badRequest('extensions.subscription is only for subscription operations'),
            );
          }
          slot = slots.acquire();
          return slot ? Promise.resolve() : Promise.reject(tooMany(slots.max));
        },
        async responseForOperation(context) {
          return (await listener?.responseForOperation?.(context)) ?? null;
        },
        async willSendResponse(context) {
          try {
            if (!slot || context.operation?.operation !== 'subscription' || context.errors?.length)
              return;
            slots.bind(context.contextValue, slot);
            await listener?.willSendResponse?.(context);
            const { body } = context.response;
            if (body.kind === 'single' && body.singleResult.errors?.length) {
              body.singleResult.errors = [CHECK_FAILED];
              context.response.http.status = 502;
            }
          } finally {
            // No stream started (refused, check failed): nothing else will give the slot back.
            if (slot && !slot.streaming) slot.release();
          }
        },
      };
    },
  };
}
