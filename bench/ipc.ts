import { fork, type ChildProcess } from 'node:child_process';

/**
 * A tiny request/answer protocol over Node's IPC channel, shared by every child the bench
 * forks (upstream simulators, L, W, the load generator, the WebSocket clients). Each child is
 * its own process so that its CPU never counts as the measured server's, and so the load
 * generator never shares an event loop with what it loads.
 *
 * `serialization: 'advanced'` lets typed arrays (latency samples) cross without JSON.
 */

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}
interface Answer {
  id: number;
  value?: unknown;
  error?: string;
}

/** Every child started and not yet exited, killed on the way out whatever happens. */
const living = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of living) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Kills `child` when the bench exits, unless it has exited first. */
export function track(child: ChildProcess): void {
  living.add(child);
  child.once('exit', () => living.delete(child));
}

export interface BenchChild<Ready> {
  pid: number;
  /** What the child sent when it was ready (its port, say). */
  ready: Ready;
  request<T>(cmd: string, args?: unknown): Promise<T>;
  /** Asks the child to leave (`close`), then kills it if it has not within 5 s. */
  stop(): Promise<void>;
}

/** Forks a built bench module and resolves once it says it is ready. */
export async function startChild<Ready>(
  moduleUrl: URL,
  options: { timeoutMs?: number; execArgv?: string[] } = {},
): Promise<BenchChild<Ready>> {
  const child = fork(moduleUrl, [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: options.execArgv ?? [],
  });
  track(child);
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${moduleUrl} exited`));
    pending.clear();
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${moduleUrl} not ready within ${options.timeoutMs ?? 30_000} ms`)),
      options.timeoutMs ?? 30_000,
    );
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve((message as { ready: Ready }).ready);
    });
    child.once('exit', (code) => reject(new Error(`${moduleUrl} exited (${code}) before ready`)));
  });
  child.on('message', (message) => {
    const answer = message as Answer;
    const waiter = pending.get(answer.id);
    if (!waiter) return;
    pending.delete(answer.id);
    if (answer.error !== undefined) waiter.reject(new Error(answer.error));
    else waiter.resolve(answer.value);
  });
  let next = 0;
  return {
    pid: child.pid!,
    ready,
    request<T>(cmd: string, args?: unknown) {
      const id = ++next;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, cmd, args } satisfies Request);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ id: 0, cmd: 'close', args: undefined } satisfies Request);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export type Handlers = Record<string, (args: never) => unknown>;

/**
 * The child's side: announce `ready`, answer each command with its handler, and leave on
 * `close` after `onClose`. A handler that throws answers with its message.
 */
export function serveParent(
  ready: unknown,
  handlers: Handlers,
  onClose: () => void | Promise<void> = () => {},
): void {
  process.on('message', (message) => {
    const { id, cmd, args } = message as Request;
    if (cmd === 'close') {
      // Whether onClose returns, throws or rejects, the child exits: the parent is waiting on
      // that exit (and kills it after 5 s), so nothing is left to hear the failure.
      void Promise.resolve()
        .then(onClose)
        .finally(() => process.exit(0));
      return;
    }
    const handler = handlers[cmd];
    const reply = (answer: Omit<Answer, 'id'>) => process.send?.({ id, ...answer });
    if (!handler) {
      reply({ error: `no command ${cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(args as never))
      .then(
        (value) => reply({ value }),
        (error: unknown) => reply({ error: (error as Error).stack ?? String(error) }),
      );
  });
  // The parent's death closes the channel: leave with it rather than linger as an orphan.
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready });
}
