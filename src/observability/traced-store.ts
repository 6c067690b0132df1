import type { Tracer } from '@opentelemetry/api';
import type { Store } from '../store/index.js';
import { inSpan } from './tracing.js';

const TRACED = new Set([
  'get',
  'getMany',
  'set',
  'setMany',
  'delete',
  'deleteMany',
  'has',
  'clear',
]);

/**
 * The store with a span around every call (`store <method> <namespace>`); keys and values
 * stay out of the span. Used only when spans are exported, so an untraced service pays nothing.
 */
export function tracedStore(store: Store, tracer: Tracer): Store {
  const namespaces = new Map<string, unknown>();
  const traced: Store = {
    namespace<T>(name: string) {
      const keyv = store.namespace<T>(name);
      if (!namespaces.has(name)) namespaces.set(name, wrapKeyv(keyv, name, tracer));
      return namespaces.get(name) as typeof keyv;
    },
    setIfAbsent: (ns, key, value, ttlMs) =>
      inSpan(tracer, `store setIfAbsent ${ns}`, { 'db.namespace': ns }, () =>
        store.setIfAbsent(ns, key, value, ttlMs),
      ),
    ping: () => store.ping(),
    get description() {
      return store.description;
    },
    close: () => store.close(),
  };
  return traced;
}

function wrapKeyv<K extends object>(keyv: K, ns: string, tracer: Tracer): K {
  return new Proxy(keyv, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !TRACED.has(prop) || typeof value !== 'function') {
        return value;
      }
      return (...args: unknown[]) =>
        inSpan(tracer, `store ${prop} ${ns}`, { 'db.namespace': ns }, async () =>
          (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
        );
    },
  });
}
