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
  return new RequestContext(services, requestId, logger, metrics);
}

/**
 * The context, with its DataLoaders and its child logger made when first asked for: most
 * operations use one loader and log nothing of their own, and a pino child per request (its
 * bindings serialised up front) was measurable on the pending batch read (docs/behaviour.md,
 * "Reads and caching"). Lines inside a request carry its requestId from the log scope either way.
 *
 * The lazy parts are getters on the prototype, backed by plain fields: Apollo Server copies
 * the context per operation with `Object.assign` onto an object of the same prototype, which
 * would call getters that were the object's own — and so build everything up front.
 */
class RequestContext implements GraphQLContext {
  private made: Loaders | undefined = undefined;
  private child: Logger | undefined = undefined;

  constructor(
    readonly services: Services,
    readonly requestId: string,
    private readonly parentLogger: Logger,
    private readonly metrics: Metrics | undefined,
  ) {}

  get loaders(): Loaders {
    return (this.made ??= createLoaders(this.services, this.metrics));
  }

  set loaders(loaders: Loaders) {
    this.made = loaders;
  }

  get logger(): Logger {
    return (this.child ??= this.parentLogger.child({ requestId: this.requestId }));
  }
}
