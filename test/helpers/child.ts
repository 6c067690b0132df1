import type { ChildProcess } from 'node:child_process';
import { TEST_SECRETS } from './app.js';
import { spawnService } from './process.js';

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

/**
 * Starts `node dist/src/main.js` (built by `npm test`'s schema check) with the test
 * credentials, both sandboxes on free ports, and `env` on top; resolves once it logs that it
 * listens — a barrier, not a sleep. Rejects if it exits first or does not listen within 30 s.
 */
export async function spawnApp(port: number, env: Record<string, string>): Promise<ChildApp> {
  const service = await spawnService(
    {
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      CHILLR_SANDBOX_PORT: '0',
      PBG_SANDBOX_PORT: '0',
      LOG_LEVEL: 'info',
      ...TEST_SECRETS,
      ...env,
    },
    { startTimeoutMs: 30_000 },
  );
  return {
    url: `http://127.0.0.1:${port}`,
    child: service.child,
    lines: service.output,
    async kill9() {
      await service.stop('SIGKILL');
    },
    async stop() {
      await service.stop('SIGTERM');
    },
  };
}
