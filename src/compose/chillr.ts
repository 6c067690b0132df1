import { ChillrClient } from '../chillr/client.js';
import { CollectService } from '../chillr/service.js';
import type { Config } from '../config.js';
import { BatchWatcher } from '../chillr/batch-watcher.js';
import type { Idempotency } from '../idempotency/claims.js';
import type { Logger } from '../logger.js';
import type { Telemetry } from '../observability/index.js';
import type { Outbox } from '../idempotency/outbox.js';
import type { Redactor } from '../redact.js';
import type { Store } from '../store/index.js';
import type { UpstreamGuard } from '../upstream/guard.js';
import { SingleFlight } from '../upstream/single-flight.js';
import type { Closers } from './closers.js';

export interface ChillrWiring {
  config: Config;
  baseUrl: string;
  store: Store;
  idempotency: Idempotency;
  outbox: Outbox;
  guard: UpstreamGuard;
  redactor: Redactor;
  telemetry: Telemetry;
  logger: Logger;
  closers: Closers;
}

/** Chillr Mass Collect: its client, the collect service and the shared batch pollers. */
export function wireChillr(w: ChillrWiring): {
  collect: CollectService;
  batchWatcher: BatchWatcher;
} {
  const { config, logger } = w;
  const collect = new CollectService({
    client: new ChillrClient({
      baseUrl: w.baseUrl,
      apiKey: config.chillr.apiKey,
      apiSecretKey: config.chillr.apiSecretKey,
      timeoutMs: config.upstreamTimeoutMs,
      redactor: w.redactor,
      guard: w.guard,
      telemetry: w.telemetry,
      logger: logger.child({ component: 'chillr-client' }),
    }),
    store: w.store,
    idempotency: w.idempotency,
    outbox: w.outbox,
    requireIdempotencyKey: config.requireIdempotencyKey,
    logger,
    metrics: w.telemetry.metrics,
    maxBatchSize: config.chillr.maxBatchSize,
    statusCacheMs: config.chillr.statusCacheMs,
    // One per process, shared by every request and the pollers below (they read through
    // getBatch), so a poll and a request asking at the same moment make one call.
    flights: new SingleFlight({ upstream: 'chillr', metrics: w.telemetry.metrics }),
  });
  const batchWatcher = new BatchWatcher({
    refresh: (id) => collect.getBatch(id),
    intervalMs: config.chillr.pollIntervalMs,
    maxPollers: config.chillr.maxPollers,
    logger: logger.child({ component: 'batch-watcher' }),
  });
  w.closers.add(() => batchWatcher.close());
  return { collect, batchWatcher };
}
