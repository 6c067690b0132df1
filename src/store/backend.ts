import type { Keyv } from 'keyv';
import type { StateLog, StateLogCommitResult, StateLogWrite } from './state-log.js';

/** One keyv-namespace write of `Store.writeTogether`, with the namespace's keyv instance. */
export interface KeyvWrite {
  keyv: Keyv;
  key: string;
  value: unknown;
  ttlMs?: number;
}

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
  readonly stateLog: StateLog;
  /**
   * Stores every keyv write and commits the state log writes in one atomic step (see
   * `Store.writeTogether`); the state log results in the order of `stateLog`.
   */
  writeTogether(
    keys: readonly KeyvWrite[],
    stateLog: ReadonlyArray<StateLogWrite<unknown>>,
  ): Promise<StateLogCommitResult[]>;
  /**
   * Whether an acknowledged write survives a crash of the engine's server or host: asked once
   * at start, so production can refuse a store that forgets (see `Store.durability`).
   * @default keeps (an engine that writes to disk before it acknowledges: SQLite, PostgreSQL)
   */
  durability?(): Promise<Durability>;
  /** Throws (rejects) if the backend cannot serve requests. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * What an engine keeps of an acknowledged write when its process or host crashes:
 * - `keeps`: on disk before it is acknowledged (SQLite, PostgreSQL, Redis with appendonly);
 * - `forgets`: lost with the process (memory) or until the next snapshot (Redis without
 *   appendonly) — an idempotency key forgotten this way lets a retry move money again;
 * - `unknown`: the engine would not say (a managed Redis that refuses CONFIG).
 * `detail` says what was found, for the operator, without secrets.
 */
export type Durability = { kind: 'keeps' | 'forgets' | 'unknown'; detail: string };

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

/**
 * The keyv writes one after another, then the state log commit: NOT one atomic step — a crash
 * between them keeps the first part. Only for an engine that has no transaction of its own yet.
 */
export async function writeInTurn(
  stateLogOf: StateLog,
  keys: readonly KeyvWrite[],
  stateLog: ReadonlyArray<StateLogWrite<unknown>>,
): Promise<StateLogCommitResult[]> {
  for (const write of keys) await write.keyv.set(write.key, write.value, write.ttlMs);
  return stateLog.length === 0 ? [] : stateLogOf.commit(stateLog);
}
