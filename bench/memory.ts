import { createWriteStream, readFileSync } from 'node:fs';
import WebSocket from 'ws';

/**
 * Memory of a bench server, read from outside: resident set from /proc, and — after a full
 * garbage collection — the V8 heap in use. The project is reached through the V8 inspector
 * (node's `--inspect=127.0.0.1:0`, bench-only: the project exposes nothing new), so the bench
 * can collect its garbage and, when asked, write a heap snapshot; W collects its own
 * (`--expose-gc`) when told to over IPC.
 */

/** What one server held at one moment, after a full GC. */
export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
}

/** VmRSS of process `pid` in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

/** node's line on stderr when `--inspect` listens; the address of the inspector's WebSocket. */
export function inspectorUrlIn(log: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(log)?.[1];
}

/**
 * A Chrome DevTools Protocol session with one node process: enough of it to collect garbage,
 * read the heap's size and write a heap snapshot.
 */
export class Inspector {
  private next = 0;
  private readonly pending = new Map<number, (message: CdpMessage) => void>();
  private onChunk: ((chunk: string) => void) | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as CdpMessage;
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') {
        this.onChunk?.((message.params as { chunk: string }).chunk);
        return;
      }
      const answer = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!answer) return;
      this.pending.delete(message.id!);
      answer(message);
    });
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 2 ** 30 });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new Inspector(socket);
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.next;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, (message) =>
        message.error
          ? reject(new Error(`${method}: ${message.error.message}`))
          : resolve(message.result as T),
      );
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Full collections until the heap stops shrinking (weak maps and finalizers can free more on
   * a second pass), then the heap in use.
   */
  async collect(): Promise<number> {
    let used = Number.POSITIVE_INFINITY;
    for (let pass = 0; pass < 5; pass++) {
      await this.call('HeapProfiler.collectGarbage');
      const { usedSize } = await this.call<{ usedSize: number }>('Runtime.getHeapUsage');
      if (usedSize >= used * 0.999) return usedSize;
      used = usedSize;
    }
    return used;
  }

  /** Writes a heap snapshot (the `.heapsnapshot` DevTools reads) to `file`. */
  async snapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.onChunk = (chunk) => out.write(chunk);
    try {
      await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    } finally {
      this.onChunk = undefined;
      await new Promise<void>((resolve, reject) =>
        out.end((error?: Error | null) => (error ? reject(error) : resolve())),
      );
    }
  }

  close(): void {
    this.socket.close();
  }
}

interface CdpMessage {
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { message: string };
}
