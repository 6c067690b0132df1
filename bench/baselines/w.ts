import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveParent } from '../ipc.js';

/**
 * W, the limit of fan-out on this machine: a raw `ws` server that writes one prepared frame to
 * every subscribed socket. It speaks just enough graphql-transport-ws (connection_init →
 * connection_ack, subscribe registers the socket) for the bench's clients to treat it exactly
 * like the project, and it is told to broadcast by an HTTP POST, as the project is told by a
 * change push, so latency is measured from the same kind of moment.
 *
 * The frame is the project's own `next` message for the same subscription, captured by the
 * bench, with the sequence number written into `numPeople`: the same bytes, give or take the
 * digits of the number.
 */

const NUMBER = /"numPeople":\d+/;
/** As the project sends it: graphql-transport-ws messages are text frames. */
const TEXT = { binary: false } as const;

let server: Server | undefined;

async function listen(args: { template: string }): Promise<{ url: string }> {
  if (!NUMBER.test(args.template)) throw new Error('the frame template has no "numPeople"');
  const subscribers = new Set<WebSocket>();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/broadcast') {
        res.writeHead(404).end();
        return;
      }
      const { seq } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq: number };
      const frame = Buffer.from(args.template.replace(NUMBER, `"numPeople":${seq}`));
      for (const socket of subscribers) socket.send(frame, TEXT);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":true}');
    });
  });
  const wss = new WebSocketServer({
    server,
    path: '/graphql',
    handleProtocols: (protocols) =>
      protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false,
  });
  wss.on('connection', (socket) => {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as { type: string };
      if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
      else if (message.type === 'subscribe') subscribers.add(socket);
      else if (message.type === 'complete') subscribers.delete(socket);
      else if (message.type === 'ping') socket.send('{"type":"pong"}');
    });
    socket.on('close', () => subscribers.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server!.once('listening', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * The heap in use after full collections (W runs with `--expose-gc`), as the bench's inspector
 * reads the project's: collected until it stops shrinking.
 */
function memory(): { heapUsedBytes: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('W was started without --expose-gc');
  let used = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < 5; pass++) {
    gc();
    const now = process.memoryUsage().heapUsed;
    if (now >= used * 0.999) break;
    used = now;
  }
  return { heapUsedBytes: process.memoryUsage().heapUsed };
}

serveParent({}, { listen, memory }, () => {
  server?.closeAllConnections();
});
