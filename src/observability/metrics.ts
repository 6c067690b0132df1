import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type LabelValues,
} from 'prom-client';

export type UpstreamLabel = 'chillr' | 'pbg';
export type UpstreamOutcome =
  'ok' | 'upstream_error' | 'timeout' | 'unavailable' | 'bad_response' | 'outcome_unknown';
export type IdempotencyOutcomeLabel =
  'first' | 'replayed' | 'reused' | 'in_progress' | 'outcome_unknown';
export type ChangePushOutcome = 'stored' | 'repeat' | 'stale' | 'refused';
export type CacheName = 'batch_status' | 'batch_status_recent' | 'purchase_state';
export type SingleFlightResult = 'sent' | 'joined';

/** Read at scrape time: the live state other modules own. */
export interface MetricSources {
  /** Entries waiting in the outbox (src/idempotency/outbox.ts `depth`). */
  outboxDepth?: () => number;
  /** Batch pollers running (src/chillr/batch-watcher.ts `stats()`). */
  batchPollers?: () => number;
  /** Each upstream's breaker state (src/upstream/guard.ts `breakerState`). */
  breakers?: Partial<Record<UpstreamLabel, () => 'closed' | 'open' | 'half-open'>>;
}

export interface MetricsOptions {
  /** Node's default process metrics (CPU, memory, event loop lag, GC). @default true */
  processMetrics?: boolean;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;

/**
 * Every Prometheus metric of the service, on a registry of its own (several apps in one test
 * process never collide). Labels are bounded: upstream, operation (a fixed REST path), outcome
 * and cache come from code; operation and client names pass through a bound first
 * (src/observability/context.ts). No label ever carries a credential, token or phone number.
 */
export class Metrics {
  readonly registry = new Registry();
  private sources: MetricSources = {};

