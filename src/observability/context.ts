import { AsyncLocalStorage } from 'node:async_hooks';
import { trace } from '@opentelemetry/api';

/**
 * What every log line written while serving one request or callback carries. The object is
 * shared by reference for the whole request, so later stages (the operation name, known once
 * Apollo has parsed the document) fill it in for every line after them.
 */
export interface RequestScope {
  requestId: string;
  /** The GraphQL operation's name, once known. */
  operationName?: string;
  /** `apollographql-client-name`, bounded (see {@link boundedLabel}). */
  clientName?: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` with `scope` as the current request: log lines inside it carry its fields. */
export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The request being served, if any. */
export function currentScope(): RequestScope | undefined {
  return storage.getStore();
}

/**
 * The correlation fields of the current request and trace, for pino's `mixin`: `requestId`,
 * `traceId`, `operationName`, `clientName` (each only when known).
 */
export function correlationFields(): Record<string, string> {
  const fields: Record<string, string> = {};
  const scope = storage.getStore();
  if (scope) {
    fields.requestId = scope.requestId;
    if (scope.operationName) fields.operationName = scope.operationName;
    if (scope.clientName) fields.clientName = scope.clientName;
  }
  const span = trace.getActiveSpan()?.spanContext();
  if (span && span.traceId !== '00000000000000000000000000000000') fields.traceId = span.traceId;
  return fields;
}

const LABEL = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Bounds a caller-chosen value before it becomes a metric label: anything that is not a short
 * plain name is `other`, and past `max` distinct names every new one is `other` too, so a
 * client sending random operation names cannot grow the series without bound.
 */
export class BoundedLabels {
  private readonly seen = new Set<string>();
  constructor(
    private readonly max: number,
    private readonly fallback: string,
  ) {}

  of(value: string | null | undefined): string {
    if (!value) return this.fallback;
    if (!LABEL.test(value)) return 'other';
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}
