import type http from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
} from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Registry } from 'prom-client';
import {
  defaultFieldResolver,
  Kind,
  type DocumentNode,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import {
  BoundedLabels,
  currentScope,
  runInScope,
  type RequestScope,
} from '../../../observability/context.js';
import type { ObservabilityOptions } from './options.js';

export type { ObservabilityOptions } from './options.js';

const CLIENT_HEADER = 'apollographql-client-name';

/** The operation span of a request, kept beside its log scope. */
const spans = new WeakMap<RequestScope, { span: Span; started: number }>();

export interface Observability {
  /** First middleware of the app: the request's log scope (request id, client name). */
  scope: RequestHandler;
  /** After a body parser (which loses the async context): the same scope again. */
  reenter: RequestHandler;
  /**
   * On /graphql after the body parser (which loses the async context): re-enters the scope
   * and opens the operation span under the caller's `traceparent`.
   */
  graphql: RequestHandler;
  /** Operation name into logs and span; operation count and duration into metrics. */
  plugin: ApolloServerPlugin;
  /**
   * What `plugin` does, for a /graphql request answered without Apollo Server (the response
   * cache): the operation counted and timed, its name in the log scope and on the span.
   */
  servedFromCache(res: Response, operation: { name: string | null; type: string }): void;
  /** GET /metrics. */
  metrics: RequestHandler;
  /** The registry /metrics serves, for plugins that register their own (the response cache). */
  registry: Registry;
  /** graphql-ws hooks: live subscription gauge, info lines, trace context from init/upgrade. */
  ws: WsObservability;
  /** Wraps every root field (Query, Mutation, `_entities`) in a resolver span. */
  traceResolvers(schema: GraphQLSchema): void;
}

export interface WsOperationScope {
  requestId: string;
  run<T>(fn: () => T): T;
}

export interface WsObservability {
  /**
   * The scope and trace context one operation runs in, under the request id the pipeline gave
   * it (the request-id plugin), and a runner to call each stage within.
   */
  begin(
    connectionParams: unknown,
    request: Pick<http.IncomingMessage, 'headers'> | undefined,
    requestId: string,
  ): WsOperationScope;
  started(socket: object, id: string, document: DocumentNode, operationName?: string | null): void;
  stopped(socket: object, id: string): void;
  /** The socket closed: whatever it still held stops. */
  closed(socket: object): void;
  /** A shared stream of `subscription` executed once for an event and wrote it to `deliveries`. */
  streamResult(subscription: string, deliveries: number): void;
  /** A shared stream started (+1) or ended (-1). */
  stream(subscription: string, delta: 1 | -1): void;
  /** A socket was closed for not reading its messages (over WS_MAX_BUFFERED_BYTES). */
  slowConsumer(): void;
}

export function createObservability(options: ObservabilityOptions): Observability {
  const { telemetry } = options;
  const operationNames = new BoundedLabels(options.maxOperationNames ?? 100, 'anonymous');
  const clientNames = new BoundedLabels(options.maxClientNames ?? 20, 'unknown');
  const clientOf = (value: unknown) => clientNames.of(typeof value === 'string' ? value : '');
  return {
    scope(req, res, next) {
      const scope: RequestScope = {
        requestId: req.id,
        clientName: clientOf(req.get(CLIENT_HEADER)),
      };
      res.locals.scope = scope;
      runInScope(scope, next);
    },
    reenter(req, res, next) {
      runInScope((res.locals.scope as RequestScope | undefined) ?? { requestId: req.id }, next);
    },
    graphql: graphqlMiddleware(options),
    plugin: operationPlugin(options, operationNames),
    servedFromCache: servedFromCache(options, operationNames),
    async metrics(_req, res) {
      const { contentType, body } = await telemetry.metrics.render();
      res.setHeader('content-type', contentType);
      res.end(body);
    },
    registry: telemetry.metrics.registry,
    ws: wsObservability(options, operationNames, clientOf),
    traceResolvers: (schema) => traceResolvers(schema, options),
  };
}

function graphqlMiddleware(options: ObservabilityOptions): RequestHandler {
  const { tracing } = options.telemetry;
  return (req: Request, res: Response, next: NextFunction) => {
    const scope = (res.locals.scope as RequestScope | undefined) ?? { requestId: req.id };
    const parent = tracing.extract(req.headers);
    const span = tracing.tracer.startSpan('graphql.operation', { kind: SpanKind.SERVER }, parent);
    span.setAttribute('payments.request_id', scope.requestId);
    spans.set(scope, { span, started: performance.now() });
    res.on('close', () => span.end());
    runInScope(scope, () => otelContext.with(trace.setSpan(parent, span), next));
  };
}

/** The operation plugin's bookkeeping for a request Apollo Server never saw. */
function servedFromCache(
  options: ObservabilityOptions,
  operationNames: BoundedLabels,
): Observability['servedFromCache'] {
  const { metrics } = options.telemetry;
  return (res, operation) => {
    const scope = res.locals.scope as RequestScope | undefined;
    const labels = {
      operation_name: operationNames.of(operation.name),
      operation_type: operation.type,
      client_name: scope?.clientName ?? 'unknown',
    };
    if (scope) scope.operationName = labels.operation_name;
    const entry = scope && spans.get(scope);
    entry?.span.updateName(`${operation.type} ${labels.operation_name}`);
    entry?.span.setAttribute('payments.response_cache', 'hit');
    metrics.graphqlOperations.inc(labels);
    if (entry) metrics.graphqlDuration.observe(labels, (performance.now() - entry.started) / 1000);
  };
}

function operationPlugin(
  options: ObservabilityOptions,
  operationNames: BoundedLabels,
): ApolloServerPlugin {
  const { metrics } = options.telemetry;
  return {
    async requestDidStart() {
      const scope = currentScope();
      let labels = {
        operation_name: 'anonymous',
        operation_type: 'unknown',
        client_name: 'unknown',
      };
      return {
        async didResolveOperation({ operationName, operation }) {
          if (!operation) return;
          labels = {
            operation_name: operationNames.of(operationName),
            operation_type: operation.operation,
            client_name: scope?.clientName ?? 'unknown',
          };
          if (scope) scope.operationName = labels.operation_name;
          const entry = scope && spans.get(scope);
          entry?.span.updateName(`${operation.operation} ${labels.operation_name}`);
          entry?.span.setAttribute('graphql.operation.name', labels.operation_name);
          entry?.span.setAttribute('graphql.operation.type', operation.operation);
        },
        async willSendResponse({ response, errors }) {
          const entry = scope && spans.get(scope);
          const failed =
            (errors?.length ?? 0) > 0 ||
            (response.body.kind === 'single' &&
              (response.body.singleResult.errors?.length ?? 0) > 0);
          if (failed) entry?.span.setStatus({ code: SpanStatusCode.ERROR });
          metrics.graphqlOperations.inc(labels);
          if (entry) {
            metrics.graphqlDuration.observe(labels, (performance.now() - entry.started) / 1000);
          }
        },
      };
    },
  };
}

function wsObservability(
  options: ObservabilityOptions,
  operationNames: BoundedLabels,
  clientOf: (value: unknown) => string,
): WsObservability {
  const { metrics, tracing } = options.telemetry;
  const live = new WeakMap<object, Map<string, string>>();
  const stop = (socket: object, id: string, reason: string) => {
    const held = live.get(socket);
    const subscription = held?.get(id);
    if (subscription === undefined) return;
    held!.delete(id);
    metrics.subscription({ subscription }, -1);
    options.logger.info(
      { subscription, id, reason, active: activeOf(held!) },
      'subscription stopped',
    );
  };
  return {
    begin(params, request, requestId) {
      const init = (params ?? {}) as Record<string, unknown>;
      const carrier = { ...(request?.headers ?? {}), ...init };
      const scope: RequestScope = {
        requestId,
        clientName: clientOf(request?.headers[CLIENT_HEADER] ?? init[CLIENT_HEADER]),
      };
      const trace = tracing.extract(carrier);
      return {
        requestId: scope.requestId,
        run: (fn) => runInScope(scope, () => otelContext.with(trace, fn)),
      };
    },
    started(socket, id, document, operationName) {
      const op = document.definitions.find(
        (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
      );
      const first = op?.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
      const subscription = first?.kind === Kind.FIELD ? first.name.value : 'unknown';
      const held = live.get(socket) ?? new Map<string, string>();
      live.set(socket, held);
      held.set(id, subscription);
      const name = operationNames.of(operationName ?? op?.name?.value);
      const scope = currentScope();
      if (scope) scope.operationName = name;
      metrics.subscription({ subscription }, 1);
      metrics.graphqlOperations.inc({
        operation_name: name,
        operation_type: op?.operation ?? 'subscription',
        client_name: scope?.clientName ?? 'unknown',
      });
      options.logger.info({ subscription, id, active: activeOf(held) }, 'subscription started');
    },
    stopped: (socket, id) => stop(socket, id, 'complete'),
    closed(socket) {
      for (const id of [...(live.get(socket)?.keys() ?? [])]) stop(socket, id, 'socket closed');
    },
    streamResult: (subscription, deliveries) =>
      metrics.subscriptionResult({ subscription }, deliveries),
    stream: (subscription, delta) => metrics.subscriptionStream({ subscription }, delta),
    slowConsumer: () => metrics.slowConsumerDropped(),
  };
}

/** Subscriptions a socket holds. */
function activeOf(held: Map<string, string>): number {
  return held.size;
}

/**
 * Wraps each root field's resolver in a span — only when spans are recorded. Without an
 * exporter the no-op tracer's span is a non-recording copy of the operation's context: the
 * same trace id in log lines and the same `traceparent` to the upstreams as without it, so
 * the wrapper would only cost (an async context frame per root field: twenty for a query of
 * twenty aliases).
 */
function traceResolvers(schema: GraphQLSchema, options: ObservabilityOptions): void {
  if (!options.telemetry.tracing.recording) return;
  const { tracer } = options.telemetry.tracing;
  for (const root of [schema.getQueryType(), schema.getMutationType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      if (field.name.startsWith('__') || field.name === '_service') continue;
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve ?? defaultFieldResolver;
      const name = `resolve ${root.name}.${field.name}`;
      field.resolve = (source, args, ctx, info) =>
        tracer.startActiveSpan(name, (span) => {
          span.setAttribute('graphql.field.path', `${root.name}.${field.name}`);
          try {
            const result = resolve(source, args, ctx, info);
            if (result instanceof Promise) {
              return result.then(
                (value) => (span.end(), value),
                (error: unknown) => {
                  span.setStatus({ code: SpanStatusCode.ERROR });
                  span.end();
                  throw error;
                },
              );
            }
            span.end();
            return result;
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.end();
            throw error;
          }
        });
    }
  }
}
