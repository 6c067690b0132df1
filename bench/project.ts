import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { track } from './ipc.js';
import { inspectorUrlIn } from './memory.js';
import type { UpstreamsReady } from './upstreams.js';
import { BENCH_CREDENTIALS, ROUTER_HEADER, ROUTER_SECRET } from './wire.js';

/** The repository root: this file runs as dist/bench/project.js. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ProjectOptions {
  /** `sqlite` (the default store, a file in `dir`), `memory`, or `postgres` (at `storeUrl`). */
  store: 'sqlite' | 'memory' | 'postgres';
  /** STORE_URL of the `postgres` store. */
  storeUrl?: string;
  /** A scratch directory: the SQLite file and the log go there. */
  dir: string;
  upstreams: UpstreamsReady;
  logLevel: string;
  /** Largest batch the bench creates (CHILLR_MAX_BATCH_SIZE must allow it). */
  maxBatchSize: number;
  /**
   * Where node writes a CPU profile of the process when it stops (`--cpu-prof-dir`); undefined
   * = none. A flag, not NODE_OPTIONS: node refuses `--cpu-prof` there.
   */
  profileDir?: string;
  /**
   * Opens node's inspector on a free loopback port (`--inspect=127.0.0.1:0`), so the bench can
   * collect garbage and take heap snapshots from outside. @default false
   */
  inspect?: boolean;
}

export interface ProjectProcess {
  url: string;
  pid: number;
  logFile: string;
  /** The inspector's WebSocket address, when started with `inspect`. */
  inspectorUrl?: string;
  stop(): Promise<void>;
}

/**
 * The environment the project runs with, and why each differs from the default:
 * - NODE_ENV=production with ROUTER_SECRET: what is deployed (no landing page, no
 *   introspection, idempotency keys required, the router secret checked on every request);
 * - CHILLR_BASE_URL/PBG_BASE_URL: the simulators in the bench's upstream process, so the bench
 *   can count the calls;
 * - CHILLR_MAX_BATCH_SIZE: the createCollectBatch row sends 10,000 customers (default 1,000);
 * - PBG_RECONCILE_INTERVAL_MS=0: a sweep in the middle of a run would add PayByGroup calls the
 *   row did not cause.
 * Everything else (caches, WebSocket limits, bulkhead) keeps its default.
 */
function projectEnv(options: ProjectOptions, port: number): Record<string, string> {
  const storeUrl =
    options.store === 'memory'
      ? 'memory://'
      : options.store === 'postgres'
        ? (options.storeUrl ?? '')
        : `sqlite:${join(options.dir, 'payments.db')}`;
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: options.logLevel,
    STORE_URL: storeUrl,
    ROUTER_SECRET,
    ROUTER_SECRET_HEADER: ROUTER_HEADER,
    CHILLR_BASE_URL: options.upstreams.chillrUrl,
    CHILLR_API_KEY: BENCH_CREDENTIALS.chillrApiKey,
    CHILLR_API_SECRET_KEY: BENCH_CREDENTIALS.chillrApiSecretKey,
    CHILLR_MAX_BATCH_SIZE: String(Math.max(1000, options.maxBatchSize)),
    PBG_BASE_URL: options.upstreams.pbgUrl,
    PBG_API_KEY: BENCH_CREDENTIALS.pbgApiKey,
    PBG_MERCHANT_ID: BENCH_CREDENTIALS.pbgMerchantId,
    PBG_MERCHANT_AUTH: BENCH_CREDENTIALS.pbgMerchantAuth,
    PBG_RECONCILE_INTERVAL_MS: '0',
    SUBSCRIPTION_CALLBACK_ENABLED: 'false',
    // The memory store's rows measure the service without a store's cost, knowingly.
    ALLOW_FORGETFUL_STORE: 'true',
    OUTBOX_DIR: join(options.dir, 'outbox'),
  };
}

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts `node dist/src/main.js` (what `npm start` runs) with its log going to a file (read by
 * nobody during the run, so the bench spends nothing on it), and resolves once /readyz answers
 * 200.
 */
export async function startProject(options: ProjectOptions): Promise<ProjectProcess> {
  const main = join(ROOT, 'dist/src/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first.`);
  const port = await freePort();
  const logFile = join(options.dir, `project-${options.store}-${port}.log`);
  const log = openSync(logFile, 'a');
  const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const inspect = options.inspect ? ['--inspect=127.0.0.1:0'] : [];
  const child = spawn(process.execPath, [...profile, ...inspect, main], {
    cwd: ROOT,
    env: projectEnv(options, port),
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  track(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the project exited (${child.exitCode}):\n${tail(logFile)}`);
    }
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline)
      throw new Error(`the project was not ready in 60 s:\n${tail(logFile)}`);
    await sleep(100);
  }
  const inspectorUrl = options.inspect ? inspectorUrlIn(readFileSync(logFile, 'utf8')) : undefined;
  if (options.inspect && !inspectorUrl) throw new Error(`no inspector address in ${logFile}`);
  return {
    url,
    pid: child.pid!,
    logFile,
    ...(inspectorUrl && { inspectorUrl }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function tail(file: string): string {
  return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
}

/**
 * CPU seconds (user + system, all threads) a process has used, from /proc/<pid>/stat. The
 * kernel reports it in USER_HZ ticks, which Linux fixes at 100 per second for this interface.
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Times the kernel took a CPU away from one of the process's threads while it could still run
 * (`nonvoluntary_ctxt_switches`, summed over the status file of each of its tasks in /proc): a
 * round whose latency jumps while its CPU per delivery does not is one where the server waited
 * for a core, and this counts how often.
 */
export function involuntarySwitches(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      total += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return total;
}

/**
 * Resolves once process `pid` uses under 10 % of a core over `windowMs` (half a second unless
 * told; at most `maxMs` in all): a round must not start while the last one's backlog still
 * burns CPU on the shared cores. Resolves false when it never went quiet. The CPU clock ticks
 * in 10 ms, so a window much under 200 ms could not tell 10 % from more.
 */
export async function untilIdle(pid: number, maxMs = 60_000, windowMs = 500): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const before = cpuSeconds(pid);
    await sleep(windowMs);
    if (cpuSeconds(pid) - before < windowMs / 10_000) return true;
  }
  return false;
}
