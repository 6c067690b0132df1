import http from 'node:http';
import { serverTimeouts, type SlowClientTimeouts } from './slow-clients.js';

export interface Listening {
  server: http.Server;
  port: number;
  /** e.g. http://127.0.0.1:4000 */
  url: string;
  close(): Promise<void>;
}

/**
 * Binds a port at once and answers 503 "starting up" until the real handler replaces it
 * (`server.removeAllListeners('request')`, then `server.on('request', app)`): the PayByGroup
 * sandbox must know this service's real addresses (port 0 in tests) before the app exists.
 * `timeouts` cut off clients that send their request too slowly (src/http/slow-clients.ts).
 */
export async function listenStartingUp(
  port: number,
  host: string,
  timeouts?: SlowClientTimeouts,
): Promise<Listening> {
  const server = http.createServer(serverTimeouts(timeouts), (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end(JSON.stringify({ error: 'Starting up; retry shortly.' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
