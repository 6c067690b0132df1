import type { Keyv } from 'keyv';
import { silentLogger, type Logger } from '../logger.js';
import type { Backend, Durability } from './backend.js';
import type { StateLog, StateLogCommitResult, StateLogWrite } from './state-log.js';
import { createMemoryBackend } from './memory.js';
import { openPostgresBackend } from './postgres.js';
import { openRedisBackend } from './redis.js';
import { openSqliteBackend } from './sqlite.js';
import { parseStoreUrl } from './url.js';

export { parseStoreUrl, redactUrl } from './url.js';
export type { Durability } from './backend.js';
export type {
  StateLog,
  StateLogCommitResult,
  StateLogLogEntry,
  StateLogState,
  StateLogWrite,
  WriteText,
  LogWindow,
} from './state-log.js';
export { compareCursors } from './state-log.js';

/** Keyv namespaces over one backend: memory, a SQLite file, Redis, or PostgreSQL. */
export interface Store {
  /**
   * A keyv instance for one namespace ('batches', 'idempotency', 'batch-status', 'offers',
   * 'locks'), cached per name. Its methods reject when the backend fails instead of
   * quietly returning `undefined`/`false` (keyv's default) — except `clear()` over Redis, which
   * the Redis adapter only reports as an 'error' event. Names: letters, digits, `-` and `_`.
   * Release the backend with `Store.close()`, not `keyv.disconnect()`: namespaces share one
   * connection.
   */
  namespace<T>(name: string): Keyv<T>;
  /**
   * Atomic create-if-absent: stores `value` under namespace+key only if no unexpired value is
   * there; true if this call stored it. Atomic across processes for SQLite, Redis and
   * PostgreSQL, and within the process for memory. The value is then readable through
   * `namespace(ns).get(key)`.
   * `value` must be JSON-like (not undefined, a function or a symbol); `ttlMs` > 0 if given.
   */
  setIfAbsent(namespace: string, key: string, value: unknown, ttlMs?: number): Promise<boolean>;
  /**
   * Versioned states with an ordered change log beside them, in the engine's own structures
   * (see state-log.ts): what purchase state and its change log are kept in.
   */
  readonly stateLog: StateLog;
  /**
   * Stores every `keys` write (as `namespace(ns).set(key, value, ttlMs)` would) and commits the
   * `stateLog` writes (as `stateLog.commit` would) in one atomic step: one transaction in SQLite and
   * PostgreSQL, one MULTI … EXEC in Redis. Either all of it is stored or none of it: what money
   * safety needs when an upstream's outcome and the bookkeeping that goes with it (the batch
   * record, the purchase's new state) must not be kept apart by a crash. A state log write whose
   * version moved is skipped as in `commit` (`{ ok: false }`) and does not undo the rest.
   * StateLog results are in the order of `stateLog`.
   */
  writeTogether(writes: StoreWrites): Promise<StateLogCommitResult[]>;
  /**
   * Whether an acknowledged write survives a crash of the engine's server or host (see
   * `Durability`): what production checks at start before it serves money moves.
   */
  durability(): Promise<Durability>;
  /** Rejects if the backend is not usable (readiness probe). */
  ping(): Promise<void>;
  /** The backend without secrets: 'memory', 'sqlite:data/payments.db', 'redis://host:6379'. */
  readonly description: string;
  close(): Promise<void>;
}

/** One write to a keyv namespace, as `Store.writeTogether` takes it. */
export interface KeyWrite {
  namespace: string;
  key: string;
  /** JSON-like, as for setIfAbsent. */
  value: unknown;
  /** > 0 if given; absent = kept until deleted. */
  ttlMs?: number;
}

/** What `Store.writeTogether` stores in one atomic step. */
export interface StoreWrites {
  keys?: readonly KeyWrite[];
  stateLog?: ReadonlyArray<StateLogWrite<unknown>>;
}

export interface OpenStoreOptions {
  /**
   * Where store warnings go (Redis outages, failed expiry sweeps).
   * @default silentLogger
   */
  logger?: Logger;
  /**
   * How long a SQLite statement waits for another process's write lock.
   * @default 5000
   */
  sqliteBusyTimeoutMs?: number;
  /**
   * How often the SQLite store deletes expired rows that nobody read again.
   * @default 600_000 (10 minutes)
   */
  sqliteSweepIntervalMs?: number;
  /**
   * How long opening a Redis store waits for the first connection before returning anyway
   * (it keeps retrying; `ping()` rejects until connected).
   * @default 5000
   */
  redisReadyTimeoutMs?: number;
  /**
   * Connections the PostgreSQL store's pool keeps open at most.
   * @default as PG_POOL_MAX (src/config/)
   */
  postgresPoolMax?: number;
}

