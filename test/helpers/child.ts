import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { TEST_SECRETS } from './app.js';

/** The service as its own process (`node dist/src/main.js`), for tests that kill it. */
export interface ChildApp {
  url: string;
  child: ChildProcess;
  /** Every stdout/stderr line so far. */
  lines: string[];
  /** SIGKILL (kill -9) and wait until the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the process to exit. */
  stop(): Promise<void>;
}

/** Tests run from the repository root (vitest's root). */
const MAIN = resolve('dist/src/main.js');

/**
 * Starts `node dist/src/main.js` (built by `npm test`'s schema check) with the test
 * credentials, both sandboxes on free ports, and `env` on top; resolves once it logs that it
 * listens — a barrier, not a sleep. Rejects if it exits first or does not listen within 30 s.
 */
export async function spawnApp(port: number, env: Record<string, string>): Promise<ChildApp> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      CHILLR_SANDBOX_PORT: '0',
      PBG_SANDBOX_PORT: '0',
      LOG_LEVEL: 'info',
      ...TEST_SECRETS,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const listening = new Promise<void>((ready, fail) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (line.includes('payments subgraph listening')) ready();
      });
    }
    void exited.then(() =>
      fail(new Error(`the service exited before listening:\n${lines.join('\n')}`)),
    );
    setTimeout(() => fail(new Error('the service did not listen within 30 s')), 30_000).unref();
  });
  await listening;
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    lines,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
