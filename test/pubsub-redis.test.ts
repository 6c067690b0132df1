import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createEventBus, GROUP_PURCHASE_CHANGED } from '../src/events/pubsub.js';
import { createLogger } from '../src/logger.js';
import { redisSkipReason, startRedisServer } from './helpers/redis.js';

const redisSkip = redisSkipReason();

describe.skipIf(redisSkip !== undefined)('the Redis event bus when Redis goes away', () => {
  it('should log a publish and an unsubscribe that fail instead of leaving unhandled rejections', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk, _encoding, callback) {
          lines.push(String(chunk));
          callback();
        },
      }),
    });
    const redis = await startRedisServer();
    const { bus, close } = await createEventBus({ redisUrl: redis.url, logger });
    try {
      const wakeups = bus.subscribe(GROUP_PURCHASE_CHANGED)[Symbol.asyncIterator]();
      // The first next() makes the bus SUBSCRIBE; return() makes it UNSUBSCRIBE.
      void wakeups.next();
      await redis.close();
      // An unhandled rejection here fails the run (vitest reports it); Node would exit.
      bus.publish(GROUP_PURCHASE_CHANGED, { cursor: '1' });
      void wakeups.return?.();
      const failed = (command: string) =>
        lines.some((l) => l.includes('pub/sub Redis command failed') && l.includes(command));
      await expect.poll(() => failed('publish'), { timeout: 10_000 }).toBe(true);
      await expect.poll(() => failed('unsubscribe'), { timeout: 10_000 }).toBe(true);
    } finally {
      await close();
    }
  });
});
