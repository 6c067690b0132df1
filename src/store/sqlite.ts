import { Keyv } from 'keyv';
import type { Logger } from '../logger.js';
import { expiresAt, serializeFor, type Backend, type KeyvWrite } from './backend.js';
import { commitResults, packWrites, SqliteStateLog } from './state-log-sqlite.js';
import type { CommitReply } from './state-log-sqlite-worker.js';
import { KeyvSqlite } from './sqlite-adapter.js';
import { SqliteDatabase } from './sqlite-database.js';
import type { KeyRow } from './sqlite-worker.js';

export interface SqliteBackendOptions {
  /**
   * How long a statement may wait for another process's lock before the call rejects (it waits
   * asynchronously; see docs/sqlite.md).
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * How often rows past their expiry are deleted. keyv drops an expired row only when someone
   * reads it; idempotency records, for one, are rarely read again.
   * @default 600_000 (10 minutes)
   */
  sweepIntervalMs?: number;
  logger: Logger;
}

/**
 * A store in one SQLite file; every namespace is a key prefix in the one `keyv` table, and the
 * state log's tables sit beside it. Every write runs in one writer thread, so `writeTogether` is
 * one transaction there.
 */
export async function openSqliteBackend(
  path: string,
  options: SqliteBackendOptions,
): Promise<Backend> {
  const { logger } = options;
  const database = new SqliteDatabase(path, { busyTimeoutMs: options.busyTimeoutMs });
  const stateLog = new SqliteStateLog(database);
  try {
    await database.open(logger);
  } catch (error) {
    await database.close();
    throw error;
  }

  const sweep = async (): Promise<void> => {
    try {
      const removed = await database.deleteExpired();
      if (removed > 0) logger.debug({ removed, path }, 'store: deleted expired rows');
    } catch (error) {
      if (database.isOpen)
        logger.warn({ err: error, path }, 'store: could not delete expired rows');
    }
  };
  // The first sweep before the store is handed out: what expired while no process ran is gone
  // before anyone reads. A lock held meanwhile delays it at most the busy timeout, and a sweep
  // that fails is only logged.
  await sweep();
  // unref: a pending sweep must not keep a finished process (a test, a CLI) alive.
  const sweeper = setInterval(() => void sweep(), options.sweepIntervalMs ?? 600_000).unref();

  return {
    description: `sqlite:${path}`,

    stateLog,

    createKeyv(namespace) {
      // One adapter per namespace over the shared database: keyv writes the namespace onto
      // its adapter, so a shared adapter would clear and iterate the wrong namespace.
      return new Keyv({ store: new KeyvSqlite({ database }), namespace, throwOnErrors: true });
    },

    async setIfAbsent(keyv, key, value, ttlMs) {
      const expires = expiresAt(ttlMs);
      const serialized = await serializeFor(keyv, value, expires);
      // _getKeyPrefix is keyv's own `namespace:key` rule (including its quirk of not prefixing
      // a key that already starts with `namespace:`), so `keyv.get(key)` finds this row.
      return database.insertIfAbsent(keyv._getKeyPrefix(key), serialized, expires);
    },

    // One `BEGIN IMMEDIATE` transaction in the writer thread: the keyv rows, then the state log
    // commit (sqlite-worker.ts). An error anywhere in it rolls all of it back.
    writeTogether(keys, writes) {
      return stateLog.track(async () => {
        const rows = await keyRows(keys);
        const packed = writes.length === 0 ? null : await packWrites(writes);
        const replies = await database.write<CommitReply>({
          op: 'writeTogether',
          rows,
          writes: packed,
          now: Date.now(),
        });
        return commitResults(replies);
      });
    },

    async ping() {
      await database.ping();
    },

    async close() {
      clearInterval(sweeper);
      await stateLog.close();
      await database.close();
    },
  };
}

/** The keyv writes as rows: prefixed and serialized as `keyv.set` would store them. */
async function keyRows(keys: readonly KeyvWrite[]): Promise<KeyRow[]> {
  return Promise.all(
    keys.map(async ({ keyv, key, value, ttlMs }): Promise<KeyRow> => {
      const expires = expiresAt(ttlMs);
      const serialized = await serializeFor(keyv, value, expires);
      return [keyv._getKeyPrefix(key), serialized, expires ?? null];
    }),
  );
}
