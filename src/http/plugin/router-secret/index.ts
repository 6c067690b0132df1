import { secretMatcher } from '../../../constant-time.js';
import type { Logger } from '../../../logger.js';
import type { OperationPlugin } from '../../pipeline/index.js';

export interface RouterSecretOptions {
  /** The shared secret (ROUTER_SECRET). No default: without one, the plugin is not listed. */
  secret: string;
  /**
   * Where the router sends it: an HTTP header, and over a WebSocket either the upgrade
   * request's header or the `connection_init` payload field of the same name
   * (ROUTER_SECRET_HEADER; its default is in src/config/). No default here.
   */
  header: string;
  /** Where a refused caller is logged (never with what it sent). */
  logger: Logger;
}

/**
 * Only the router gets in: over HTTP a /graphql request without the shared secret is answered
 * 401 before its body is read; over a WebSocket the connection is closed with 4403 at
 * `connection_init`. Either way nothing the caller sent is parsed, validated or executed. The
 * comparison is constant-time (src/constant-time.ts).
 */
export function routerSecretPlugin(options: RouterSecretOptions): OperationPlugin {
  const matches = secretMatcher(options.secret);
  const header = options.header.toLowerCase();
  return {
    name: 'router-secret',
    onAdmit(caller, state) {
      if (matches(caller.headers[header]) || matches(caller.connectionParams?.[options.header])) {
        return undefined;
      }
      const http = caller.transport === 'http';
      options.logger.warn(
        { ...(state && { requestId: state.requestId }), ip: caller.ip, header: options.header },
        http
          ? 'request without the router secret refused'
          : 'WebSocket without the router secret refused',
      );
      return {
        status: 401,
        code: 'UNAUTHENTICATED',
        message: `Only the router may call this service: the ${options.header} header is missing or wrong.`,
      };
    },
  };
}
