import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real HTTP proxy in front of an upstream simulator that lets the upstream act and then
 * loses, garbles or withholds its answer — the failures after which a caller cannot know
 * whether money moved. It shares no code with the service's REST clients: it only knows which
 * path moves money, how to name the request (the "key" acts are counted by) and how to tell
 * from the upstream's own answer that it acted.
 */

/** What the proxy does with one request. Every kind but 'drop' forwards it first. */
export type FaultKind =
  /** Forward and answer as the upstream did. */
  | 'pass'
  /** Forward, then answer HTTP 502 with an HTML body (a gateway in front of a crash). */
  | 'http5xx'
  /** Forward, then never answer: the client gives up at its own timeout. */
  | 'hang'
  /** Forward, then answer 200 with a body that is not JSON. */
  | 'garbage'
  /** Forward, then destroy the connection (`socket.destroy()`) before any answer byte. */
  | 'reset'
  /** Destroy the connection without forwarding: the upstream never acts. */
  | 'drop';

/** Replaces the upstream's answer; `forward` says whether the upstream acts first. */
export interface Replacement {
  forward: boolean;
  answer(request: ProxiedRequest): { status: number; body: string };
}

export type Fault = FaultKind | Replacement;

/** How one upstream API looks on the wire. */
export interface UpstreamShape {
  name: string;
  /** The path (without query) of the call that moves money. */
  actPath: string;
  /** The name acts are counted by (Chillr: batch name; PBG: `purchase_id/action`). */
  keyOf(body: unknown): string | undefined;
  /** Whether the upstream's answer says it acted. */
  acted(answer: unknown): boolean;
}

export interface ProxiedRequest {
  /** Path and query as received. */
  url: string;
  path: string;
  /** 'act' for the money-moving call, 'read' for everything else. */
  kind: 'act' | 'read';
  text: string;
  key: string | undefined;
}

export interface RandomFaults {
  seed: number;
  /** Probabilities per request, summing to at most 1; the rest pass. */
  rates: Partial<Record<Exclude<FaultKind, 'pass'>, number>>;
  /** Which requests may be faulted. @default 'act' */
  on?: 'act' | 'any';
}

/** A barrier on the next money-moving request: it waits at the proxy until released. */
export interface Hold {
  /** Resolves once the request is at the proxy (not yet forwarded). */
  arrived: Promise<ProxiedRequest>;
  /** Lets it go on: forward, then answer as `fault` says (default 'pass'). */
  release(fault?: Fault): void;
  /** Withdraws the hold if no request has taken it yet (so a failed test leaves none behind). */
  cancel(): void;
}

interface QueuedFault {
  fault: Fault;
  remaining: number;
  on: 'act' | 'read' | 'any';
  key: string | undefined;
}

