import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SANDBOX_DEFAULTS } from '../../config/variables.js';
import { silentLogger, type Logger } from '../../logger.js';
import { handleCheckCollectStatus, handleCollect, requestedBatchId } from './api.js';
import { handleControl, type ControlContext } from './control.js';
import { FaultQueue } from './faults.js';
import { sendJson, sendText } from '../respond.js';
import { BodyTooLargeError, readBody, sendTooLarge } from './http.js';
import { StateFile } from '../state-file.js';
import { BatchStore, isSavedBatches, type SavedBatches } from './store.js';
import type {
  ChillrCallCounts,
  ChillrCredentials,
  ChillrEndpoint,
  ChillrSimulator,
  ChillrSimulatorOptions,
} from './types.js';
import { failure, failureBody } from './wire.js';

/** The key pair of the document's sample requests, so its samples work verbatim. */
export const SANDBOX_CHILLR_CREDENTIALS: Readonly<ChillrCredentials> = Object.freeze({
  apiKey: SANDBOX_DEFAULTS.chillrApiKey,
  apiSecretKey: SANDBOX_DEFAULTS.chillrApiSecretKey,
});

const API_PATHS: Readonly<Record<string, ChillrEndpoint>> = {
  '/api/v5/collect': 'collect',
  '/api/v5/check_collect_status': 'check_collect_status',
};

/** Where a server bound to a wildcard or IPv6 address can be reached from this machine. */
function baseUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/**
 * The batch store, restored from `options.stateFile` when it holds a saved state, else seeded;
 * with a state file every change is saved at once.
 */
function openBatchStore(options: ChillrSimulatorOptions, logger: Logger): BatchStore {
  const now = options.now ?? (() => new Date());
  if (options.stateFile === undefined) {
    const store = new BatchStore(now);
    if (options.seed !== false) store.seedSample();
    return store;
  }
  const file = new StateFile<SavedBatches>(options.stateFile, logger);
  const saved = file.load(isSavedBatches);
  const store: BatchStore = new BatchStore(now, () => file.save(store.snapshot()));
  if (saved) {
    store.restore(saved);
    logger.info(
      { file: file.path, batches: saved.batches.length },
      'chillr sandbox: state restored',
    );
  } else if (options.seed !== false) {
    store.seedSample();
  } else {
    file.save(store.snapshot());
  }
  return store;
}

/** What one simulator's request handlers share. */
interface Sim {
  store: BatchStore;
  faults: FaultQueue;
  calls: ChillrCallCounts;
  control: ControlContext;
  credentials: ChillrCredentials;
  logger: Logger;
  /** Aborted on close so that calls held by a delay fault do not keep the process alive. */
  closing: AbortController;
}

