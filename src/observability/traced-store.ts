import { SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { Store } from '../store/index.js';

const KEYV_METHODS = new Set(['get', 'getMany', 'set', 'setMany', 'delete', 'deleteMany', 'has']);

/**
 * The store with a span around every call (`store <method> <namespace>`, `store state log
 * <method>`); keys and values stay out of the span. Used only when spans are exported, so an
 * untraced service pays nothing.
 */
export function tracedStore(store: Store, tracer: Tracer): Store {
  const namespaces = new Map<string, unknown>();
  const stateLog = traced(store.stateLog, 'store state log', tracer, (name) => name !== 'isCursor');
  return {
    namespace<T>(name: string) {
      const keyv = store.namespace<T>(name);
      if (!namespaces.has(name)) {
        namespaces.set(
          name,
          traced(keyv, `store ${name}`, tracer, (method) => KEYV_METHODS.has(method)),
        );
      }
      return namespaces.get(name) as typeof keyv;
    },
    setIfAbsent: (ns, key, value, ttlMs) =>
      spanned(tracer, `store ${ns} setIfAbsent`, () => store.setIfAbsent(ns, key, value, ttlMs)),
    stateLog,
    writeTogether: (writes) =>
      spanned(tracer, 'store writeTogether', () => store.writeTogether(writes)),
    durability: () => store.durability(),
    ping: () => store.ping(),
    get description() {
      return store.description;
    },
    close: () => store.close(),
  };
}

/** A proxy whose chosen methods each run inside a span named `<prefix> <method>`. */
function traced<K extends object>(
  target: K,
  prefix: string,
  tracer: Tracer,
  wanted: (method: string) => boolean,
): K {
  return new Proxy(target, {
    get(object, prop, receiver) {
      const value = Reflect.get(object, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof value !== 'function' || !wanted(prop)) return value;
      return (...args: unknown[]) =>
        spanned(tracer, `${prefix} ${prop}`, () =>
          (value as (...a: unknown[]) => Promise<unknown>).apply(object, args),
        );
    },
  });
}

async function spanned<T>(tracer: Tracer, name: string, call: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name);
  try {
    return await call();
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).name });
    throw error;
  } finally {
    span.end();
  }
}
