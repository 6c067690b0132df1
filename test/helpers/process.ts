import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (dist/ is built there by `npm test`'s schema check). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A port that was free a moment ago (the OS picks it; the socket is closed at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir(
  prefix: string,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface ServiceProcess {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:4321 (the first group of the ready pattern) */
  url: string;
  /** The whole match of the ready pattern. */
  ready: RegExpExecArray;
  /** stdout and stderr lines so far. */
  output: string[];
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Sends `signal` and resolves with how the process exited. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Runs `node dist/src/main.js` (what `npm start` runs after building) as a real child process
 * and resolves once it logs that it is listening — the barrier, no sleeping.
 */
export function spawnService(
  env: Record<string, string>,
  options: { cwd?: string; startTimeoutMs?: number } = {},
): Promise<ServiceProcess> {
  return spawnNode('dist/src/main.js', env, {
    ...options,
    ready: /"url":"(http:\/\/[^"]+)\/graphql".*payments subgraph listening/,
  });
}

/**
 * Runs a built script (relative to the repository root) under this Node and resolves once a
 * line of its output matches `ready`.
 */
export async function spawnNode(
  script: string,
  env: Record<string, string>,
  options: { cwd?: string; startTimeoutMs?: number; ready: RegExp },
): Promise<ServiceProcess> {
  if (!existsSync(path.join(ROOT, script))) {
    throw new Error(`${script} is missing: run \`npm run build\` first (\`npm test\` does).`);
  }
  const child = spawn(process.execPath, [path.join(ROOT, script)], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running behind a failed test.
      child.kill('SIGKILL');
      reject(new Error(`${script} did not get ready:\n${output.join('\n')}`));
    }, options.startTimeoutMs ?? 20_000);
    const onLine = (line: string) => {
      output.push(line);
      const match = options.ready.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        lines.filter(Boolean).forEach(onLine);
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before it was ready:\n${output.join('\n')}`));
    });
  });
  return {
    child,
    url: ready[1] ?? '',
    ready,
    output,
    exited,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Runs the built service with `env` (on free ports) until it exits, and resolves with its exit
 * code and everything it wrote. With `stopWhenListening`, a service that gets as far as
 * listening is stopped with SIGTERM there (the barrier: its "listening" line), so a start-up
 * that succeeds ends too.
 */
export function runToExit(
  env: Record<string, string>,
  options: { stopWhenListening?: boolean } = {},
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'src', 'main.js')], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const onData = (chunk: unknown) => {
    output += String(chunk);
    if (options.stopWhenListening && output.includes('payments subgraph listening')) {
      child.kill('SIGTERM');
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}
