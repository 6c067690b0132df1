import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { listenToChangeLog } from '../store/postgres-listen.js';

/**
 * "The change log has grown up to `cursor`": a wake-up, not the change itself. Subscribers read
 * the log after the last cursor they delivered, so what they get is in log order with no gap,
 * whichever instance wrote it and in whatever order Redis delivered the wake-ups.
 */
export interface ChangeLogAdvanced {
  cursor: string;
}

export const GROUP_PURCHASE_CHANGED = 'GROUP_PURCHASE_CHANGED';

export type EventBus = PubSub<{ [GROUP_PURCHASE_CHANGED]: [ChangeLogAdvanced] }>;

export interface EventBusOptions {
  /** Redis for pub/sub across instances; unset → in-process. @default undefined */
  redisUrl?: string;
  /**
   * The PostgreSQL store's URL, when that is the store: without `redisUrl`, every instance then
   * hears the others' change-log appends through LISTEN/NOTIFY on it. @default undefined
   */
  postgresUrl?: string;
  logger: Logger;
}

/**
 * Pub/sub for live updates. In-process by default; with REDIS_URL every instance publishes to
 * and hears from Redis, so a push received by instance A reaches a subscriber on instance B.
 * It is a plain event bus (no GraphQL): the purchase state owner publishes after each commit to
 * the change log, the subscription feeds listen.
 */
export async function createEventBus(
  options: EventBusOptions,
): Promise<{ bus: EventBus; close: () => Promise<void> }> {
  if (!options.redisUrl && options.postgresUrl)
    return postgresBus(options.postgresUrl, options.logger);
  if (!options.redisUrl) return { bus: createPubSub(), close: () => Promise.resolve() };
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
  const eventTarget = createRedisEventTarget<CustomEvent>({
    publishClient: settled(publishClient, options.logger),
    subscribeClient: settled(subscribeClient, options.logger),
  } as never);
  return {
    bus: createPubSub({ eventTarget: eventTarget as never }),
    close: () => {
      publishClient.disconnect();
      subscribeClient.disconnect();
      return Promise.resolve();
    },
  };
}

/**
 * In-process pub/sub that also hears the change-log appends of every other instance on the same
 * PostgreSQL database (store/postgres-listen.ts): each becomes a local wake-up. This instance's
 * own appends arrive twice (published here after the commit, and notified by the commit) — a
 * wake-up is idempotent, the change feed reads after its own last cursor either way.
 * Waits up to 5 s for the listener to be LISTENing, then goes on (it keeps retrying; the change
 * feed's recheck covers the gap).
 */
async function postgresBus(url: string, logger: Logger) {
  const bus: EventBus = createPubSub();
  const listener = listenToChangeLog({
    url,
    logger,
    onAdvance: (cursor) => bus.publish(GROUP_PURCHASE_CHANGED, { cursor }),
  });
  const listening = await Promise.race([
    listener.ready,
    new Promise<false>((resolve) => setTimeout(resolve, 5000, false).unref()),
  ]);
  if (!listening) logger.warn('change log listener not listening yet; retrying in background');
  return { bus, close: () => listener.close() };
}

/**
 * The Redis event target calls `publish`, `subscribe` and `unsubscribe` without handling their
 * promises, so a command that fails (Redis away past the retries, or a connection closed at
 * shutdown with an UNSUBSCRIBE in flight) would be an unhandled rejection, which ends a Node
 * process. Here a failure is a warning instead: a lost wake-up is caught by the change feed's
 * safety-net read (ChangeFeedOptions.recheckMs).
 */
function settled(client: Redis, logger: Logger) {
  const warn = (command: string) => (error: unknown) => {
    logger.warn({ err: (error as Error).message, command }, 'pub/sub Redis command failed');
    return 0;
  };
  return {
    publish: (channel: string, message: string) =>
      client.publish(channel, message).catch(warn('publish')),
    subscribe: (...channels: string[]) => client.subscribe(...channels).catch(warn('subscribe')),
    unsubscribe: (...channels: string[]) =>
      client.unsubscribe(...channels).catch(warn('unsubscribe')),
    on: (event: 'message', listener: (channel: string, message: string) => void) =>
      client.on(event, listener),
  };
}
