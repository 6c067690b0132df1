import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readText } from './faults/proxy.js';

/**
 * A real HTTP proxy in front of an upstream simulator that counts requests per path and can
 * hold them open — the barrier the read-sharing tests need: "the upstream has not answered yet,
 * and every caller has arrived". It knows nothing of the service's REST clients.
 */

export interface GateOptions {
  /** How many requests on the path this gate holds; later ones pass. @default every request until released */
  times?: number;
  /**
   * Forward the request at once and hold only the answer (what the upstream said *then*), instead
   * of holding the request itself and forwarding it on release.
   * @default false
   */
  answerFirst?: boolean;
}

/** An answer that replaces the upstream's. */
export interface Replacement {
  /** Whether the upstream gets (and acts on) the request first. */
  forward: boolean;
  status: number;
  body: string;
}

export interface Gate {
  /** Requests this gate has taken so far. */
  readonly held: number;
  /** Resolves once `count` requests are held. */
  arrived(count?: number): Promise<void>;
  /** Lets every held request go on (and later ones pass); each answered with `replacement` if given. */
  release(replacement?: Replacement): void;
}

interface ActiveGate {
  path: string;
  remaining: number;
  answerFirst: boolean;
  taken: number;
  waiters: Array<{ count: number; resolve: () => void }>;
  open: Promise<Replacement | undefined>;
  release: (replacement: Replacement | undefined) => void;
}

export class GateProxy {
  private readonly counts = new Map<string, number>();
  private readonly gates: ActiveGate[] = [];
  private readonly replacements: Array<{ path: string; replacement: Replacement }> = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private port = 0;

  private constructor(private readonly target: string) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.socket?.destroy());
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(target: string): Promise<GateProxy> {
    const proxy = new GateProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests on `path` that reached the proxy. */
  count(path: string): number {
    return this.counts.get(path) ?? 0;
  }

  /** Holds requests on `path` (see {@link GateOptions}) until the gate is released. */
  hold(path: string, options: GateOptions = {}): Gate {
    let release!: (replacement: Replacement | undefined) => void;
    const open = new Promise<Replacement | undefined>((resolve) => (release = resolve));
    const gate: ActiveGate = {
      path,
      remaining: options.times ?? Number.POSITIVE_INFINITY,
      answerFirst: options.answerFirst ?? false,
      taken: 0,
      waiters: [],
      open,
      release: (replacement) => {
        const at = this.gates.indexOf(gate);
        if (at !== -1) this.gates.splice(at, 1);
        release(replacement);
      },
    };
    this.gates.push(gate);
    return {
      get held() {
        return gate.taken;
      },
      arrived: (count = 1) =>
        new Promise<void>((resolve) => {
          if (gate.taken >= count) resolve();
          else gate.waiters.push({ count, resolve });
        }),
      release: (replacement) => gate.release(replacement),
    };
  }

  /** Releases every gate still held and drops queued replacements (after a failed test). */
  reset(): void {
    for (const gate of [...this.gates]) gate.release(undefined);
    this.replacements.length = 0;
  }

  /** The next request on `path` is answered with `replacement`. */
  replaceNext(path: string, replacement: Replacement): void {
    this.replacements.push({ path, replacement });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readText(req);
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? url;
    this.counts.set(path, this.count(path) + 1);
    let replacement = this.takeReplacement(path);
    const gate = this.gates.find((g) => g.path === path && g.remaining > 0);
    let answer: { status: number; body: string } | undefined;
    if (gate) {
      gate.remaining -= 1;
      gate.taken += 1;
      if (gate.answerFirst) answer = await this.forward(url, text);
      for (const waiter of gate.waiters.filter((w) => gate.taken >= w.count)) waiter.resolve();
      replacement = (await gate.open) ?? replacement;
    }
    if (replacement) {
      if (replacement.forward && !answer) await this.forward(url, text);
      answer = { status: replacement.status, body: replacement.body };
    }
    answer ??= await this.forward(url, text);
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(answer.body),
    });
    res.end(answer.body);
  }

  private takeReplacement(path: string): Replacement | undefined {
    const at = this.replacements.findIndex((r) => r.path === path);
    if (at === -1) return undefined;
    return this.replacements.splice(at, 1)[0]!.replacement;
  }

  private async forward(url: string, text: string): Promise<{ status: number; body: string }> {
    const response = await fetch(`${this.target}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: text,
    });
    return { status: response.status, body: await response.text() };
  }
}
