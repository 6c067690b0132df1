import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../respond.js';

/** Bodies above this get 413: a real batch of thousands of customers is far smaller. */
export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {
  constructor() {
    super(`Request body exceeds ${MAX_BODY_BYTES} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a whole request body, failing fast on a declared or actual size above the limit so a
 * huge upload is never buffered. Rejects (never throws) on abort; callers only need one catch.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) finish(new BodyTooLargeError());
      else chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => finish());
    req.on('error', (error) => finish(error));
    req.on('aborted', () => finish(new Error('Request aborted')));
  });
}

/**
 * Answers 413 and closes the connection: the rest of the body is never read, so the socket
 * cannot be reused for another request.
 */
export function sendTooLarge(res: ServerResponse): void {
  sendJson(
    res,
    413,
    { error: `Request body exceeds ${MAX_BODY_BYTES} bytes` },
    { connection: 'close' },
  );
}
