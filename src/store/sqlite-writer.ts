import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WriterData, WriterOp, WriterReply, WriterRequest } from './sqlite-worker.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/*
 * The worker's file beside this one: `.js` in dist/, `.ts` when the tests run the sources
 * (Node strips the types of a `.ts` worker itself).
 */
const WORKER_URL = new URL(
  `./sqlite-worker${extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/**
 * The main thread's side of the SQLite store's writer thread (sqlite-worker.ts): posts a
 * request, resolves with the worker's answer. The worker answers requests one at a time, in the
 * order they were posted.
 *
 * - Each request is stamped with a deadline, `busyTimeoutMs` after it is posted: the worker
 *   refuses it (code BUSY_CODE, nothing written) if a lock held by another connection keeps it
 *   waiting, in the queue and at the lock together, past that moment. The worker's answer is
 *   the only answer — this side never gives up on its own — so a caller told "failed" can rely
 *   on nothing having been written.
 * - Started on the first request (the store's open sends one: it creates the tables there).
 * - Referenced (keeps the process alive) only while a request is pending: an idle writer never
 *   holds up a process that has finished, and a pending one is never cut off by it.
 * - If the thread dies (an uncaught error, out of memory), the requests it held are rejected —
 *   an unfinished transaction is rolled back by SQLite, so each was applied wholly or not at
 *   all — and the next request starts a new thread.
 */
export class SqliteWriter {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;

  constructor(private readonly data: WriterData) {}

  request<T>(request: WriterOp): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new Error(`SQLite store ${this.data.path} is closed.`));
    }
    return this.#post<T>(request, Date.now() + this.data.busyTimeoutMs);
  }

  /**
   * Resolves once every request posted so far is answered (a no-op request behind them: the
   * worker answers in order). Nothing to wait for when no thread runs.
   */
  async flush(): Promise<void> {
    if (!this.#worker || this.#closed) return;
    await this.#post({ op: 'flush' }, Number.POSITIVE_INFINITY).catch(() => undefined);
  }

  /** Waits for the requests in flight, closes the worker's connection and ends the thread. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const worker = this.#worker;
    if (!worker) return;
    // Posted after every pending request, so the worker answers those first.
    await this.#post({ op: 'close' }, Number.POSITIVE_INFINITY).catch(() => undefined);
    await worker.terminate();
  }

  #post<T>(request: WriterOp, deadline: number): Promise<T> {
    const worker = this.#running();
    const id = this.#nextId++;
    const answer = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
    if (this.#pending.size === 1) worker.ref();
    worker.postMessage({ ...request, id, deadline } satisfies WriterRequest);
    return answer;
  }

  #running(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_URL, { workerData: this.data });
    worker.unref();
    worker.on('message', (reply: WriterReply) => this.#settle(worker, reply));
    worker.on('error', (error) => this.#lost(worker, error));
    worker.on('exit', (code) => {
      this.#lost(worker, new Error(`SQLite store writer exited (code ${code})`));
    });
    this.#worker = worker;
    return worker;
  }

  #settle(worker: Worker, reply: WriterReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) worker.unref();
    if (reply.ok) pending.resolve(reply.result);
    else pending.reject(Object.assign(new Error(reply.message), { code: reply.code }));
  }

  /** The thread is gone: every request it held fails; the next one starts a new thread. */
  #lost(worker: Worker, error: Error): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }
}