/**
 * Opens the store a STORE_URL names: `memory://`, `sqlite:<path>` / `sqlite://<path>` (relative
 * to the working directory; parent directories are created), `redis://…` / `rediss://…`, or
 * `postgres://…` / `postgresql://…` (its schema created or migrated first). Throws, naming
 * STORE_URL and the accepted forms, for anything else.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const logger = options.logger ?? silentLogger;
  const location = parseStoreUrl(url);
  let backend: Backend;
  switch (location.kind) {
    case 'memory':
      backend = createMemoryBackend();
      break;
    case 'sqlite':
      backend = await openSqliteBackend(location.path, {
        busyTimeoutMs: options.sqliteBusyTimeoutMs,
        sweepIntervalMs: options.sqliteSweepIntervalMs,
        logger,
      });
      break;
    case 'redis':
      backend = await openRedisBackend(location.url, {
        readyTimeoutMs: options.redisReadyTimeoutMs,
        logger,
      });
      break;
    case 'postgres':
      backend = await openPostgresBackend(location.url, {
        poolMax: options.postgresPoolMax,
        logger,
      });
      break;
  }
  return new KeyvNamespaces(backend, logger);
}

const NAMESPACE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

class KeyvNamespaces implements Store {
  readonly #backend: Backend;
  readonly #logger: Logger;
  readonly #namespaces = new Map<string, Keyv>();
  #closing: Promise<void> | undefined;

  constructor(backend: Backend, logger: Logger) {
    this.#backend = backend;
    this.#logger = logger;
  }

  get description(): string {
    return this.#backend.description;
  }

  get stateLog(): StateLog {
    this.#assertOpen();
    return this.#backend.stateLog;
  }

  namespace<T>(name: string): Keyv<T> {
    this.#assertOpen();
    const cached = this.#namespaces.get(name);
    if (cached) return cached as Keyv<T>;
    // A `:` would break keyv's prefix handling: it unprefixes iterated keys at the first `:`.
    if (!NAMESPACE_NAME.test(name)) {
      throw new TypeError(
        `Store namespace ${JSON.stringify(name)} is invalid: use letters, digits, '-' and '_'.`,
      );
    }
    const keyv = this.#backend.createKeyv(name);
    // With throwOnErrors the failing call rejects, so its caller reports the error; keyv emits
    // it as well (it would go nowhere without a listener), and this keeps a trace of it.
    keyv.on('error', (error: unknown) => {
      this.#logger.debug({ err: error, namespace: name }, 'store: keyv reported an error');
    });
    this.#namespaces.set(name, keyv);
    return keyv as Keyv<T>;
  }

  async setIfAbsent(
    namespace: string,
    key: string,
    value: unknown,
    ttlMs?: number,
  ): Promise<boolean> {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
      // keyv serializes an undefined value to nothing: the key would be taken yet read as absent.
      throw new TypeError(`setIfAbsent cannot store ${typeof value} (use null for "no value").`);
    }
    if (ttlMs !== undefined && !(Number.isFinite(ttlMs) && ttlMs > 0)) {
      throw new RangeError(
        `setIfAbsent ttlMs must be a positive number of milliseconds; got ${ttlMs}.`,
      );
    }
    return this.#backend.setIfAbsent(this.namespace(namespace), key, value, ttlMs);
  }

  async writeTogether(writes: StoreWrites): Promise<StateLogCommitResult[]> {
    const keys = (writes.keys ?? []).map((write) => {
      if (write.value === undefined) {
        throw new TypeError(`writeTogether cannot store undefined under ${write.namespace}.`);
      }
      return {
        keyv: this.namespace(write.namespace),
        key: write.key,
        value: write.value,
        ...(write.ttlMs === undefined ? {} : { ttlMs: write.ttlMs }),
      };
    });
    const stateLog = writes.stateLog ?? [];
    if (keys.length === 0 && stateLog.length === 0) return [];
    return this.#backend.writeTogether(keys, stateLog);
  }

  async durability(): Promise<Durability> {
    this.#assertOpen();
    return (
      (await this.#backend.durability?.()) ?? {
        kind: 'keeps',
        detail: `${this.description} writes to disk before it acknowledges`,
      }
    );
  }

  async ping(): Promise<void> {
    this.#assertOpen();
    await this.#backend.ping();
  }

  close(): Promise<void> {
    this.#closing ??= this.#backend.close();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing) throw new Error(`Store ${this.description} is closed.`);
  }
}
