import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../bench/report.js';
import { postgresSkipReason } from './helpers/postgres.js';
import { ROOT, tempDir } from './helpers/process.js';

/**
 * `npm run bench -- --quick` with tiny counts, as a real process (dist/bench/run.js, built by
 * `npm test`'s schema check): every row of the report is there with numbers, the upstream calls
 * are counted (for M too), and at these counts every fan-out delivery arrives, from the project
 * and from W.
 * It asserts what was measured, never how fast: timings on a shared machine prove nothing.
 */

const TINY = [
  '--quick',
  '--duration=0.5',
  '--connections=10',
  '--subscribers=20,50',
  '--fanout-seconds=0.5',
  '--drain-seconds=30',
  '--held-subscribers=30',
  '--push-seconds=2',
  '--bulk-events=200',
  '--customers=200',
];

const READ_ROWS = [
  'cached-terminal-sqlite',
  'cached-terminal-memory',
  'pending-same-id',
  'group-purchases-pending',
  'aliases-20x3',
  'entities-100x10',
  // The PostgreSQL rows, where PostgreSQL 15 is installed (the bench leaves them out otherwise).
  ...(postgresSkipReason() === undefined
    ? ['cached-terminal-postgres', 'pending-same-id-postgres']
    : []),
];

/** The rows measured against M (GraphQL Mesh + Hive Gateway), as the targets name it. */
const M_ROWS = ['pending-same-id', 'group-purchases-pending', 'aliases-20x3', 'entities-100x10'];
/** Of those, the ones whose one request asks many questions (20 and 100 aliases). */
const M_MANY = ['aliases-20x3', 'entities-100x10'];

/** The bench process, so a timed-out run is stopped (SIGTERM: it then stops its children). */
let bench: ChildProcess | undefined;

