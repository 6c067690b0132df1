import { EventEmitter } from 'node:events';
import type { KeyvStoreAdapter, StoredData } from 'keyv';
import { SqliteDatabase, type SqliteDatabaseOptions } from './sqlite-database.js';

export interface KeyvSqliteOptions extends SqliteDatabaseOptions {
  /**
   * A database file this adapter opens, and closes on `disconnect()`. Give this or `database`.
   */
  path?: string;
  /**
   * An open database shared with other adapters (one per keyv namespace); `disconnect()` leaves
   * it open for them — its owner closes it.
   */
  database?: SqliteDatabase;
  /**
   * Rows fetched per query while iterating.
   * @default 100
   */
  iteratorPageSize?: number;
}

/**
 * A keyv 5 storage adapter over one SQLite file through `node:sqlite` (no native addon).
 *
 * keyv hands adapters keys it already prefixed with `namespace:` and values it already
 * serialized to strings; this adapter stores them as they come. keyv writes the namespace onto
 * the adapter (`adapter.namespace = …`), so one adapter must serve one keyv instance: share the
 * `database`, not the adapter.
 *
 * Errors (a closed database, a lock held past the busy timeout) reject the returned promises,
 * and a lock is waited for asynchronously: no call holds the event loop while another process
 * has the file locked (see sqlite-database.ts). The adapter never emits 'error' itself. Wrap it
 * in keyv with `throwOnErrors: true`, or keyv's `get` turns those rejections into `undefined`.
 */
export class KeyvSqlite extends EventEmitter implements KeyvStoreAdapter {
  /**
   * keyv reads `opts.dialect` to decide the adapter can iterate: 'sqlite' is on its list.
   */
  opts: { dialect: 'sqlite'; url: string; iteratorPageSize: number };
  namespace?: string | undefined;
  readonly database: SqliteDatabase;
  readonly #ownsDatabase: boolean;

  constructor(options: KeyvSqliteOptions) {
    super();
    if (options.database) {
      this.database = options.database;
      this.#ownsDatabase = false;
    } else if (options.path) {
      this.database = new SqliteDatabase(options.path, options);
      this.#ownsDatabase = true;
    } else {
      throw new TypeError('KeyvSqlite needs a `path` or an open `database`.');
    }
    this.opts = {
      dialect: 'sqlite',
      url: `sqlite://${this.database.path}`,
      iteratorPageSize: options.iteratorPageSize ?? 100,
    };
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return (await this.database.get(key)) as StoredData<Value> | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    const found = await this.database.getMany(keys);
    return keys.map((key) => found.get(key) as StoredData<Value> | undefined);
  }

  async has(key: string): Promise<boolean> {
    return this.database.has(key);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const serialized = requireString(value);
    await this.database.set(key, serialized, expiresOf(serialized, ttl));
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return this.database.delete(key);
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    return this.database.deleteMany(keys);
  }

  /** Deletes this adapter's namespace, or the whole table when it has none. */
  async clear(): Promise<void> {
    await this.database.clear(this.namespace ? `${this.namespace}:` : undefined);
  }

  /**
   * Live `[storedKey, serializedValue]` pairs of one namespace (all rows without one), in key
   * order. keyv's own iterator strips the prefix and deserializes.
   */
  async *iterator<Value>(namespace?: string): AsyncGenerator<Array<string | Awaited<Value>>, void> {
    const prefix = namespace ? `${namespace}:` : undefined;
    let after: string | undefined;
    for (;;) {
      const rows = await this.database.page(prefix, after, this.opts.iteratorPageSize);
      for (const row of rows) yield [row.key, row.value];
      const last = rows.at(-1);
      if (!last || rows.length < this.opts.iteratorPageSize) return;
      after = last.key;
    }
  }

  async disconnect(): Promise<void> {
    if (this.#ownsDatabase) await this.database.close();
  }
}

function requireString(value: unknown): string {
  if (typeof value !== 'string') {
    throw new TypeError('KeyvSqlite stores serialized strings; keep keyv serialization enabled.');
  }
  return value;
}

/**
 * The `expires` column for a value. keyv computes the expiry inside the serialized value
 * (`{"value":…,"expires":1767225600000}`) a moment before it calls `set(key, value, ttl)`;
 * deriving the column from `ttl` here would land a millisecond or so later, and in that gap keyv
 * would read a row this adapter calls live, find it expired, and delete it — possibly after
 * another process has replaced it. So the column copies keyv's number when the value ends with
 * it (keyv's serializers put `expires` last), and falls back to `now + ttl` otherwise.
 */
function expiresOf(serialized: string, ttl: number | undefined): number | undefined {
  const match = /"expires":(\d+)\}$/.exec(serialized.slice(-40));
  if (match?.[1]) return Number(match[1]);
  return typeof ttl === 'number' && ttl > 0 ? Date.now() + ttl : undefined;
}
