import { randomUUID } from 'node:crypto';
import type { Store } from '../store/index.js';

export interface StoreReadinessOptions {
  /** How long the probe may take before the service is reported not ready. @default 2000 */
  timeoutMs?: number;
  /** How long the probe's row lives if this instance stops writing it. @default 60000 */
  ttlMs?: number;
}

/**
 * `/readyz`'s check of the store: a ping, and a real write. A ping alone answered "ready"
 * while the SQLite disk was full — every money-moving mutation then failed. The write is one
 * small row per instance in the `readiness` namespace (the same key overwritten each time,
 * expiring after `ttlMs`), through the public Store API like any other write, so a full disk,
 * a read-only file, a lock held elsewhere or an unreachable Redis all fail it, and it passes
 * again as soon as writes do. Probes that arrive while one is running share it, so a store
 * that hangs does not pile up writes.
 */
export function storeReadiness(
  store: Store,
  options: StoreReadinessOptions = {},
): () => Promise<void> {
  const timeoutMs = options.timeoutMs ?? 2000;
  const ttlMs = options.ttlMs ?? 60_000;
  const key = `probe-${randomUUID()}`;
  let running: Promise<void> | undefined;
  const probe = async () => {
    await store.ping();
    try {
      await store.namespace<number>('readiness').set(key, Date.now(), ttlMs);
    } catch (error) {
      throw new Error(`the store cannot write: ${(error as Error).message}`, { cause: error });
    }
  };
  return () => {
    running ??= probe().finally(() => (running = undefined));
    return withTimeout(running, timeoutMs);
  };
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the store did not answer a write within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
