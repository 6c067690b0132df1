import type { Keyv } from 'keyv';
import type { StateLog, Store } from '../../../src/store/index.js';
import { seededRandom } from './proxy.js';

/**
 * A fault-injecting {@link Store}: it delegates every call to the store the service opened and
 * fails the calls that match an armed rule. Keyv namespaces are wrapped in a Proxy over their
 * methods (nothing is patched), so the service sees an ordinary keyv that rejects.
 *
 * Install it with `startTestApp(env, { wrapStore: faulty.wrap })`.
 */

/** The store operations a rule can fail; keyv's many-key variants count as their single form. */
export type StoreOp = 'setIfAbsent' | 'get' | 'set' | 'delete' | 'ping';

const KEYV_OPS: Record<string, StoreOp> = {
  get: 'get',
  getMany: 'get',
  getRaw: 'get',
  getManyRaw: 'get',
  has: 'get',
  hasMany: 'get',
  set: 'set',
  setMany: 'set',
  setRaw: 'set',
  setManyRaw: 'set',
  delete: 'delete',
  deleteMany: 'delete',
  clear: 'delete',
};

export interface FaultRule {
  /** Operations that fail. @default every operation */
  ops?: StoreOp[];
  /** Namespaces that fail. @default every namespace */
  namespaces?: string[];
  /** Namespaces spared (e.g. `['idempotency']` for "every bookkeeping write fails"). */
  except?: string[];
  /** How many matching calls fail before the rule disarms itself. @default until recover() */
  times?: number;
  /**
   * Fail only this share of the matching calls, drawn from a PRNG seeded with `seed` (the draws
   * follow call order, so a concurrent run replays only approximately). @default 1
   */
  probability?: number;
  /** @default 1 */
  seed?: number;
}

/** One call the wrapper saw. `key` is the first key argument, when there is one. */
export interface StoreEvent {
  op: StoreOp;
  namespace: string;
  key: string | undefined;
  failed: boolean;
}

interface ArmedRule extends Required<Omit<FaultRule, 'times' | 'probability' | 'seed'>> {
  remaining: number;
  /** Whether this matching call fails. */
  draw: () => boolean;
}

export class StoreFault extends Error {
  constructor(op: StoreOp, namespace: string) {
    super(`injected store fault: ${op} on ${namespace}`);
    this.name = 'StoreFault';
  }
}

export class FaultyStore {
  /** Every call, in order, with whether it was failed on purpose. */
  readonly events: StoreEvent[] = [];
  private rules: ArmedRule[] = [];
  private inner: Store | undefined;
  private readonly proxies = new Map<string, Keyv>();

  /** The `wrapStore` hook: remembers the real store and returns the faulty one. */
  readonly wrap = (store: Store): Store => {
    this.inner = store;
    return this.store();
  };

  /** The store as the service opened it, for looking behind the faults. */
  get real(): Store {
    if (!this.inner) throw new Error('FaultyStore: the app has not opened its store yet');
    return this.inner;
  }

  /** Arms a rule; rules add up (a call fails when any armed rule matches it). */
  fail(rule: FaultRule = {}): this {
    this.rules.push({
      ops: rule.ops ?? ['setIfAbsent', 'get', 'set', 'delete', 'ping'],
      namespaces: rule.namespaces ?? [],
      except: rule.except ?? [],
      remaining: rule.times ?? Number.POSITIVE_INFINITY,
      draw: drawWith(rule.probability ?? 1, rule.seed ?? 1),
    });
    return this;
  }

  /** Disarms every rule: the store works again. */
  recover(): void {
    this.rules = [];
  }

  /** How many calls matched `filter` (a key matches when it contains `filter.key`). */
  count(filter: Partial<StoreEvent> & { key?: string }): number {
    return this.events.filter(
      (e) =>
        (filter.op === undefined || e.op === filter.op) &&
        (filter.namespace === undefined || e.namespace === filter.namespace) &&
        (filter.failed === undefined || e.failed === filter.failed) &&
        (filter.key === undefined || (e.key ?? '').includes(filter.key)),
    ).length;
  }

