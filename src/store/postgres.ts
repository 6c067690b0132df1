import { Keyv } from 'keyv';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { expiresAt, serializeFor, type Backend } from './backend.js';
import { serializeWrites } from './state-log.js';
import { KeyvPostgres, keyvRows } from './postgres-keyv.js';
import { inTransaction } from './postgres-client.js';
import { commitOn, PostgresStateLog } from './postgres-state-log.js';
import { migrate } from './postgres-schema.js';
import { redactUrl } from './url.js';
import { VARIABLES } from '../config/variables.js';

export interface PostgresBackendOptions {
  /**
   * Connections the pool keeps open at most.
   * @default as PG_POOL_MAX (src/config/)
   */
  poolMax?: number;
  /**
   * How long a request waits for a connection (a new one, or a free one of a busy pool) before
   * it fails — while PostgreSQL is away, requests fail this fast instead of hanging.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * How often rows past their expiry are deleted (keyv drops an expired row only when read).
   * @default 600_000 (10 minutes)
   */
  sweepIntervalMs?: number;
  /**
   * How long `ping()` waits for its answer.
   * @default 2000
   */
  pingTimeoutMs?: number;
  logger: Logger;
}

/** Longest a transaction may sit idle (no statement running) before the server aborts it. */
const IDLE_IN_TRANSACTION_MS = 30_000;

/**
 * A store in one PostgreSQL database, shared by every instance pointed at it: keyv namespaces
 * in the `keyv` table, the state log in its own tables (postgres-state-log.ts), the schema migrated
 * at open (postgres-schema.ts). Opening fails if the database cannot be reached or was
 * migrated by a newer release (a ConfigError).
 */
export async function openPostgresBackend(
  url: string,
  options: PostgresBackendOptions,
): Promise<Backend> {
  const { logger } = options;
  const description = redactUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolMax ?? VARIABLES.PG_POOL_MAX.default,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    application_name: 'payments-subgraph',
    keepAlive: true,
    // Statements a caller issues without waiting go to the server at once (pg's pipelining):
    // a state log commit sends its rows' statements together (postgres-state-log.ts, sendAll). A
    // caller that awaits each statement, as every other one here does, works as before.
    pipeline: true,
    // A transaction left open by an instance that froze or lost its network mid-commit would
    // hold the change log's head lock (every state log commit waits for it): the server ends it.
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
  });
  // An idle connection that PostgreSQL drops (a restart, a crash) is reported here; without a
  // listener it would end the process. The pool replaces it on the next request.
  pool.on('error', (error) => {
    logger.warn({ err: error.message, store: description }, 'store: PostgreSQL connection lost');
  });
  try {
    await migrate(pool, description);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const stateLog = new PostgresStateLog(pool);
  const sweeper = startSweeper(pool, description, options.sweepIntervalMs ?? 600_000, logger);

  return {
    description,
    stateLog,
    createKeyv(namespace) {
      const adapter = new KeyvPostgres(pool, description);
      return new Keyv({ store: adapter, namespace, throwOnErrors: true });
    },
    async setIfAbsent(keyv, key, value, ttlMs) {
      const expires = expiresAt(ttlMs);
      const serialized = await serializeFor(keyv, value, expires);
      return keyvRows.insertIfAbsent(pool, keyv._getKeyPrefix(key), serialized, expires);
    },
    async writeTogether(keys, writes) {
      const rows = await Promise.all(
        keys.map(async (w) => {
          const expires = expiresAt(w.ttlMs);
          const value = await serializeFor(w.keyv, w.value, expires);
          return { key: w.keyv._getKeyPrefix(w.key), value, expires };
        }),
      );
      // Key order, so two transactions writing the same keys lock them in the same order.
      rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const serialized = await serializeWrites(writes);
      return inTransaction(pool, async (client) => {
        // The state log first: its head lock is the first lock of every state log commit.
        const results = serialized.length > 0 ? await commitOn(client, serialized, Date.now()) : [];
        for (const row of rows) await keyvRows.set(client, row.key, row.value, row.expires);
        return results;
      });
    },
    async ping() {
      const timeoutMs = options.pingTimeoutMs ?? 2000;
      await withTimeout(
        pool.query('SELECT 1'),
        timeoutMs,
        `PostgreSQL at ${description} did not answer within ${timeoutMs} ms`,
      );
    },
    async close() {
      clearInterval(sweeper);
      await pool.end();
    },
  };
}

function startSweeper(
  pool: pg.Pool,
  description: string,
  intervalMs: number,
  logger: Logger,
): NodeJS.Timeout {
  const sweep = () => {
    keyvRows.deleteExpired(pool).then(
      (removed) => {
        if (removed > 0) logger.debug({ removed, store: description }, 'store: deleted expired');
      },
      (error: unknown) =>
        logger.warn({ err: error, store: description }, 'store: could not delete expired rows'),
    );
  };
  // unref: a pending sweep must not keep a finished process (a test, a CLI) alive.
  return setInterval(sweep, intervalMs).unref();
}

/** Rejects with `message` if `promise` has not settled after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