/** Starts the simulator; resolves once it is listening. */
export async function startChillrSimulator(
  options: ChillrSimulatorOptions = {},
): Promise<ChillrSimulator> {
  const logger = options.logger ?? silentLogger;
  const store = openBatchStore(options, logger);
  const faults = new FaultQueue();
  const calls: ChillrCallCounts = { collect: 0, checkCollectStatus: 0, byBatchId: new Map() };
  const resetCalls = (): void => {
    calls.collect = 0;
    calls.checkCollectStatus = 0;
    calls.byBatchId.clear();
  };
  const sim: Sim = {
    store,
    faults,
    calls,
    control: { store, faults, calls, resetCalls },
    credentials: { ...(options.credentials ?? SANDBOX_CHILLR_CREDENTIALS) },
    logger,
    closing: new AbortController(),
  };
  const closing = sim.closing;
  const server = createSimServer(sim);
  const host = options.host ?? '127.0.0.1';
  await listenOn(server, host, options.port ?? 0);
  const url = baseUrl(host, (server.address() as AddressInfo).port);
  logger.info({ url }, 'chillr sandbox listening');

  let closed: Promise<void> | undefined;
  return {
    url,
    calls,
    resetCalls,
    setPaymentStatus: (batchId, msisdn, status) =>
      void store.setPaymentStatus(batchId, msisdn, status),
    expireBatch: (batchId) => void store.expire(batchId),
    injectFault: (fault) => void faults.add(fault),
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        closing.abort();
        server.close((error) => (error ? reject(error) : resolve()));
        // Idle keep-alive sockets (fetch pools them) would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

function count(sim: Sim, endpoint: ChillrEndpoint, raw: Buffer): string | undefined {
  const { calls } = sim;
  if (endpoint === 'collect') {
    calls.collect += 1;
    return undefined;
  }
  calls.checkCollectStatus += 1;
  const batchId = requestedBatchId(raw);
  if (batchId !== undefined) {
    calls.byBatchId.set(batchId, (calls.byBatchId.get(batchId) ?? 0) + 1);
  }
  return batchId;
}

/** Applies the next queued fault; true when it already answered the call. */
async function applyFault(
  sim: Sim,
  endpoint: ChillrEndpoint,
  res: ServerResponse,
): Promise<boolean> {
  const fault = sim.faults.take(endpoint);
  if (!fault) return false;
  sim.logger.info({ endpoint, fault: fault.kind }, 'chillr sandbox: injecting fault');
  switch (fault.kind) {
    case 'delay':
      await sleep(fault.ms, undefined, { signal: sim.closing.signal });
      return false;
    case 'status':
      // 58 always carries reasons upstream, so an injected one does too.
      sendJson(
        res,
        200,
        failureBody(
          failure(fault.statusCode, fault.statusCode === 58 ? ['injected fault'] : undefined),
        ),
      );
      return true;
    case 'garbage':
      // Truncated JSON under a JSON content type: the nastiest thing a parser can meet.
      sendText(res, 200, 'application/json', '{"status":"success","status_code":0,"data":{"ba');
      return true;
    case 'http500':
      sendText(res, 500, 'text/html', '<html><body><h1>500 Internal Server Error</h1></body>');
      return true;
  }
}

async function handleApi(
  sim: Sim,
  endpoint: ChillrEndpoint,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'POST') {
    sendJson(res, 405, { error: `${req.method} not allowed; use POST` }, { allow: 'POST' });
    return;
  }
  let raw: Buffer;
  try {
    raw = await readBody(req);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      // Counted (the call did arrive) but it uses up no fault: it never reached the API.
      count(sim, endpoint, Buffer.alloc(0));
      sendTooLarge(res);
    }
    return;
  }
  const batchId = count(sim, endpoint, raw);
  if (await applyFault(sim, endpoint, res)) return;
  const ctx = { store: sim.store, credentials: sim.credentials };
  const reply =
    endpoint === 'collect' ? handleCollect(raw, ctx) : handleCheckCollectStatus(raw, ctx);
  sim.logger.debug(
    { endpoint, batchId, statusCode: reply.status_code },
    'chillr sandbox: upstream call',
  );
  sendJson(res, 200, reply);
}

async function route(sim: Sim, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const endpoint = API_PATHS[path];
  if (endpoint) return handleApi(sim, endpoint, req, res);
  if (path === '/_sandbox' || path.startsWith('/_sandbox/')) {
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLargeError) sendTooLarge(res);
      return;
    }
    const reply = handleControl(sim.control, req.method ?? 'GET', path, raw);
    sendJson(res, reply.status, reply.body);
    return;
  }
  sendJson(res, 404, { error: `Not found: ${path}` });
}

function createSimServer(sim: Sim): Server {
  const server = createServer((req, res) => {
    route(sim, req, res).catch((error: unknown) => {
      if (sim.closing.signal.aborted) return; // a delayed call cut short by close()
      sim.logger.error({ err: error }, 'chillr sandbox: unexpected error');
      sendJson(res, 500, { error: 'Chillr sandbox internal error' });
    });
  });
  // A malformed request line or header must not take the process down.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  return server;
}

function listenOn(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