  readonly upstreamDuration = new Histogram({
    name: 'payments_upstream_request_duration_seconds',
    help: 'Upstream REST calls by upstream, operation (API path) and outcome.',
    labelNames: ['upstream', 'operation', 'outcome'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly cacheRequests = new Counter({
    name: 'payments_cache_requests_total',
    help: 'Cross-request cache lookups (batch_status: terminal Chillr statuses; batch_status_recent: non-terminal ones, CHILLR_STATUS_CACHE_MS; purchase_state).',
    labelNames: ['cache', 'result'] as const,
    registers: [this.registry],
  });
  readonly singleFlightRuns = new Counter({
    name: 'payments_upstream_singleflight_total',
    help: 'Upstream reads by whether they sent the call or joined an identical one in flight.',
    labelNames: ['upstream', 'result'] as const,
    registers: [this.registry],
  });
  readonly dataloaderBatchSize = new Histogram({
    name: 'payments_dataloader_batch_size',
    help: 'Keys per DataLoader batch.',
    labelNames: ['loader'] as const,
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000],
    registers: [this.registry],
  });
  readonly graphqlOperations = new Counter({
    name: 'payments_graphql_operations_total',
    help: 'GraphQL operations by name, type and client (apollographql-client-name), bounded.',
    labelNames: ['operation_name', 'operation_type', 'client_name'] as const,
    registers: [this.registry],
  });
  readonly graphqlDuration = new Histogram({
    name: 'payments_graphql_operation_duration_seconds',
    help: 'GraphQL operation duration (queries and mutations, either transport), by name, type and client.',
    labelNames: ['operation_name', 'operation_type', 'client_name'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly subscriptionsActive = new Gauge({
    name: 'payments_subscriptions_active',
    help: 'Live subscriptions by root field.',
    labelNames: ['subscription'] as const,
    registers: [this.registry],
  });
  readonly subscriptionExecutions = new Counter({
    name: 'payments_subscription_executions_total',
    help: 'Executions of a subscription selection: one per event per distinct shared stream.',
    labelNames: ['subscription'] as const,
    registers: [this.registry],
  });
  readonly subscriptionDeliveries = new Counter({
    name: 'payments_subscription_deliveries_total',
    help: 'Subscription events written to WebSockets (one per subscriber per event).',
    labelNames: ['subscription'] as const,
    registers: [this.registry],
  });
  readonly subscriptionStreams = new Gauge({
    name: 'payments_subscription_streams_active',
    help: 'Shared subscription streams running (one per distinct document + variables).',
    labelNames: ['subscription'] as const,
    registers: [this.registry],
  });
  readonly slowConsumers = new Counter({
    name: 'payments_ws_slow_consumers_total',
    help: 'WebSockets closed for holding more than WS_MAX_BUFFERED_BYTES unsent bytes.',
    registers: [this.registry],
  });
  readonly changePushEvents = new Counter({
    name: 'payments_change_push_events_total',
    help: 'PayByGroup change-push events by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly reconciliationChanges = new Counter({
    name: 'payments_reconciliation_changes_total',
    help: 'Changes found by reconciliation that no change push delivered.',
    registers: [this.registry],
  });
  readonly idempotency = new Counter({
    name: 'payments_idempotency_total',
    help: 'Idempotent mutations by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(options: MetricsOptions = {}) {
    const sources = () => this.sources;
    new Gauge({
      name: 'payments_batch_pollers_active',
      help: 'collectBatchUpdated pollers running in this process.',
      registers: [this.registry],
      collect() {
        this.set(sources().batchPollers?.() ?? 0);
      },
    });
    new Gauge({
      name: 'payments_outbox_depth',
      help: 'Store writes waiting in the outbox (not yet durable).',
      registers: [this.registry],
      collect() {
        this.set(sources().outboxDepth?.() ?? 0);
      },
    });
    new Gauge({
      name: 'payments_upstream_breaker_state',
      help: 'Circuit breaker per upstream: 1 for the current state, 0 for the others.',
      labelNames: ['upstream', 'state'] as const,
      registers: [this.registry],
      collect() {
        for (const [upstream, read] of Object.entries(sources().breakers ?? {})) {
          const now = read();
          for (const state of BREAKER_STATES) this.set({ upstream, state }, now === state ? 1 : 0);
        }
      },
    });
    for (const outcome of ['stored', 'repeat', 'stale', 'refused'] as const) {
      this.changePushEvents.inc({ outcome }, 0);
    }
    this.reconciliationChanges.inc(0);
    for (const upstream of ['chillr', 'pbg'] as const) {
      for (const result of ['sent', 'joined'] as const)
        this.singleFlightRuns.inc({ upstream, result }, 0);
    }
    this.slowConsumers.inc(0);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Where the scrape-time gauges read from; called once the modules exist. */
  observe(sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  upstreamCall(upstream: UpstreamLabel, operation: string, outcome: UpstreamOutcome, s: number) {
    this.upstreamDuration.observe({ upstream, operation, outcome }, s);
  }

  cache(cache: CacheName, hit: boolean): void {
    this.cacheRequests.inc({ cache, result: hit ? 'hit' : 'miss' });
  }

  /** One read through src/upstream/single-flight.ts: it sent the call, or shared one in flight. */
  singleFlight(upstream: UpstreamLabel, result: SingleFlightResult): void {
    this.singleFlightRuns.inc({ upstream, result });
  }

  idempotencyOutcome(outcome: IdempotencyOutcomeLabel): void {
    this.idempotency.inc({ outcome });
  }

  /** One change-push event's fate (the change-push receiver calls this per event). */
  changePush(outcome: ChangePushOutcome, count = 1): void {
    this.changePushEvents.inc({ outcome }, count);
  }

  /** Changes reconciliation found that pushes missed. */
  reconciliationFound(count = 1): void {
    this.reconciliationChanges.inc(count);
  }

  subscription(labels: LabelValues<'subscription'>, delta: 1 | -1): void {
    this.subscriptionsActive.inc(labels, delta);
  }

  /** One execution of a shared subscription stream, written to `deliveries` sockets. */
  subscriptionResult(labels: LabelValues<'subscription'>, deliveries: number): void {
    this.subscriptionExecutions.inc(labels);
    this.subscriptionDeliveries.inc(labels, deliveries);
  }

  subscriptionStream(labels: LabelValues<'subscription'>, delta: 1 | -1): void {
    this.subscriptionStreams.inc(labels, delta);
  }

  slowConsumerDropped(): void {
    this.slowConsumers.inc();
  }

  /** The text exposition format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** `Chillr` → `chillr`, `PayByGroup` → `pbg` (the names src/upstream/http.ts is given). */
export function upstreamLabel(name: string): UpstreamLabel {
  return /chillr/i.test(name) ? 'chillr' : 'pbg';
}