function runBench(
  out: string,
  profileDir: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = path.join(ROOT, 'dist/bench/run.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first.`);
  const child = spawn(
    process.execPath,
    [script, ...TINY, `--out=${out}`, `--profile=${profileDir}`],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  bench = child;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run bench -- --quick (tiny counts)', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let run: Awaited<ReturnType<typeof runBench>>;
  let results: BenchResults;

  beforeAll(async () => {
    temp = await tempDir('bench-test-');
    const out = path.join(temp.dir, 'results.json');
    run = await runBench(out, path.join(temp.dir, 'profiles'));
    if (run.code !== 0) throw new Error(`bench exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
    results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
  }, 240_000);
  afterAll(async () => {
    if (bench && bench.exitCode === null && bench.signalCode === null) bench.kill('SIGTERM');
    await temp?.remove();
  });

  it('should print every row with numbers and the machine it ran on', () => {
    expect(run.stdout).toMatch(/machine: \d+ cores .*Node v\d+/);
    expect(run.stdout).toContain('M = GraphQL Mesh v1');
    for (const read of results.reads) {
      // label, project req/s, L req/s, ratio, upstream calls per request, then M's three or dashes
      const m = M_ROWS.includes(read.id)
        ? '[\\d,]+\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d{3}'
        : '-\\s+-\\s+-';
      expect(run.stdout).toMatch(
        new RegExp(
          `${escape(read.label)}\\s+[\\d,]+\\s+[\\d,]+\\s+\\d+\\.\\d\\d\\s+\\d+\\.\\d{3}\\s+${m}\\s`,
        ),
      );
    }
    for (const fanout of results.fanout) {
      expect(run.stdout).toContain(fanout.label);
      expect(run.stdout).toMatch(/ {2}project \/ W\s+\d+\.\d\d\s+\d+\.\d\d/);
    }
    expect(run.stdout).toMatch(/one change push of 200 events \(SQLite\)\s+[\d.,]+ ms to/);
    expect(run.stdout).toMatch(/createCollectBatch, 200 customers\s+[\d.,]+ ms - [\d.,]+ ms/);
  });

  it('should write a CPU profile of each project process it started with --profile', () => {
    // Two projects (SQLite and memory), each its main thread and the SQLite one its state log
    // writer thread: node writes one .cpuprofile per thread as the process stops.
    const dir = path.join(temp.dir, 'profiles');
    const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const name of files) {
      const profile = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as { nodes?: unknown };
      expect(Array.isArray(profile.nodes), name).toBe(true);
    }
  });

  it('should measure every read row against L without a failed request, counting upstream calls', () => {
    expect(results.failures).toEqual([]);
    expect(results.reads.map((r) => r.id)).toEqual(READ_ROWS);
    for (const read of results.reads) {
      expect(read.bad, read.id).toBe(0);
      expect(read.projectRps, read.id).toBeGreaterThan(0);
      expect(read.lRps, read.id).toBeGreaterThan(0);
      expect(Number.isFinite(read.ratio), read.id).toBe(true);
      expect(read.callsPerRequest, read.id).toBeGreaterThanOrEqual(0);
      // CPU per request, read from /proc for both sides: a load run costs each some CPU.
      expect(read.projectCpuUs, read.id).toBeGreaterThan(0);
      expect(read.lCpuUs, read.id).toBeGreaterThan(0);
      for (const round of read.rounds.project) expect(round.sent).toBeGreaterThan(0);
      // L answers from constants: a call counted against it would be a counting error.
      for (const round of read.rounds.l) expect(round.upstreamCalls, read.id).toBe(0);
    }
  });

  it('should measure M on the rows that name it, each of its requests reaching upstream', () => {
    for (const read of results.reads) {
      if (!M_ROWS.includes(read.id)) {
        expect(read.mRps, read.id).toBeUndefined();
        expect(read.rounds.m, read.id).toBeUndefined();
        continue;
      }
      expect(read.mRps, read.id).toBeGreaterThan(0);
      expect(Number.isFinite(read.mRatio), read.id).toBe(true);
      expect(read.rounds.m?.length, read.id).toBe(1);
      for (const round of read.rounds.m ?? []) {
        expect(round.sent, read.id).toBeGreaterThan(0);
        expect(round.upstreamCalls, read.id).toBeGreaterThan(0);
      }
      // Mesh does not dedupe: its requests call upstream, more than once per request when one
      // asks 20 or 100 questions (the project's cache and single flight stay far below 1).
      expect(read.mCallsPerRequest, read.id).toBeGreaterThan(M_MANY.includes(read.id) ? 1 : 0);
    }
  });

  it('should deliver every fan-out event to every subscriber, from the project and from W', () => {
    expect(results.fanout.map((f) => f.project.expected)).toEqual([200, 500]);
    for (const fanout of results.fanout) {
      for (const side of [fanout.project, fanout.w]) {
        expect(side.arrived, fanout.id).toBe(side.expected);
        expect(side.duplicates, fanout.id).toBe(0);
        expect(side.sendFailures, fanout.id).toBe(0);
        expect(side.p99Ms, fanout.id).toBeGreaterThan(0);
        expect(Number.isFinite(side.cpuUsPerDelivery), fanout.id).toBe(true);
      }
      for (const round of [...fanout.rounds.project, ...fanout.rounds.w]) {
        expect(Number.isInteger(round.involuntarySwitches), fanout.id).toBe(true);
        expect(round.involuntarySwitches, fanout.id).toBeGreaterThanOrEqual(0);
      }
    }
    expect(results.fanoutFrameBytes).toBeGreaterThan(100);
  });

  it('should measure memory per held subscription and deliver every push to them, project and W', () => {
    const held = results.held!;
    expect(held.subscribers).toBe(30);
    for (const side of [held.memory!.project, held.memory!.w]) {
      // Thirty sockets hold something: the resident set and the heap both grew.
      expect(side.rssAfterBytes).toBeGreaterThan(0);
      expect(Number.isFinite(side.heapPerSubscriptionBytes)).toBe(true);
      expect(Number.isFinite(side.rssPerSubscriptionBytes)).toBe(true);
    }
    expect(Number.isFinite(held.memory!.heapRatio)).toBe(true);
    expect(run.stdout).toMatch(/30 idle subscribers, memory per subscription after GC/);
    expect(run.stdout).toMatch(/ {2}project \/ W\s+\d+\.\d\d\s+-?\d+\.\d\d/);
    for (const side of [held.push!.project, held.push!.w]) {
      expect(side.expected).toBe(60);
      expect(side.arrived).toBe(side.expected);
      expect(side.duplicates).toBe(0);
      expect(side.sendFailures).toBe(0);
    }
    expect(run.stdout).toContain('30 subscribers x 1 push/s for 2 s');
  });

  it('should acknowledge the bulk push and count the create mutation upstream calls', () => {
    expect(results.bulk?.acknowledged).toBe(true);
    expect(results.bulk?.rounds[0]?.probes).toBeGreaterThan(0);
    if (postgresSkipReason() === undefined) {
      expect(results.bulkPostgres?.acknowledged).toBe(true);
      expect(run.stdout).toMatch(/one change push of 200 events \(PostgreSQL\)\s+[\d.,]+ ms to/);
    }
    // At least Chillr's collect: the mutation cannot create a batch without calling it.
    expect(results.create?.upstreamCalls).toBeGreaterThanOrEqual(1);
    expect(results.create?.simulatorMs).toBeGreaterThan(0);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
