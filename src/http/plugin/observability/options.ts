import type { Logger } from '../../../logger.js';
import type { Telemetry } from '../../../observability/index.js';

/** Metrics, trace context and log correlation for /graphql and graphql-ws. */
export interface ObservabilityOptions {
  telemetry: Telemetry;
  logger: Logger;
  /**
   * Distinct operation names kept as `operation_name` label values; past it, new names count
   * as `other`. Names that are not plain identifiers are `other` too.
   * @default 100
   */
  maxOperationNames?: number;
  /**
   * Distinct `apollographql-client-name` values kept as `client_name`; past it, `other`.
   * A request without the header counts as `unknown`.
   * @default 20
   */
  maxClientNames?: number;
}
