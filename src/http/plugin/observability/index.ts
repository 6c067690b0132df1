import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { Kind, type OperationDefinitionNode } from 'graphql';
import { BoundedLabels, runInScope, type RequestScope } from '../../../observability/context.js';
import type { Metrics } from '../../../observability/metrics.js';
import type {
  Caller,
  OperationEnd,
  OperationPlugin,
  RequestState,
  ValidatedOperation,
} from '../../pipeline/index.js';
import type { ObservabilityOptions } from './options.js';
import { traceResolvers } from './resolvers.js';

export type { ObservabilityOptions } from './options.js';

const CLIENT_HEADER = 'apollographql-client-name';

/** Where the plugin keeps its per-request data on the request's state. */
const SLOT = Symbol('observability');
/** Live subscriptions a connection holds: a count on the connection object itself. */
const ACTIVE = Symbol('observability.active');

type Labels = { operation_name: string; operation_type: string; client_name: string };

/**
 * What the plugin keeps for one request. It is the log scope itself (the AsyncLocalStorage
 * store every log line of the request reads its `requestId`, `operationName` and `clientName`
 * from), so a request costs one object.
 */
interface Slot extends RequestScope {
  clientName: string;
  /** The operation's metric labels, once worked out (bounded names: worked out once). */
  labels?: Labels;
  /** The operation span, opened by the first execute wrap, and the context it is active in. */
  span?: Span;
  context?: Context;
  /** The span's context is the active one already (nothing recorded, nothing extracted). */
  inert?: boolean;
  /** Counted already (a subscription counts when it starts). */
  counted?: boolean;
  /** While a WebSocket subscription is live: its root field, and its connection. */
  subscription?: string;
  connection?: { [ACTIVE]?: number };
  /** Results sent for this operation (each subscription event). */
  results: number;
}

const slotOf = (state: RequestState) => state[SLOT] as Slot | undefined;

/**
 * Observability of the graph endpoint, one plugin for both transports (docs/architecture.md,
 * "The operation pipeline"):
 *
 * - the log scope: every log line of a request carries its `requestId`, its operation's name
 *   and its bounded `clientName` (request start, then the request wrap: one AsyncLocalStorage);
 * - one OpenTelemetry span per operation, `<type> <name>`, under the caller's trace context
 *   (`traceparent` from the headers, or over a WebSocket from `connection_init` first), active
 *   while the operation executes (the execute wrap), so the upstreams get the trace; failed
 *   when the operation ended `error`; resolver spans under it when spans are exported;
 * - `payments_graphql_operations_total` once per operation (at its end; a subscription when it
 *   starts, its end can be hours away) and `payments_graphql_operation_duration_seconds` at
 *   its end (not for subscriptions: a lifetime is no latency);
 * - live WebSocket subscriptions: `payments_subscriptions_active` and the
 *   `subscription started` / `subscription stopped` info lines, with the socket's count.
 *
 * List it last: its request start needs the request id, and its execute hook then sees only
 * operations every other plugin let through (a refused one still counts, at its end).
 */
export function observabilityPlugin(options: ObservabilityOptions): OperationPlugin {
  const { metrics, tracing } = options.telemetry;
  const operationNames = new BoundedLabels(options.maxOperationNames ?? 100, 'anonymous');
  const clientNames = new BoundedLabels(options.maxClientNames ?? 20, 'unknown');
  const labelsOf = (state: RequestState, slot: Slot): Labels =>
    (slot.labels ??= {
      operation_name: operationNames.of(state.operation?.name),
      operation_type: state.operation?.type ?? 'unknown',
      client_name: slot.clientName,
    });
  const live = liveSubscriptions(metrics, options.logger);
  return {
    name: 'observability',
    onSchema(schema) {
      if (tracing.recording) traceResolvers(schema, tracing.tracer);
    },
    onRequestStart(caller, state) {
      const slot: Slot = {
        requestId: state.requestId,
        clientName: clientNames.of(clientNameOf(caller)),
        results: 0,
      };
      state[SLOT] = slot;
    },
    wrapRequest(state, next) {
      const slot = slotOf(state);
      return slot ? runInScope(slot, next) : next();
    },
    wrapExecute(state, next) {
      const slot = slotOf(state);
      if (!slot) return next();
      if (slot.context === undefined) {
        openSpan(tracing, state, slot);
        if (state.operation) nameSpan(slot.span!, labelsOf(state, slot));
      }
      return slot.inert ? next() : otelContext.with(slot.context!, next);
    },
    onExecute(operation) {
      const { state } = operation;
      const slot = slotOf(state);
      if (!slot) return undefined;
      const labels = labelsOf(state, slot);
      slot.operationName = labels.operation_name;
      if (slot.span) nameSpan(slot.span, labels);
      if (labels.operation_type === 'subscription' && state.caller.transport === 'ws') {
        metrics.graphqlOperations.inc(labels);
        slot.counted = true;
        live.started(slot, operation);
      }
      return undefined;
    },
    onResult(state) {
      const slot = slotOf(state);
      if (slot) slot.results += 1;
    },
    onEnd(state, end) {
      const slot = slotOf(state);
      if (!slot) return;
      const labels = labelsOf(state, slot);
      slot.operationName ??= labels.operation_name;
      if (!slot.counted) metrics.graphqlOperations.inc(labels);
      if (labels.operation_type !== 'subscription') {
        metrics.graphqlDuration.observe(labels, end.durationMs / 1000);
      }
      if (slot.span) endSpan(slot.span, state, labels, end);
      if (slot.subscription !== undefined) live.stopped(slot, state, end);
    },
  };
}

