import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, symlink } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRETS } from './helpers/app.js';
import { freePort, ROOT, tempDir } from './helpers/process.js';

/**
 * `npm start` as a container or a terminal runs it: a real npm process (which builds, then
 * `exec`s node). SIGTERM to npm alone — what `docker stop` sends to a container whose command is
 * `npm start` — must stop the server too, not leave node serving as an orphan; Ctrl-C (SIGINT to
 * the terminal's process group) ends it with the exit status the README states.
 *
 * Each run builds into its own temporary copy of the project (sources linked, dist/ its own), so
 * its `npm run build` never rewrites the dist/ other test files are running.
 */

const SIGNAL_BOUND_MS = 6_000;

async function project(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const tmp = await tempDir('payments-npm-start-');
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) {
    await copyFile(path.join(ROOT, file), path.join(tmp.dir, file));
  }
  for (const dir of ['src', 'resolvers', 'bench', 'examples', 'node_modules']) {
    await symlink(path.join(ROOT, dir), path.join(tmp.dir, dir));
  }
  return tmp;
}

/** Whether something accepts connections on 127.0.0.1:`port` now. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Started {
  npm: ChildProcess;
  ports: number[];
  output: string[];
  exited: Promise<number | string>;
}

async function npmStart(dir: string): Promise<Started> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const npm = spawn('npm', ['start'], {
    cwd: dir,
    // Its own process group, as a terminal's foreground job is: SIGINT can go to all of it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(ports[0]),
      CHILLR_SANDBOX_PORT: String(ports[1]),
      PBG_SANDBOX_PORT: String(ports[2]),
      STORE_URL: 'memory://',
      ...TEST_SECRETS,
    },
  });
  const output: string[] = [];
  const exited = new Promise<number | string>((resolve) =>
    npm.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output.push(String(chunk));
      if (/payments subgraph listening/.test(String(chunk))) resolve();
    };
    npm.stdout!.on('data', onData);
    npm.stderr!.on('data', (chunk: Buffer) => output.push(String(chunk)));
    void exited.then((code) => reject(new Error(`npm start exited ${code}: ${output.join('')}`)));
  });
  return { npm, ports, output, exited };
}

describe('npm start and signals', () => {
  let tmp: Awaited<ReturnType<typeof project>>;
  const started: Started[] = [];

  beforeAll(async () => {
    tmp = await project();
  });
  afterAll(async () => {
    for (const s of started) {
      try {
        process.kill(-s.npm.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await tmp?.remove();
  });

  it(
    'should stop the server when only npm gets SIGTERM: nothing listens 6 s later',
    { timeout: 180_000 },
    async () => {
      const s = await npmStart(tmp.dir);
      started.push(s);
      for (const port of s.ports) expect(await listening(port), `port ${port}`).toBe(true);
      const signalled = Date.now();
      s.npm.kill('SIGTERM'); // npm's pid only, as docker stop does
      const code = await s.exited;
      // The bound the acceptance names: by then every port is closed.
      const left = SIGNAL_BOUND_MS - (Date.now() - signalled);
      if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
      for (const port of s.ports) expect(await listening(port), `port ${port}`).toBe(false);
      expect(s.output.join('')).toContain('shutting down');
      expect(code).toBe(0);
    },
  );

  it(
    'should exit 0 on Ctrl-C (SIGINT to the foreground process group), as the README says',
    { timeout: 180_000 },
    async () => {
      const s = await npmStart(tmp.dir);
      started.push(s);
      process.kill(-s.npm.pid!, 'SIGINT');
      expect(await s.exited).toBe(0);
      for (const port of s.ports) expect(await listening(port), `port ${port}`).toBe(false);
    },
  );
});
