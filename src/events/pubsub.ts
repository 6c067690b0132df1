import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { GroupPurchaseRecord, GroupPurchaseStatus } from '../pbg/types.js';

/** One change of one purchase, as stored and as delivered to subscribers. */
export interface GroupPurchaseChange {
  /** sha256 of the event's content: the same event pushed twice has the same id. */
  eventId: string;
  /** The purchase as pushed: subscribers are served from the event, not from PBG. */
  purchase: GroupPurchaseRecord;
  /** Which of status, commitDeadline, numPeople differ from the last known state. */
  changedFields: string[];
  previousStatus: GroupPurchaseStatus | null;
  /** ISO-8601 instant the push arrived. */
  receivedAt: string;
}

export const GROUP_PURCHASE_CHANGED = 'GROUP_PURCHASE_CHANGED';

export type EventBus = PubSub<{ [GROUP_PURCHASE_CHANGED]: [GroupPurchaseChange] }>;

export interface EventBusOptions {
  /** Redis for pub/sub across instances; unset → in-process. @default undefined */
  redisUrl?: string;
  logger: Logger;
}

/**
 * Pub/sub for live updates. In-process by default; with REDIS_URL every instance publishes to
 * and hears from Redis, so a push received by instance A reaches a subscriber on instance B.
 * It is a plain event bus (no GraphQL): the change-push receiver publishes, the subscription
 * resolvers listen.
 */
export async function createEventBus(
  options: EventBusOptions,
): Promise<{ bus: EventBus; close: () => Promise<void> }> {
  if (!options.redisUrl) return { bus: createPubSub(), close: async () => undefined };
  // A subscribed ioredis connection can only (un)subscribe, so publishing needs its own.
  const connect = () => {
    const client = new Redis(options.redisUrl!, { maxRetriesPerRequest: 3, lazyConnect: true });
    client.on('error', (error) =>
      options.logger.warn({ err: error.message }, 'pub/sub Redis connection error'),
    );
    return client;
  };
  const publishClient = connect();
  const subscribeClient = connect();
  await Promise.all([publishClient.connect(), subscribeClient.connect()]);
  const eventTarget = createRedisEventTarget<CustomEvent>({ publishClient, subscribeClient });
  return {
    bus: createPubSub({ eventTarget: eventTarget as never }),
    close: async () => {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
