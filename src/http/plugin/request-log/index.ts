import type { Logger } from '../../../logger.js';
import type { OperationPlugin } from '../../pipeline/index.js';

export interface RequestLogOptions {
  logger: Logger;
}

/**
 * One `request` line per HTTP request, when it finishes (`method`, `path`, `status`, `ms`, and
 * after a response-cache lookup `cache`), at info — except a response-cache hit, whose line is
 * at debug: the hit is counted in the metrics (`payments_response_cache_requests_total`, the
 * operation count and duration), nothing happened that could need investigating, and the line
 * would be a fifth of the hit's cost (32-35 µs with the logger's field redaction, of ~160 µs of
 * CPU for the whole hit; measured, docs/caching.md). The line is written in the request's
 * async context, so it carries its correlation fields (operation name, trace id) too.
 */
export function requestLogPlugin(options: RequestLogOptions): OperationPlugin {
  const { logger } = options;
  return {
    name: 'request-log',
    onResponse(state, response) {
      const hit = state.cache === 'hit';
      if (hit && !logger.isLevelEnabled('debug')) return;
      const line = {
        requestId: state.requestId,
        method: response.method,
        path: response.path,
        status: response.status,
        ms: Math.round(response.durationMs),
        ...(state.cache !== undefined && { cache: state.cache }),
      };
      if (hit) logger.debug(line, 'request');
      else logger.info(line, 'request');
    },
  };
}