/** mulberry32: a small seeded PRNG, so a randomized run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a: a 32-bit hash of a string, to seed a draw. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export class FaultProxy {
  /** Every request, in arrival order. */
  readonly requests: ProxiedRequest[] = [];
  /** Faults actually applied, in order (for diagnosing a failed soak). */
  readonly applied: Array<{ key: string | undefined; fault: string }> = [];
  private readonly actCounts = new Map<string, number>();
  private queue: QueuedFault[] = [];
  private random: { seed: number; rates: RandomFaults['rates']; on: 'act' | 'any' } | null = null;
  private holds: Array<{
    key: string | undefined;
    arrived: (r: ProxiedRequest) => void;
    gate: Promise<Fault>;
  }> = [];
  private readonly listeners: Array<(request: ProxiedRequest) => void> = [];
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  private server: Server;
  private port = 0;

  constructor(
    private readonly target: string,
    private readonly shape: UpstreamShape,
  ) {
    this.server = this.createServer();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /**
   * The next `times` requests of `on` (only those named `key`, if given) suffer `fault`. Queued
   * faults apply oldest first. Naming the key keeps a straggler from another case (a request
   * that reaches the proxy after its caller gave up) from taking the fault.
   */
  inject(
    fault: Fault,
    options: { times?: number; on?: 'act' | 'read' | 'any'; key?: string } = {},
  ): void {
    this.queue.push({
      fault,
      remaining: options.times ?? 1,
      on: options.on ?? 'act',
      key: options.key,
    });
  }

  /**
   * Faults drawn at random per request, until `healthy()`: each draw is seeded by `seed` and the
   * request's identity, so a run replays from its seed whatever the interleaving.
   */
  randomly(options: RandomFaults): void {
    this.random = {
      seed: options.seed,
      rates: options.rates,
      on: options.on ?? 'act',
    };
  }

  /** Holds the next money-moving request (named `key`, if given) at the proxy until released. */
  hold(key?: string): Hold {
    let arrived!: (r: ProxiedRequest) => void;
    let release!: (fault: Fault) => void;
    const arrival = new Promise<ProxiedRequest>((resolve) => (arrived = resolve));
    const gate = new Promise<Fault>((resolve) => (release = resolve));
    const entry = { key, arrived, gate };
    this.holds.push(entry);
    return {
      arrived: arrival,
      release: (fault = 'pass') => release(fault),
      cancel: () => {
        const at = this.holds.indexOf(entry);
        if (at !== -1) this.holds.splice(at, 1);
      },
    };
  }

  /** Calls `listener` with every request as it arrives, before it is forwarded. */
  onRequest(listener: (request: ProxiedRequest) => void): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  /** No more faults: queued and random faults are dropped (holds stay until released). */
  healthy(): void {
    this.queue = [];
    this.random = null;
  }

  /** How many money-moving requests named `key` reached the proxy. */
  received(key: string): number {
    return this.requests.filter((r) => r.kind === 'act' && r.key === key).length;
  }

  /** How many times the upstream acted on requests named `key` (by its own answers). */
  acts(key: string): number {
    return this.actCounts.get(key) ?? 0;
  }

  /**
   * Stops listening and drops every connection: the next calls are refused (ECONNREFUSED).
   * `accept()` binds the same port again; another process could take it in between, which
   * on loopback with an ephemeral port is unlikely enough for a test.
   */
  async refuse(): Promise<void> {
    this.refusing = true;
    await this.closeServer();
  }

  /** Listens again on the same port after `refuse()`. */
  async accept(): Promise<void> {
    this.refusing = false;
    this.server = this.createServer();
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    if (!this.refusing) await this.closeServer();
  }

  private createServer(): Server {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.socket?.destroy());
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    return server;
  }

  private closeServer(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = this.describe(req, await readText(req));
    this.requests.push(request);
    for (const listener of [...this.listeners]) listener(request);
    const hold =
      request.kind === 'act'
        ? this.holds.find((h) => h.key === undefined || h.key === request.key)
        : undefined;
    let fault: Fault;
    if (hold) {
      this.holds.splice(this.holds.indexOf(hold), 1);
      hold.arrived(request);
      fault = await hold.gate;
    } else {
      fault = this.decide(request);
    }
    this.applied.push({ key: request.key, fault: typeof fault === 'string' ? fault : 'replace' });
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    const forwards = typeof fault === 'string' || fault.forward;
    const upstream = forwards ? await this.forward(request) : undefined;
    if (upstream && request.kind === 'act' && request.key !== undefined) {
      if (this.shape.acted(parseJson(upstream.body))) {
        this.actCounts.set(request.key, this.acts(request.key) + 1);
      }
    }
    respond(req, res, fault, request, upstream);
  }

  private describe(req: IncomingMessage, text: string): ProxiedRequest {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? url;
    const kind = path === this.shape.actPath ? 'act' : 'read';
    const key = kind === 'act' ? this.shape.keyOf(parseJson(text)) : undefined;
    return { url, path, kind, text, key };
  }

  private decide(request: ProxiedRequest): Fault {
    const queued = this.queue.find(
      (q) =>
        (q.on === 'any' || q.on === request.kind) && (q.key === undefined || q.key === request.key),
    );
    if (queued) {
      queued.remaining -= 1;
      if (queued.remaining <= 0) this.queue.splice(this.queue.indexOf(queued), 1);
      return queued.fault;
    }
    if (!this.random || (this.random.on === 'act' && request.kind !== 'act')) return 'pass';
    let roll = this.roll(request);
    for (const [kind, rate] of Object.entries(this.random.rates)) {
      roll -= rate ?? 0;
      if (roll < 0) return kind as FaultKind;
    }
    return 'pass';
  }

  /**
   * The random draw for a request: a function of the seed, the request's identity (its key, or
   * its path and body for a read) and how many identical requests came before it — so a run is
   * reproducible from its seed however the concurrent requests interleave.
   */
  private roll(request: ProxiedRequest): number {
    const identity = request.key ?? `${request.path} ${request.text}`;
    const nth = this.requests.filter((r) => (r.key ?? `${r.path} ${r.text}`) === identity).length;
    return seededRandom(fnv1a(`${this.random!.seed}|${identity}|${nth}`))();
  }

  private async forward(request: ProxiedRequest): Promise<{ status: number; body: string }> {
    const response = await fetch(`${this.target}${request.url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: request.text,
    });
    return { status: response.status, body: await response.text() };
  }
}

function respond(
  req: IncomingMessage,
  res: ServerResponse,
  fault: Fault,
  request: ProxiedRequest,
  upstream: { status: number; body: string } | undefined,
): void {
  const send = (status: number, body: string, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (typeof fault !== 'string') {
    const { status, body } = fault.answer(request);
    send(status, body);
    return;
  }
  switch (fault) {
    case 'pass':
      send(upstream!.status, upstream!.body);
      return;
    case 'http5xx':
      send(502, '<html><body><h1>502 Bad Gateway</h1></body></html>', 'text/html');
      return;
    case 'garbage':
      send(200, '<html><body>upstream hiccup</body></html>{"status":"succ');
      return;
    case 'reset':
      req.socket.destroy();
      return;
    case 'hang':
    case 'drop':
      return; // 'hang' leaves the client waiting; close() destroys the socket
  }
}

/** The whole body of a request as UTF-8 text (the test proxies read bodies whole). */
export function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

/** Chillr Mass Collect: a create is named by its batch name; it acted when status_code is 0. */
export const CHILLR_SHAPE: UpstreamShape = {
  name: 'Chillr',
  actPath: '/api/v5/collect',
  keyOf: (body) =>
    typeof field(body, 'name') === 'string' ? (field(body, 'name') as string) : undefined,
  acted: (answer) => field(answer, 'status_code') === 0,
};

/** PayByGroup: an action is named `purchase_id/action`; it acted when PBG answered result true. */
export const PBG_SHAPE: UpstreamShape = {
  name: 'PayByGroup',
  actPath: '/api/purchase_action.json',
  keyOf: (body) => {
    const id = field(body, 'purchase_id');
    const action = field(body, 'action');
    return typeof id === 'string' && typeof action === 'string' ? `${id}/${action}` : undefined;
  },
  acted: (answer) => field(answer, 'result') === true,
};

/** Starts a proxy to `target` on an ephemeral port. */
export async function startFaultProxy(target: string, shape: UpstreamShape): Promise<FaultProxy> {
  const proxy = new FaultProxy(target, shape);
  await proxy.listen();
  return proxy;
}
