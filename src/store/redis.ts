import { setTimeout as sleep } from 'node:timers/promises';
import KeyvRedis, { createClient } from '@keyv/redis';
import { Keyv } from 'keyv';
import type { Logger } from '../logger.js';
import { expiresAt, serializeFor, writeInTurn, type Backend } from './backend.js';
import { RedisLedger } from './ledger-redis.js';
import { redactUrl } from './url.js';

export interface RedisBackendOptions {
  /**
   * How long opening waits for the first connection. After that it returns anyway and the
   * client keeps reconnecting in the background: a service may start before Redis and report
   * not-ready (`ping()` rejects) until it arrives.
   * @default 5000
   */
  readyTimeoutMs?: number;
  /**
   * How long `ping()` waits for PONG.
   * @default 2000
   */
  pingTimeoutMs?: number;
  logger: Logger;
}

type RedisClient = ReturnType<typeof createClient>;

/**
 * A store in Redis, shared by every instance pointed at it. One client serves all namespaces;
 * each namespace gets its own @keyv/redis adapter over that client, because keyv writes the
 * namespace onto its adapter.
 *
 * Keys: @keyv/redis prefixes them itself as `namespace::key`, so keyv's own `namespace:` prefix
 * is switched off (`useKeyPrefix: false`, as @keyv/redis's `createKeyv` does) — with both on,
 * keys would read `batches::batches:key`.
 */
export async function openRedisBackend(
  url: string,
  options: RedisBackendOptions,
): Promise<Backend> {
  const { logger } = options;
  const description = redactUrl(url);
  const client: RedisClient = createClient({
    url,
    // Fail fast while disconnected instead of queueing commands until Redis returns: a request
    // then gets an error to report and /readyz shows the outage, rather than both hanging.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5000),
    },
  });
  // Every @keyv/redis adapter adds its own listeners to the shared client; without this, the
  // tenth namespace would print a MaxListenersExceededWarning.
  client.setMaxListeners(100);
  watchConnection(client, description, logger);

  // connect() resolves once connected and, with a retrying strategy, otherwise keeps trying;
  // it rejects only if the client is closed first.
  const connected = client.connect().then(
    () => true,
    () => false,
  );
  const ready = await Promise.race([
    connected,
    sleep(options.readyTimeoutMs ?? 5000, false, { ref: false }),
  ]);
  if (!ready) {
    logger.warn({ store: description }, 'store: Redis not reachable yet; retrying in background');
  }

  const ledger = new RedisLedger({
    send: (args) => client.sendCommand(args),
    transaction: (commands) => {
      const multi = client.multi();
      for (const command of commands) multi.addCommand(command);
      return multi.exec();
    },
  });

  return {
    description,

    ledger,

    createKeyv(namespace) {
      const adapter = new KeyvRedis(client, {
        namespace,
        throwOnErrors: true,
        throwOnConnectError: true,
      });
      return new Keyv({ store: adapter, namespace, useKeyPrefix: false, throwOnErrors: true });
    },

    async setIfAbsent(keyv, key, value, ttlMs) {
      const adapter = keyv.store as KeyvRedis<unknown>;
      const storeKey = adapter.createKeyPrefix(keyv._getKeyPrefix(key), adapter.namespace);
      const serialized = await serializeFor(keyv, value, expiresAt(ttlMs));
      // SET NX is atomic on the server. PX (relative) mirrors how @keyv/redis itself writes TTLs
      // and measures the lifetime on Redis's clock, so instance clock skew cannot stretch it.
      const reply = await client.set(
        storeKey,
        serialized,
        ttlMs === undefined
          ? { condition: 'NX' }
          : { condition: 'NX', expiration: { type: 'PX', value: Math.ceil(ttlMs) } },
      );
      return reply !== null;
    },

    // TODO(one transaction): MULTI … EXEC over the SETs and the ledger's COMMIT script.
    writeTogether(keys, writes) {
      return writeInTurn(ledger, keys, writes);
    },

    async ping() {
      const timeoutMs = options.pingTimeoutMs ?? 2000;
      await withTimeout(
        client.ping(),
        timeoutMs,
        `Redis at ${description} did not answer PING within ${timeoutMs} ms`,
      );
    },

    async close() {
      // close() waits for commands in flight; while reconnecting there are none to wait for,
      // and destroy() also stops the reconnect loop.
      if (client.isReady) await client.close();
      else if (client.isOpen) client.destroy();
    },
  };
}

/** Rejects with `message` if `promise` has not settled after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One warning per outage (the client reports every reconnect attempt), one line on recovery. */
function watchConnection(client: RedisClient, description: string, logger: Logger): void {
  let outageReported = false;
  client.on('error', (error: unknown) => {
    if (outageReported) {
      logger.debug({ err: error, store: description }, 'store: Redis still unavailable');
      return;
    }
    outageReported = true;
    logger.warn({ err: error, store: description }, 'store: Redis unavailable; reconnecting');
  });
  client.on('ready', () => {
    if (outageReported) logger.info({ store: description }, 'store: Redis reachable again');
    outageReported = false;
  });
}
