import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@keyv/redis';

/** The absolute path of `command` on PATH, or undefined. */
export function findOnPath(command: string): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Resolves once a Redis at `url` answers PING; throws after ~5 s or once `exited` is set. */
export async function waitForRedis(
  url: string,
  exited: () => boolean = () => false,
): Promise<void> {
  for (let attempt = 0; attempt < 100 && !exited(); attempt++) {
    const client = createClient({ url, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      await client.close();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`redis-server at ${url} did not start`);
}

/** The redis-server on PATH, or undefined (tests skip then — except on CI, where they fail). */
export const redisServerPath = findOnPath('redis-server');

/**
 * Why a Redis-backed suite is skipped, or undefined when it must run. On CI (`CI` set) a missing
 * redis-server is not a reason to skip: the suite runs and fails loudly in `startRedisServer`.
 */
export function redisSkipReason(): string | undefined {
  if (redisServerPath || process.env.CI) return undefined;
  return 'skipped: redis-server is not on PATH';
}

export interface RedisServer {
  /** e.g. redis://127.0.0.1:41234 */
  url: string;
  port: number;
  /** FLUSHALL: every key goes, pub/sub subscriptions stay. */
  flush(): Promise<void>;
  /** Stops the server and waits for the process to exit. */
  close(): Promise<void>;
}

/**
 * Starts a throwaway `redis-server` (no RDB; an AOF only when asked) on a free port and waits until it answers.
 * Retries on another port if the chosen one was taken between probing and binding.
 */
export async function startRedisServer(
  options: {
    /** Turns the append-only file on (in a fresh temporary directory). @default false */
    appendonly?: boolean;
  } = {},
): Promise<RedisServer> {
  if (!redisServerPath) {
    throw new Error(
      'redis-server is not on PATH; install it (e.g. apt-get install redis-server) — ' +
        'CI is set, so Redis tests are not skipped.',
    );
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await closedPort();
    const url = `redis://127.0.0.1:${port}`;
    const child: ChildProcess = spawn(
      redisServerPath,
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--save', ''],
        ...(options.appendonly
          ? ['--appendonly', 'yes', '--dir', mkdtempSync(join(tmpdir(), 'redis-aof-'))]
          : ['--appendonly', 'no']),
      ],
      { stdio: 'ignore' },
    );
    let exited = false;
    const exit = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exited = true;
        resolve();
      });
      child.once('error', (error) => {
        lastError = error;
        exited = true;
        resolve();
      });
    });
    try {
      await waitForRedis(url, () => exited);
    } catch (error) {
      lastError ??= error;
      if (!exited) child.kill('SIGKILL');
      await exit;
      continue;
    }
    return {
      url,
      port,
      async flush() {
        const admin = createClient({ url });
        await admin.connect();
        await admin.flushAll();
        await admin.close();
      },
      async close() {
        if (!exited) child.kill('SIGTERM');
        await exit;
      },
    };
  }
  throw new Error(`could not start redis-server: ${String(lastError)}`);
}
