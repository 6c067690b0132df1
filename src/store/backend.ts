import type { Keyv } from 'keyv';
import type { Ledger } from './ledger.js';

/** What each kind of store (memory, SQLite, Redis) provides to the `Store` in index.ts. */
export interface Backend {
  /** For logs and readiness output; never contains a password. */
  readonly description: string;
  /**
   * A new keyv instance for one namespace, with `throwOnErrors` set. Called once per namespace;
   * the Store caches the result.
   */
  createKeyv(namespace: string): Keyv;
  /**
   * Stores `value` through `keyv` (its key prefixing and serialization) only if the key holds no
   * unexpired value; true if this call stored it.
   */
  setIfAbsent(keyv: Keyv, key: string, value: unknown, ttlMs: number | undefined): Promise<boolean>;
  /** Versioned states and the ordered change log, in this engine's own structures. */
  readonly ledger: Ledger;
  /** Throws (rejects) if the backend cannot serve requests. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** keyv's absolute expiry for a TTL, the same arithmetic keyv's own `set` does. */
export function expiresAt(ttlMs: number | undefined): number | undefined {
  return ttlMs === undefined ? undefined : Date.now() + ttlMs;
}

/** keyv's serialized form of `{ value, expires }`, as its `set` would write it. */
export async function serializeFor(
  keyv: Keyv,
  value: unknown,
  expires: number | undefined,
): Promise<string> {
  const serialized = await keyv.serializeData({ value, expires });
  if (typeof serialized !== 'string') {
    throw new TypeError('Store namespaces must keep keyv serialization enabled.');
  }
  return serialized;
}
