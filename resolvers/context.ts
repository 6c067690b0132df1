import type { Logger } from '../src/logger.js';
import type { Metrics } from '../src/observability/metrics.js';
import type { Services } from '../src/services.js';
import { createLoaders, type Loaders } from './loaders.js';

/** What every resolver receives. Built fresh for each operation. */
export interface GraphQLContext {
  services: Services;
  /** Per-operation DataLoaders: caches never outlive one request. */
  loaders: Loaders;
  requestId: string;
  logger: Logger;
}

export function createContext(
  services: Services,
  requestId: string,
  logger: Logger,
  metrics?: Metrics,
): GraphQLContext {
  return {
    services,
    loaders: createLoaders(services, metrics),
    requestId,
    logger: logger.child({ requestId }),
  };
}
