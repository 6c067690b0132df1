import type http from 'node:http';
import express, { type Router } from 'express';
import { createPipeline, type OperationPlugin } from '../pipeline/index.js';
import { httpAdapter } from '../pipeline/http.js';
import { requestIdPlugin } from '../plugin/request-id/index.js';
import { bodyIdleTimeout } from '../slow-clients.js';
import { VARIABLES } from '../../config/variables.js';

export interface CallbackAppOptions {
  /** The listener (from listenStartingUp) that serves nothing but the callbacks. */
  server: http.Server;
  /** The PayByGroup routes, mounted at /pbg. */
  pbg: Router;
  /** Express `trust proxy`, so the allow-list reads the address through trusted proxies only. */
  trustProxy: boolean | number | string[];
  /**
   * Pipeline plugins after the request id, for their request start and request wrap (the
   * observability plugin's log scope). @default none
   */
  plugins?: readonly OperationPlugin[];
  /** A body with no byte for this long is cut off @default as HTTP_BODY_IDLE_TIMEOUT_MS */
  bodyIdleTimeoutMs?: number;
}

/**
 * The PayByGroup callbacks on their own port (CALLBACK_PORT): PayByGroup must reach them from
 * the internet, while /graphql should only face the router. This listener serves /pbg and
 * nothing else — no graph, no health endpoints.
 */
export function serveCallbacks(options: CallbackAppOptions): void {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy);
  app.use(
    bodyIdleTimeout(options.bodyIdleTimeoutMs ?? VARIABLES.HTTP_BODY_IDLE_TIMEOUT_MS.default),
  );
  // The same request-id plugin as the graph's pipeline (and the log scope); the callbacks need
  // nothing else of it.
  const plugins = [requestIdPlugin(), ...(options.plugins ?? [])];
  app.use(httpAdapter(createPipeline(plugins)).requestStart);
  app.use('/pbg', options.pbg);
  app.use((req, res) => {
    res.status(404).json({
      result: false,
      error: `This port serves only the PayByGroup callbacks under /pbg; no route for ${req.method} ${req.path}.`,
    });
  });
  options.server.removeAllListeners('request');
  options.server.on('request', app);
}
