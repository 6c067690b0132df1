import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayRuntime, getGraphQLWSOptions } from '@graphql-hive/gateway';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';

export interface HiveGatewayOptions {
  /** The composed supergraph SDL (from @apollo/composition). */
  supergraphSdl: string;
  /** Subgraphs whose subscriptions go over graphql-ws on their own `/graphql` path. */
  wsSubgraphs: string[];
  /**
   * The router secret those subgraphs require (ROUTER_SECRET): sent as a header on HTTP and
   * in `connection_init` on graphql-ws.
   * @default undefined (none sent)
   */
  routerSecret?: { header: string; secret: string };
  /**
   * Browser origins allowed by CORS (GATEWAY_CORS_ORIGINS); others get no CORS grant, and
   * their WebSocket upgrades are refused.
   * @default the gateway's own local origins: http://localhost:PORT and http://127.0.0.1:PORT
   */
  corsOrigins?: string[];
  port: number;
  host: string;
  logger: Logger;
}

/**
 * Headers a request with a simple content type (form, multipart, text/plain) or none (GET)
 * must carry: a browser can send those cross-site without a CORS preflight, and a header
 * cannot be added without one. The names Apollo's router and Apollo Server accept.
 */
export const CSRF_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight'];

export interface RunningGateway {
  /** e.g. http://127.0.0.1:4100/graphql */
  url: string;
  close(): Promise<void>;
}

/** A Fetch API Request for a WebSocket upgrade, so header propagation works over graphql-ws too. */
function upgradeRequest(req: http.IncomingMessage, RequestImpl: typeof Request): Request {
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.push([name, value]);
  }
  return new RequestImpl(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/graphql'}`, {
    headers,
  });
}

/**
 * Hive Gateway (the JS runtime, as `hive-gateway supergraph` would run it) serving a supergraph
 * on `/graphql`: queries and mutations over HTTP, subscriptions offered to clients over
 * graphql-ws (same path) and SSE (`Accept: text/event-stream`), and passed to the subgraphs in
 * `wsSubgraphs` over graphql-ws — without that transport entry the gateway would send them over
 * HTTP, which Apollo Server's CSRF prevention refuses. The client's `Authorization` header is
 * propagated to every subgraph. CSRF prevention and an explicit CORS allow-list are on, so the
 * gateway is safe to copy (docs/security.md).
 */
export async function startHiveGateway(options: HiveGatewayOptions): Promise<RunningGateway> {
  const secret = options.routerSecret;
  let boundPort = options.port;
  const origins = () =>
    options.corsOrigins ?? [`http://localhost:${boundPort}`, `http://127.0.0.1:${boundPort}`];
  const gateway = createGatewayRuntime({
    // Without these the gateway ran a mutation from a cross-site form POST, and its CORS
    // reflected any origin with credentials (the runtime's defaults).
    csrfPrevention: { requestHeaders: CSRF_HEADERS },
    cors: () => ({ origin: origins(), credentials: false }),
    supergraph: () => options.supergraphSdl,
    transportEntries: Object.fromEntries(
      options.wsSubgraphs.map((name) => [
        name,
        {
          ...(secret && { headers: [[secret.header, secret.secret]] }),
          options: {
            subscriptions: {
              kind: 'ws',
              location: '/graphql',
              ...(secret && { options: { connectionParams: { [secret.header]: secret.secret } } }),
            },
          },
        },
      ]),
    ),
    propagateHeaders: {
      fromClientToSubgraphs: ({ request, subgraphName }) => ({
        authorization: request.headers.get('authorization') ?? undefined,
        ...(secret &&
          options.wsSubgraphs.includes(subgraphName) && { [secret.header]: secret.secret }),
      }),
    },
    logging: 'warn',
  });
  // The gateway's request listener answers its own failures (a 500) and logs what fails while
  // sending, so the promise it returns never rejects and nothing awaits it.
  const server = http.createServer((req, res) => void gateway(req, res));
  const wsServer = new WebSocketServer({
    server,
    path: gateway.graphqlEndpoint,
    // CORS does not cover WebSockets: a browser upgrade from another site carries its Origin.
    verifyClient: ({ origin }: { origin?: string }) => !origin || origins().includes(origin),
  });
  const ws = useServer(
    getGraphQLWSOptions<Record<string, unknown>, { request: http.IncomingMessage }>(
      gateway,
      (ctx) => ({
        req: ctx.extra.request,
        request: upgradeRequest(ctx.extra.request, gateway.fetchAPI.Request),
      }),
    ),
    wsServer,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  boundPort = port;
  const host = options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}${gateway.graphqlEndpoint}`,
    close: () =>
      (closing ??= (async () => {
        await ws.dispose();
        await new Promise<void>((resolve) => wsServer.close(() => resolve()));
        server.closeIdleConnections();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await gateway.dispose();
        options.logger.debug('hive gateway stopped');
      })()),
  };
}
