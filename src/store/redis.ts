import { setTimeout as sleep } from 'node:timers/promises';
import KeyvRedis, { createClient } from '@keyv/redis';
import { Keyv } from 'keyv';
import type { Logger } from '../logger.js';
import type { Keyv as KeyvInstance } from 'keyv';
import {
  expiresAt,
  serializeFor,
  type Backend,
  type Durability,
  type KeyvWrite,
} from './backend.js';
import { commitResults, RedisStateLog } from './state-log-redis.js';
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
  /**
   * How long a claim (`setIfAbsent`, which precedes every money-moving upstream call) waits for
   * WAITAOF — Redis's word that the write is fsync'd to its append-only file — on a Redis that
   * has the command (7.2 and later) and appendonly on. A claim that is not on disk in time is
   * withdrawn (nothing was sent upstream) and the request answers STORE_UNAVAILABLE.
   * @default 1000
   */
  aofWaitMs?: number;
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
  const client = await connectClient(url, description, options);

  const aof = new AofWait(client, options.aofWaitMs ?? 1000, logger);
  const stateLog = new RedisStateLog({
    send: (args) => client.sendCommand(args),
    transaction: (commands) => {
      const multi = client.multi();
      for (const command of commands) multi.addCommand(command);
      return multi.exec();
    },
  });

  return {
    description,

    stateLog,

    createKeyv(namespace) {
      const adapter = new KeyvRedis(client, {
        namespace,
        throwOnErrors: true,
        throwOnConnectError: true,
      });
      return new Keyv({ store: adapter, namespace, useKeyPrefix: false, throwOnErrors: true });
    },

    setIfAbsent: (keyv, key, value, ttlMs) => setIfAbsent(client, aof, { keyv, key, value, ttlMs }),

    /**
     * One MULTI … EXEC, sent as one pipeline: the keyv SETs, then the state log's COMMIT script
     * calls. Redis runs them back to back with nothing in between, and runs none of them if
     * EXEC never arrives (a connection lost mid-send).
     */
    async writeTogether(keys, writes) {
      const sets = await Promise.all(keys.map(setCommand));
      const calls = writes.length === 0 ? [] : await stateLog.commitCalls(writes);
      const multi = client.multi();
      for (const command of [...sets, ...calls]) multi.addCommand(command);
      const replies = await multi.exec();
      return commitResults(replies.slice(sets.length));
    },

    durability: () => durabilityOf(client, description),

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

/**
 * Create-if-absent as one `SET NX`: atomic on the server. PX (relative) mirrors how @keyv/redis
 * itself writes TTLs and measures the lifetime on Redis's clock, so instance clock skew cannot
 * stretch it. A claim that was taken waits for the append-only file (AofWait) before it counts.
 */
async function setIfAbsent(
  client: RedisClient,
  aof: AofWait,
  write: { keyv: Keyv; key: string; value: unknown; ttlMs: number | undefined },
): Promise<boolean> {
  const storeKey = storeKeyOf(write.keyv, write.key);
  const serialized = await serializeFor(write.keyv, write.value, expiresAt(write.ttlMs));
  const reply = await client.set(
    storeKey,
    serialized,
    write.ttlMs === undefined
      ? { condition: 'NX' }
      : { condition: 'NX', expiration: { type: 'PX', value: Math.ceil(write.ttlMs) } },
  );
  if (reply === null) return false;
  await aof.settle(storeKey);
  return true;
}

/**
 * One client for every namespace, connected (or still trying after `readyTimeoutMs`: a service
 * may start before Redis and report not-ready until it arrives).
 */
async function connectClient(
  url: string,
  description: string,
  options: RedisBackendOptions,
): Promise<RedisClient> {
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
  watchConnection(client, description, options.logger);
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
    options.logger.warn(
      { store: description },
      'store: Redis not reachable yet; retrying in background',
    );
  }
  return client;
}

/** The Redis key @keyv/redis keeps `key` of `keyv`'s namespace under. */
function storeKeyOf(keyv: KeyvInstance, key: string): string {
  const adapter = keyv.store as KeyvRedis<unknown>;
  return adapter.createKeyPrefix(keyv._getKeyPrefix(key), adapter.namespace);
}

/** A keyv write as the SET @keyv/redis itself would send (same key, serialization and TTL). */
async function setCommand(write: KeyvWrite): Promise<string[]> {
  const serialized = await serializeFor(write.keyv, write.value, expiresAt(write.ttlMs));
  const command = ['SET', storeKeyOf(write.keyv, write.key), serialized];
  if (write.ttlMs !== undefined) command.push('PX', String(Math.ceil(write.ttlMs)));
  return command;
}

/**
 * `appendonly` decides what a Redis restart keeps: with it, every acknowledged write (fsync'd
 * each second or each write, per `appendfsync`); without it, only the last RDB snapshot.
 */
async function durabilityOf(client: RedisClient, description: string): Promise<Durability> {
  let settings: Record<string, string>;
  try {
    settings = configReply(await client.sendCommand(['CONFIG', 'GET', 'append*']));
  } catch (error) {
    const why = error instanceof Error ? error.message.slice(0, 120) : 'refused';
    return {
      kind: 'unknown',
      detail: `Redis at ${description} would not answer CONFIG GET appendonly (${why})`,
    };
  }
  const appendonly = settings.appendonly;
  if (appendonly === 'yes') {
    const fsync = settings.appendfsync ?? 'unknown';
    return {
      kind: 'keeps',
      detail: `Redis at ${description} has appendonly yes (appendfsync ${fsync})`,
    };
  }
  return {
    kind: 'forgets',
    detail: `Redis at ${description} has appendonly ${appendonly ?? 'unset'}: a restart keeps only its last snapshot`,
  };
}

/** CONFIG GET's reply: a flat [name, value, …] array (RESP2) or a map (RESP3). */
function configReply(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
    return out;
  }
  if (reply instanceof Map) {
    return Object.fromEntries([...reply].map(([k, v]) => [String(k), String(v)]));
  }
  return (reply ?? {}) as Record<string, string>;
}

/**
 * WAITAOF after a claim: the claim is what keeps a retry from moving money again, so on a
 * Redis that can say so, it is on disk before the upstream call. A Redis without the command
 * (before 7.2) or without appendonly cannot wait; that is found once and the wait skipped
 * (production refuses appendonly no at start; see docs/stores.md).
 */
class AofWait {
  #usable = true;

  constructor(
    private readonly client: RedisClient,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Resolves once `storeKey`'s write is fsync'd; else deletes it and rejects. */
  async settle(storeKey: string): Promise<void> {
    if (!this.#usable) return;
    let reply: unknown;
    try {
      reply = await this.client.sendCommand(['WAITAOF', '1', '0', String(this.timeoutMs)]);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/unknown command|appendonly/i.test(message)) {
        this.#usable = false;
        this.logger.info(
          { reason: message.slice(0, 120) },
          'store: Redis claims do not wait for WAITAOF',
        );
        return;
      }
      await this.withdraw(storeKey);
      throw error;
    }
    const local = Array.isArray(reply) ? Number(reply[0]) : 0;
    if (local >= 1) return;
    await this.withdraw(storeKey);
    throw new Error(`Redis did not fsync a claim within ${this.timeoutMs} ms (WAITAOF)`);
  }

  /** Nothing was sent upstream under a claim that is not on disk: it is released. */
  private async withdraw(storeKey: string): Promise<void> {
    await this.client.del(storeKey).catch(() => undefined);
  }
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