/**
 * The operation span under the caller's trace context, and the context it is active in. Not
 * recording, the span is a non-recording copy of the parent's trace context (or an invalid one
 * without it): the parent itself propagates and logs the same trace. With nothing extracted the
 * parent is the active context, and entering it again would only cost an async context frame
 * per request (about 1 % of the pending batch read): `inert` says so.
 */
function openSpan(
  tracing: ObservabilityOptions['telemetry']['tracing'],
  state: RequestState,
  slot: Slot,
): void {
  const parent = tracing.extract(carrierOf(state.caller));
  const span = tracing.tracer.startSpan('graphql.operation', { kind: SpanKind.SERVER }, parent);
  span.setAttribute('payments.request_id', state.requestId);
  slot.span = span;
  slot.context = tracing.recording ? trace.setSpan(parent, span) : parent;
  slot.inert = !tracing.recording && parent === otelContext.active();
}

/** GET /metrics: the registry in Prometheus's text format. */
export function metricsRoute(metrics: Metrics): RequestHandler {
  return async (_req, res) => {
    const { contentType, body } = await metrics.render();
    res.setHeader('content-type', contentType);
    res.end(body);
  };
}

/** `apollographql-client-name`: the header, or over a WebSocket the `connection_init` field. */
function clientNameOf(caller: Caller): string {
  const value = caller.headers[CLIENT_HEADER] ?? caller.connectionParams?.[CLIENT_HEADER];
  return typeof value === 'string' ? value : '';
}

/** Where the caller's trace context is: `connection_init` when it has one, else the headers. */
function carrierOf(caller: Caller): Record<string, unknown> {
  const params = caller.connectionParams;
  return params && typeof params.traceparent === 'string' ? params : caller.headers;
}

function nameSpan(span: Span, labels: Labels): void {
  span.updateName(`${labels.operation_type} ${labels.operation_name}`);
  span.setAttribute('graphql.operation.name', labels.operation_name);
  span.setAttribute('graphql.operation.type', labels.operation_type);
}

function endSpan(span: Span, state: RequestState, labels: Labels, end: OperationEnd): void {
  // Named here when no execute hook of this plugin did: refused by an earlier plugin, or
  // answered from the cache.
  if (state.operation) nameSpan(span, labels);
  if (state.cache === 'hit') span.setAttribute('payments.response_cache', 'hit');
  if (end.outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** The live-subscription gauge and the start / stop lines, with the socket's count. */
function liveSubscriptions(metrics: Metrics, logger: ObservabilityOptions['logger']) {
  return {
    started(slot: Slot, operation: ValidatedOperation): void {
      const subscription = rootFieldOf(operation.operation);
      const connection = operation.connection as { [ACTIVE]?: number };
      connection[ACTIVE] = (connection[ACTIVE] ?? 0) + 1;
      slot.subscription = subscription;
      slot.connection = connection;
      metrics.subscription({ subscription }, 1);
      const id = operation.state.operationId;
      logger.info({ subscription, id, active: connection[ACTIVE] }, 'subscription started');
    },
    stopped(slot: Slot, state: RequestState, end: OperationEnd): void {
      const subscription = slot.subscription!;
      slot.subscription = undefined;
      const connection = slot.connection!;
      connection[ACTIVE] = (connection[ACTIVE] ?? 1) - 1;
      metrics.subscription({ subscription }, -1);
      const reason = end.outcome === 'closed' ? 'socket closed' : 'complete';
      logger.info(
        {
          subscription,
          id: state.operationId,
          reason,
          events: slot.results,
          active: connection[ACTIVE],
        },
        'subscription stopped',
      );
    },
  };
}

/** The subscription's root field: its gauge label. */
function rootFieldOf(operation: OperationDefinitionNode | null | undefined): string {
  const first = operation?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  return first?.kind === Kind.FIELD ? first.name.value : 'unknown';
}
