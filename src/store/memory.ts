import { Keyv } from 'keyv';
import { writeInTurn, type Backend } from './backend.js';
import { MemoryStateLog } from './state-log-memory.js';

/**
 * The in-process store: keyv's default Map store, one Map per namespace, all owned by one Store
 * (two Stores never share data).
 *
 * Why not one Map for every namespace: keyv writes its namespace onto the store object
 * (`store.namespace = …`) and, for a Map, `clear()` empties the whole Map and `iterator()`
 * filters by that last-written namespace. With one shared Map, clearing `batches` would empty
 * `idempotency` too. Keys are still prefixed (`batches:…`) inside each Map, as keyv always does.
 */
export function createMemoryBackend(): Backend {
  // setIfAbsent is check-then-set across awaits (keyv's get/set are async even over a Map), so
  // calls run one at a time. That makes it atomic against other setIfAbsent calls in this
  // process, which is the only place memory state exists.
  let queue: Promise<unknown> = Promise.resolve();

  return {
    description: 'memory',
    durability: () =>
      Promise.resolve({
        kind: 'forgets',
        detail: 'memory:// keeps everything in this process; a restart forgets it all',
      }),

    stateLog: new MemoryStateLog(),

    createKeyv(namespace) {
      return new Keyv({ store: new Map(), namespace, throwOnErrors: true });
    },

    setIfAbsent(keyv, key, value, ttlMs) {
      const attempt = queue.then(async () => {
        // getRaw, not get: a stored `null` (or a value whose `value` is falsy) still counts as
        // present. getRaw also drops an expired entry, so the key is free again after expiry.
        if ((await keyv.getRaw(key)) !== undefined) return false;
        await keyv.set(key, value, ttlMs);
        return true;
      });
      queue = attempt.catch(() => undefined);
      return attempt;
    },

    // In turn is enough here: a memory store has no crash to survive (it is gone with the
    // process), and nothing else in this process runs between two synchronous Map writes.
    writeTogether(keys, stateLog) {
      return writeInTurn(this.stateLog, keys, stateLog);
    },

    async ping() {},

    async close() {},
  };
}
