import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { handleAction, handleQuery } from './api.js';
import { CONTROL_PREFIX, handleControl } from './controls.js';
import type { PbgCore } from './core.js';
import { sendJson, writable } from '../respond.js';
import { methodNotAllowed, readBody } from './http.js';

const QUERY_PATH = '/api/merch_get_purch_info.json';
const ACTION_PATH = '/api/purchase_action.json';

/**
 * Splits the request target by hand: `new URL(req.url, base)` would read "//host/x" as another
 * host, and a path is all the router needs.
 */
function target(req: IncomingMessage): { pathname: string; query: URLSearchParams } {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  return {
    pathname: q === -1 ? raw : raw.slice(0, q),
    query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)),
  };
}

async function route(
  core: PbgCore,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const method = req.method ?? 'GET';
  const { pathname, query } = target(req);
  const upstream = pathname === QUERY_PATH || pathname === ACTION_PATH;
  if (!upstream && !pathname.startsWith(CONTROL_PREFIX)) {
    sendJson(res, 404, { error: `no such endpoint: ${pathname}` });
    return;
  }
  if (upstream && method !== 'POST') {
    // The document: "Data is transferred using post requests".
    methodNotAllowed(res, method, ['POST']);
    return;
  }
  const body = await readBody(req);
  if (body.tooLarge) {
    sendJson(res, 413, { error: 'request body exceeds 1 MiB' });
    return;
  }
  if (pathname === QUERY_PATH) await handleQuery(core, body.text, res, signal);
  else if (pathname === ACTION_PATH) await handleAction(core, body.text, query, res, signal);
  else await handleControl(core, method, pathname, body.text, res);
}

/** The simulator's HTTP server; any failure becomes a 500 answer, never a crash. */
export function createPbgServer(core: PbgCore, signal: AbortSignal): Server {
  return createServer((req, res) => {
    route(core, req, res, signal).catch((error: unknown) => {
      if (writable(res)) {
        core.config.logger.error({ err: error }, 'PBG sandbox: request failed');
        sendJson(res, 500, { error: 'internal sandbox error' });
      } else {
        res.destroy(); // the client left mid-request; nothing to answer
      }
    });
  });
}
