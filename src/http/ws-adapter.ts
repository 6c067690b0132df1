import type http from 'node:http';
import { CloseCode, handleProtocols, type Server } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../logger.js';

/**
 * What a connection keeps of its upgrade request: the headers and the TCP socket (its
 * address). Not the request itself: an idle subscriber held its whole IncomingMessage (raw
 * headers, stream state, listeners; 1 to 2.5 KiB once V8 turned its properties into a
 * dictionary) for nothing read after the upgrade.
 */
export type UpgradeRequest = Pick<http.IncomingMessage, 'headers' | 'socket'>;

/** What every graphql-ws context carries in `extra` on this transport. */
export interface WsExtra {
  socket: WebSocket;
  request: UpgradeRequest;
  /**
   * Queues one message on the socket and returns at once: nothing waits for a client to read.
   * A socket already holding more unsent bytes than its bound is closed instead (slow consumer).
   */
  send(data: string | Buffer): void;
}

export interface WsTransportOptions {
  /** Server ping interval; a client that does not answer within it is cut off. 0 = no pings. */
  keepAliveMs: number;
  /**
   * Unsent bytes one socket may hold when its next message is due; over it the socket is closed
   * with SLOW_CONSUMER_CLOSE_CODE and a reason naming the limit.
   */
  maxBufferedBytes: number;
  logger: Logger;
  /** A socket was closed for holding `buffered` unsent bytes. @default nothing */
  onSlowConsumer?: (buffered: number) => void;
}

/**
 * Close code for a client that does not read fast enough: 1013 "Try Again Later". It is not
 * fatal to graphql-ws clients, so they reconnect, and a `groupPurchaseChanged` client resumes
 * with `after:` its last cursor without losing a change.
 */
export const SLOW_CONSUMER_CLOSE_CODE = 1013;

/**
 * graphql-ws's protocol core (`makeServer`) on a `ws` server: the thin adapter graphql-ws ships
 * as `useServer`, with two differences that matter for fan-out.
 *
 * - `send` never waits for the socket. The core awaits each send, and graphql-ws's own adapter
 *   resolves it only once the bytes reached the kernel, so one client that stops reading held
 *   every message meant for it in memory with no bound. Here the bytes go to the socket's own
 *   buffer and the bound is checked against `socket.bufferedAmount`: over it, the socket is
 *   closed (and logged, and counted) rather than buffered without end or waited for.
 * - Shared subscription streams write pre-serialized frames through the same `send`
 *   (`extra.send`), so a slow socket is bounded the same way whoever writes to it.
 *
 * Internal errors close the socket with 4500 and a fixed reason; the details go to the log.
 * A client's protocol misuse is not an internal error: 4400 and a warning (see
 * {@link isProtocolMisuse}).
 */
