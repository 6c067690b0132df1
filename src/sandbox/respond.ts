import type { ServerResponse } from 'node:http';

/**
 * How both simulators answer: a whole body with its length, written only while the response
 * can still be written (the client may have gone, or the simulator closed, while a delay fault
 * held the call).
 */

/** Whether a response can still be written. */
export function writable(res: ServerResponse): boolean {
  return !res.headersSent && !res.destroyed && !res.writableEnded;
}

/** `text` as the whole body, with `contentType`; `headers` cannot replace those two. */
export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (!writable(res)) return;
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendText(res, status, 'application/json; charset=utf-8', JSON.stringify(body), headers);
}
