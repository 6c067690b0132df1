import type { RequestHandler } from 'express';

/**
 * How long a client may take to send its request, on every listener (main, callback,
 * metrics). Without these, a client that sends its body a byte at a time holds a connection
 * (and whatever the body parser buffered) forever: 300 of 300 such requests were still open
 * after 95 s.
 */
export interface SlowClientTimeouts {
  /** Node's `headersTimeout`: request headers must arrive within it (408). HTTP_HEADERS_TIMEOUT_MS. */
  headersTimeoutMs: number;
  /**
   * Node's `requestTimeout`: the whole request, body included, must arrive within it (408).
   * It does not bound the response: a slow upstream, an SSE stream or a WebSocket (the upgrade
   * leaves the HTTP parser) are not affected.
   * HTTP_REQUEST_TIMEOUT_MS (its default and bounds: src/config/).
   */
  requestTimeoutMs: number;
  /**
   * A body that makes no progress (no byte arrives) for this long is cut off (408 naming
   * HTTP_BODY_IDLE_TIMEOUT_MS, then the connection closes). 0 = off.
   */
  bodyIdleTimeoutMs: number;
}

/**
 * `http.createServer` options for {@link SlowClientTimeouts}. Node checks the two timeouts
 * every `connectionsCheckingInterval` (30 s by default, which would let a slow request live up
 * to twice its limit); here once a second.
 */
export function serverTimeouts(timeouts: SlowClientTimeouts | undefined) {
  if (!timeouts) return {};
  return {
    headersTimeout: timeouts.headersTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    connectionsCheckingInterval: 1000,
  };
}

/**
 * First middleware of every app: watches the bytes arriving on the request's socket while its
 * body is incomplete, and cuts the request off when none arrived for `idleMs`. Polling
 * `socket.bytesRead` observes progress without reading the body (a `data` listener would
 * start consuming it ahead of the body parser). Progress is checked every `idleMs`, so a
 * stalled body is cut off between `idleMs` and twice that.
 */
export function bodyIdleTimeout(idleMs: number): RequestHandler {
  return (req, res, next) => {
    if (idleMs <= 0 || req.complete) return next();
    const socket = req.socket;
    let seen = socket.bytesRead;
    const timer = setInterval(() => {
      if (req.complete || socket.destroyed) return stop();
      if (socket.bytesRead !== seen) {
        seen = socket.bytesRead;
        return;
      }
      stop();
      if (!res.headersSent) {
        res.writeHead(408, { 'content-type': 'application/json', connection: 'close' });
        res.end(
          JSON.stringify({
            error: `The request body stalled: no byte arrived for ${idleMs} ms (HTTP_BODY_IDLE_TIMEOUT_MS=${idleMs}).`,
          }),
        );
      }
      // The body parser sees the request abort; nothing else waits for this client.
      res.once('finish', () => socket.destroy());
      setTimeout(() => socket.destroy(), 1000).unref();
    }, idleMs);
    timer.unref();
    const stop = () => clearInterval(timer);
    req.once('end', stop);
    req.once('close', stop);
    next();
  };
}