export function serveGraphqlWs(
  server: Server<WsExtra>,
  wss: WebSocketServer,
  options: WsTransportOptions,
): { dispose(): Promise<void> } {
  const { logger } = options;
  const keepAlive = new KeepAlive(options.keepAliveMs);
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (error) => {
    logger.error({ err: error }, 'WebSocket server error');
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, 'Internal error');
  });
  wss.on('connection', (socket, request) => {
    const send = boundedSend(socket, options);
    socket.once('error', (error) => {
      logger.warn({ err: error.message }, 'WebSocket error');
      socket.close(CloseCode.InternalServerError, 'Internal error');
    });
    const pinged = keepAlive.add(socket);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send,
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data) => {
            handle(String(data)).catch((error: unknown) => {
              if (isProtocolMisuse(error)) {
                logger.warn({ reason: error.message }, 'graphql-ws protocol misuse; socket closed');
                socket.close(CloseCode.BadRequest, error.message);
                return;
              }
              logger.error({ err: error }, 'graphql-ws message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal error');
            });
          }),
      },
      { socket, request: { headers: request.headers, socket: request.socket }, send },
    );
    socket.once('close', (code, reason) => {
      keepAlive.remove(socket, pinged);
      // graphql-ws ends the socket's subscriptions and runs the close hooks; nobody awaits a
      // close, so a hook that fails is logged here instead of becoming an unhandled rejection.
      closed(code, String(reason)).catch((error: unknown) =>
        logger.error({ err: error }, 'graphql-ws close handling failed'),
      );
    });
  });
  return {
    async dispose() {
      keepAlive.stop();
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

const TEXT = { binary: false } as const;

function boundedSend(
  socket: WebSocket,
  options: WsTransportOptions,
): (data: string | Buffer) => void {
  const limit = options.maxBufferedBytes;
  return (data) => {
    if (socket.readyState !== socket.OPEN) return;
    const buffered = socket.bufferedAmount;
    if (buffered <= limit) {
      // graphql-transport-ws is text: a prepared Buffer goes out as a text frame too.
      socket.send(data, TEXT);
      return;
    }
    options.logger.warn(
      { bufferedBytes: buffered, limit },
      'WebSocket closed: the client does not read its messages (WS_MAX_BUFFERED_BYTES)',
    );
    options.onSlowConsumer?.(buffered);
    // The reason reaches the client after what it has not read yet; ws destroys the socket if
    // no close answer comes within its close timeout (30 s), freeing the buffer.
    socket.close(
      SLOW_CONSUMER_CLOSE_CODE,
      `Slow consumer: more than WS_MAX_BUFFERED_BYTES=${limit} bytes unread`,
    );
  };
}

/** Slots the sockets are spread over: one slot's sockets are pinged every `ms / SLOTS`. */
const SLOTS = 10;

/**
 * Pings every socket once per `ms`; a socket whose pong has not come by its next turn, `ms`
 * later, is cut off. One timer for all sockets: each socket joins one of {@link SLOTS} slots
 * (in turn), and each tick visits one slot. A timer, a closure and a `pong` listener per
 * socket were a measurable part of what an idle subscriber holds, and the pings of sockets
 * that connected together went out together; here they are spread over the interval, and the
 * `pong` listener is one function shared by every socket. `ms` 0 (or not finite): no pings.
 */
class KeepAlive {
  private readonly slots: Array<Set<WebSocket>> = [];
  /** Sockets pinged whose pong has not come yet (weak: a socket that closes just goes). */
  private readonly unanswered = new WeakSet<WebSocket>();
  private readonly onPong: (this: WebSocket) => void;
  private readonly timer: NodeJS.Timeout | undefined;
  private added = 0;
  private turn = 0;

  constructor(ms: number) {
    const unanswered = this.unanswered;
    this.onPong = function (this: WebSocket) {
      unanswered.delete(this);
    };
    if (!(ms > 0 && Number.isFinite(ms))) return;
    for (let i = 0; i < SLOTS; i++) this.slots.push(new Set());
    this.timer = setInterval(() => this.visit(), ms / SLOTS);
    this.timer.unref();
  }

  /** Starts pinging `socket`; returns its slot, for {@link remove}. */
  add(socket: WebSocket): Set<WebSocket> | undefined {
    if (this.slots.length === 0) return undefined;
    const slot = this.slots[this.added++ % SLOTS]!;
    slot.add(socket);
    socket.on('pong', this.onPong);
    return slot;
  }

  remove(socket: WebSocket, slot: Set<WebSocket> | undefined): void {
    slot?.delete(socket);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private visit(): void {
    const slot = this.slots[this.turn++ % SLOTS]!;
    for (const socket of slot) {
      if (socket.readyState !== socket.OPEN) continue;
      if (this.unanswered.has(socket)) {
        socket.terminate();
        continue;
      }
      this.unanswered.add(socket);
      socket.ping();
    }
  }
}

/**
 * graphql-ws closes most misuse itself (4400 for a malformed message, 4401, 4409, 4429), but a
 * well-formed message of a type only the server may send (`next`, `error`, `connection_ack`
 * from a client) is thrown as "Unexpected message of type … received" — which would otherwise
 * read as a server fault (4500, an error-level line) for what is the client's mistake.
 */
function isProtocolMisuse(error: unknown): error is Error {
  return error instanceof Error && /^Unexpected message of type \w+ received$/.test(error.message);
}
