import { Keyv } from 'keyv';
import type { Logger } from '../logger.js';
import { expiresAt, serializeFor, writeInTurn, type Backend } from './backend.js';
import { SqliteLedger } from './ledger-sqlite.js';
import { KeyvSqlite } from './sqlite-adapter.js';
import { SqliteDatabase } from './sqlite-database.js';

export interface SqliteBackendOptions {
  /**
   * How long a statement waits for another process's write lock.
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

/** A store in one SQLite file; every namespace is a key prefix in the one `keyv` table. */
export function openSqliteBackend(path: string, options: SqliteBackendOptions): Backend {
  const { logger } = options;
  const database = new SqliteDatabase(path, { busyTimeoutMs: options.busyTimeoutMs });
  const ledger = new SqliteLedger(database.path, options.busyTimeoutMs ?? 5000);

  const sweep = (): void => {
    try {
      const removed = database.deleteExpired();
      if (removed > 0) logger.debug({ removed, path }, 'store: deleted expired rows');
    } catch (error) {
      logger.warn({ err: error, path }, 'store: could not delete expired rows');
    }
  };
  sweep();
  // unref: a pending sweep must not keep a finished process (a test, a CLI) alive.
  const sweeper = setInterval(sweep, options.sweepIntervalMs ?? 600_000).unref();

  return {
    description: `sqlite:${path}`,

    ledger,

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

    // TODO(one transaction): keyv table and ledger tables live in one file; one writer-thread
    // transaction should carry both.
    writeTogether(keys, writes) {
      return writeInTurn(ledger, keys, writes);
    },

    async ping() {
      database.ping();
    },

    async close() {
      clearInterval(sweeper);
      await ledger.close();
      database.close();
    },
  };
}
