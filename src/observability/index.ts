import type { Metrics } from './metrics.js';
import type { Tracing } from './tracing.js';

/** What the composition root hands to every module that reports: metrics and tracing. */
export interface Telemetry {
  metrics: Metrics;
  tracing: Tracing;
}

export { Metrics } from './metrics.js';
export { Tracing, inSpan, traceHeaders } from './tracing.js';
export { correlationFields, currentScope, runInScope, BoundedLabels } from './context.js';
