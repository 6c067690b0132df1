import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, writable } from '../respond.js';

/** Bodies above this get 413: the largest real PBG request (a query) is a few hundred bytes. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Past this many bytes an oversized upload is cut off instead of drained. Draining up to here
 * lets an ordinary client read the 413 rather than see a reset socket mid-upload.
 */
const DRAIN_LIMIT_BYTES = 32 * MAX_BODY_BYTES;

/** An error that knows the HTTP status the control API answers it with. */
export class SandboxError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'PbgSandboxError';
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type BodyResult = { tooLarge: false; text: string } | { tooLarge: true };

/** Reads a whole request body; rejects only when the client goes away mid-upload. */
export function readBody(req: IncomingMessage): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > DRAIN_LIMIT_BYTES) req.destroy();
    });
    req.on('end', () => {
      done = true;
      resolve(
        size > MAX_BODY_BYTES
          ? { tooLarge: true }
          : { tooLarge: false, text: Buffer.concat(chunks).toString('utf8') },
      );
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!done) reject(new Error('request closed before its body ended'));
    });
  });
}

/** JSON.parse that reports failure instead of throwing. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Writes a body as-is: used by the "garbage" fault, whose point is a body that is not JSON. */
export function sendRaw(res: ServerResponse, status: number, text: string): void {
  if (!writable(res)) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(text);
}

export function methodNotAllowed(res: ServerResponse, method: string, allow: string[]): void {
  sendJson(
    res,
    405,
    { error: `method ${method} not allowed here; use ${allow.join(' or ')}` },
    { allow: allow.join(', ') },
  );
}