  /** Throws a StoreFault when an armed rule matches (and uses one of its `times`). */
  private check(op: StoreOp, namespace: string, key: string | undefined): void {
    const rule = this.rules.find(
      (r) =>
        r.remaining > 0 &&
        r.ops.includes(op) &&
        (r.namespaces.length === 0 || r.namespaces.includes(namespace)) &&
        !r.except.includes(namespace) &&
        r.draw(),
    );
    this.events.push({ op, namespace, key, failed: rule !== undefined });
    if (!rule) return;
    rule.remaining -= 1;
    throw new StoreFault(op, namespace);
  }

  /**
   * The purchase state log (versioned states + change log) as the namespace `stateLog`:
   * reads are `get`, commits and open-key rotation `set`, trimming `delete`. Resolved lazily,
   * like the namespaces: the real store may close first.
   */
  private stateLog(): StateLog {
    const real = () => this.real.stateLog;
    const guard =
      <A extends unknown[], R>(op: StoreOp, call: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        this.check(op, 'stateLog', undefined);
        return call(...args);
      };
    return {
      getMany: guard('get', (keys) => real().getMany(keys)),
      commit: guard('set', (writes) => real().commit(writes)),
      readLog: guard('get', (after, limit, window) => real().readLog(after, limit, window)),
      head: guard('get', () => real().head()),
      trim: guard('delete', (maxAgeMs) => real().trim(maxAgeMs)),
      takeOpen: guard('set', (limit) => real().takeOpen(limit)),
      isCursor: (cursor) => real().isCursor(cursor),
      // Each call reaches the real commit at once, in call order, so the real log's order holds.
      get commitsInCallOrder() {
        return real().commitsInCallOrder;
      },
    } as StateLog;
  }

  private store(): Store {
    const real = this.real;
    return {
      namespace: <T>(name: string) => this.namespace(name) as Keyv<T>,
      setIfAbsent: async (namespace, key, value, ttlMs) => {
        this.check('setIfAbsent', namespace, key);
        return real.setIfAbsent(namespace, key, value, ttlMs);
      },
      durability: () => real.durability(),
      ping: async () => {
        this.check('ping', '*', undefined);
        return real.ping();
      },
      get description() {
        return real.description;
      },
      stateLog: this.stateLog(),
      // One atomic step: a rule matching any of its writes fails the whole of it, as a
      // transaction the store refuses does.
      writeTogether: async (writes) => {
        for (const write of writes.keys ?? []) this.check('set', write.namespace, write.key);
        if ((writes.stateLog ?? []).length > 0) this.check('set', 'stateLog', undefined);
        return real.writeTogether(writes);
      },
      close: () => real.close(),
    };
  }

  /** The namespace's keyv behind a Proxy whose data methods consult the rules first. */
  private namespace(name: string): Keyv {
    const cached = this.proxies.get(name);
    if (cached) return cached;
    const target = this.real.namespace(name);
    const proxy = new Proxy(target, {
      get: (obj, prop) => {
        const value: unknown = Reflect.get(obj, prop, obj);
        if (typeof value !== 'function') return value;
        const op = typeof prop === 'string' ? KEYV_OPS[prop] : undefined;
        if (op === undefined) return value.bind(obj);
        return (...args: unknown[]) => {
          const key = typeof args[0] === 'string' ? args[0] : undefined;
          try {
            this.check(op, name, key);
          } catch (error) {
            return Promise.reject(error);
          }
          return (value as (...a: unknown[]) => unknown).apply(obj, args);
        };
      },
    });
    this.proxies.set(name, proxy);
    return proxy;
  }
}

/** A draw that is true with `probability`, from a PRNG seeded with `seed`. */
function drawWith(probability: number, seed: number): () => boolean {
  if (probability >= 1) return () => true;
  const next = seededRandom(seed);
  return () => next() < probability;
}
