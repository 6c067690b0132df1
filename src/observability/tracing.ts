import {
  context,
  propagation,
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { VARIABLES } from '../config/variables.js';

export interface TracingOptions {
  /** `service.name` of every span. @default as OTEL_SERVICE_NAME */
  serviceName?: string;
  /**
   * OTLP/HTTP base URL (spans go to `<endpoint>/v1/traces`, JSON). OTEL_EXPORTER_OTLP_ENDPOINT.
   * @default undefined (no exporter: a no-op tracer that still propagates `traceparent`)
   */
  endpoint?: string;
}

let contextManagerInstalled = false;

/**
 * W3C trace context in and out, and spans exported over OTLP when an endpoint is configured.
 *
 * The async-hooks context manager and the W3C propagator are installed globally once (they
 * only carry context); the tracer itself is this object's own, so several apps in one process
 * export to their own collectors. Without an endpoint the tracer is a no-op: no span is
 * recorded or exported, yet the incoming `traceparent` still reaches both upstreams.
 */
export class Tracing {
  readonly tracer: Tracer;
  /** Whether spans are recorded and exported (an endpoint is configured). */
  readonly recording: boolean;
  private readonly provider?: BasicTracerProvider;

  constructor(options: TracingOptions = {}) {
    if (!contextManagerInstalled) {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      contextManagerInstalled = true;
    }
    this.recording = options.endpoint !== undefined;
    if (options.endpoint === undefined) {
      this.tracer = new ProxyTracerProvider().getTracer('payments-subgraph');
      return;
    }
    const exporter = new OTLPTraceExporter({ url: `${options.endpoint}/v1/traces` });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': options.serviceName ?? VARIABLES.OTEL_SERVICE_NAME.default,
      }),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 200 })],
    });
    this.tracer = this.provider.getTracer('payments-subgraph');
  }

  /** The trace context a caller sent (`traceparent`/`tracestate` headers or init payload). */
  extract(carrier: Record<string, unknown> | undefined): Context {
    // Nothing to extract (most requests): what propagation.extract would return, unchanged.
    if (typeof carrier?.traceparent !== 'string') return context.active();
    const headers: Record<string, string> = {};
    for (const key of ['traceparent', 'tracestate']) {
      const value = carrier?.[key];
      if (typeof value === 'string') headers[key] = value;
    }
    return propagation.extract(context.active(), headers);
  }

  /** Sends every finished span now (tests, shutdown). */
  async flush(): Promise<void> {
    await this.provider?.forceFlush();
  }

  async close(): Promise<void> {
    await this.provider?.shutdown();
  }
}

/** The current trace context as headers for an outgoing call (`traceparent`, `tracestate`). */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/**
 * Runs `fn` inside a new active span; ends it with an error status when `fn` throws. The span
 * name and attributes must never carry credentials or phone numbers.
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).name });
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string') span.setAttribute('error.code', code);
      throw error;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };
