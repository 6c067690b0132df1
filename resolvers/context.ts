import type { Logger } from '../src/logger.js';
import type { Metrics } from '../src/observability/metrics.js';
import type { Services } from '../src/services.js';
import { createLoaders, type Loaders } from './loaders.js';

/**
 * What every resolver receives. Built fresh for each operation — but identical graphql-ws
 * subscriptions share one execution, and so one context (src/http/ws-fanout.ts). Nothing here
 * may depend on the caller unless `visibilityKey` in src/compose/graph.ts says so too.
 */
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
  // The child logger is made when first asked for: most operations log nothing of their own,
  // and a pino child per request (its bindings serialised up front) was measurable on the
  // pending batch read (README "Reads and caching"). Lines inside a request carry its
  // requestId from the log scope either way.
  let child: Logger | undefined;
  return {
    services,
    loaders: createLoaders(services, metrics),
    requestId,
    get logger() {
      return (child ??= logger.child({ requestId }));
    },
  };
}
