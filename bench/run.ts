import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseOptions, type BenchOptions } from './args.js';
import type { LFixtures } from './baselines/l.js';
import { startChild, type BenchChild } from './ipc.js';
import { startBenchPostgres, type BenchPostgres } from './postgres.js';
import { ROOT, startProject, type ProjectProcess } from './project.js';
import { machine, render, type BenchResults } from './report.js';
import { runBulk } from './rows/bulk.js';
import { runCreate } from './rows/create.js';
import { captureFrame } from './rows/fanout.js';
import { projectTarget, wTarget } from './rows/targets.js';
import { runFanout } from './rows/fanout-rows.js';
import { runMany } from './rows/many.js';
import { checkM, prepareReads, runRead } from './rows/reads.js';
import type { UpstreamsReady } from './upstreams.js';

/**
 * `npm run bench`: the benchmark table, measured here and now. Every server is its own process —
 * the upstream simulators, the project (`node dist/src/main.js`, SQLite in a temp dir), L
 * (Apollo Server + express from constants), M (GraphQL Mesh + Hive Gateway over the same
 * simulators), W (raw `ws` broadcast) — and so are the load generator and the WebSocket
 * clients. The project is reached only over its public wire (HTTP, WebSocket, the change-push
 * endpoint, /readyz, /healthz), so the bench keeps measuring whatever the project becomes.
 * Prints ratio tables; writes the raw numbers as JSON.
 */

const here = (path: string) => new URL(path, import.meta.url);
const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

interface Env {
  options: BenchOptions;
  dir: string;
  upstreams: BenchChild<UpstreamsReady>;
  project: ProjectProcess;
  /** The project on PostgreSQL, when PostgreSQL is installed (its rows are left out otherwise). */
  postgres?: ProjectProcess;
  results: BenchResults;
}

async function readsSection({
  options,
  dir,
  upstreams,
  project,
  postgres,
  results,
}: Env): Promise<void> {
  const memory = await startProject({
    store: 'memory',
    dir,
    upstreams: upstreams.ready,
    logLevel: options.logLevel,
    maxBatchSize: options.customers,
    ...(options.profile && { profileDir: options.profile }),
  });
  const children: Array<BenchChild<unknown>> = [];
  try {
    const urls = { sqlite: project.url, memory: memory.url, postgres: postgres?.url };
    const schemaFile = join(ROOT, 'schema.graphql');
    const { specs, fixtures } = await prepareReads(urls, upstreams, options, schemaFile);
    const l = await startChild<unknown>(here('./baselines/l.js'));
    children.push(l);
    const { url: lUrl } = await l.request<{ url: string }>('listen', fixtures satisfies LFixtures);
    const m = await startChild<unknown>(here('./baselines/m.js'));
    children.push(m);
    const { url: mUrl } = await m.request<{ url: string }>('listen', upstreams.ready);
    await checkM(mUrl, specs, fixtures.purchases);
    const load = await startChild<unknown>(here('./load.js'));
    children.push(load);
    for (const spec of specs) {
      if (options.rows && !options.rows.has(spec.id)) continue;
      progress(`reads: ${spec.label}`);
      const pids = { sqlite: project.pid, memory: memory.pid, postgres: postgres?.pid };
      const target = {
        project: { url: urls[spec.store]!, pid: pids[spec.store] },
        l: { url: lUrl, pid: l.pid },
        m: { url: mUrl, pid: m.pid },
      };
      results.reads.push(await runRead(spec, target, load, upstreams, options));
    }
  } finally {
    await Promise.all([memory.stop(), ...children.map((c) => c.stop())]);
  }
}

async function fanoutSection({ options, project, results }: Env): Promise<void> {
  const projectSide = projectTarget(project.url, project.pid);
  const template = await captureFrame(projectSide);
  results.fanoutFrameBytes = Buffer.byteLength(template);
  const w = await startChild<unknown>(here('./baselines/w.js'));
  try {
    const { url } = await w.request<{ url: string }>('listen', { template });
    const targets = { project: projectSide, w: wTarget(url, w.pid) };
    for (const subscribers of options.subscribers) {
      progress(`fan-out: ${subscribers} subscribers`);
      results.fanout.push(await runFanout(subscribers, targets, options));
    }
  } finally {
    await w.stop();
  }
}

/** The memory and push rows: one set of held subscribers serves both when both are asked. */
async function heldSection({ options, dir, upstreams, results }: Env): Promise<void> {
  if (options.heapSnapshots) mkdirSync(options.heapSnapshots, { recursive: true });
  results.held = await runMany({
    options,
    dir,
    upstreams: upstreams.ready,
    memory: options.only.has('memory'),
    push: options.only.has('push'),
    progress,
  });
}

/** The project on the bench's PostgreSQL server, as `startProject` starts the SQLite one. */
function startPostgresProject(
  database: BenchPostgres,
  dir: string,
  upstreams: BenchChild<UpstreamsReady>,
  options: BenchOptions,
): Promise<ProjectProcess> {
  return startProject({
    store: 'postgres',
    storeUrl: database.url,
    dir,
    upstreams: upstreams.ready,
    logLevel: options.logLevel,
    maxBatchSize: options.customers,
    ...(options.profile && { profileDir: options.profile }),
  });
}

function resultsPath(options: BenchOptions, startedAt: string): string {
  return options.out ?? join(ROOT, 'bench/results', `${startedAt.replace(/[:.]/g, '-')}.json`);
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date().toISOString();
  const results: BenchResults = {
    startedAt,
    machine: machine(),
    options: { ...options, only: [...options.only], rows: options.rows && [...options.rows] },
    reads: [],
    fanout: [],
    failures: [],
  };
  const failures = results.failures;
  const dir = mkdtempSync(join(tmpdir(), 'payments-bench-'));
  const upstreams = await startChild<UpstreamsReady>(here('./upstreams.js'));
  const project = await startProject({
    store: 'sqlite',
    dir,
    upstreams: upstreams.ready,
    logLevel: options.logLevel,
    maxBatchSize: options.customers,
    ...(options.profile && { profileDir: options.profile }),
  });
  const database = await startBenchPostgres(dir);
  if (!database) progress('PostgreSQL 15 is not installed: its rows are left out');
  const postgres = database
    ? await startPostgresProject(database, dir, upstreams, options).catch((error: unknown) => {
        failures.push(`postgres: ${(error as Error).stack ?? String(error)}`);
        return undefined;
      })
    : undefined;
  const env: Env = { options, dir, upstreams, project, postgres, results };
  const sections: Array<[string, () => Promise<unknown>]> = [
    ['reads', () => readsSection(env)],
    ['fanout', () => fanoutSection(env)],
    ['memory', () => heldSection(env)],
    // Measured with memory when both run (the same subscribers serve both rows).
    ['push', () => (options.only.has('memory') ? Promise.resolve() : heldSection(env))],
    [
      'bulk',
      async () => {
        results.bulk = await runBulk(project.url, options);
        if (postgres) results.bulkPostgres = await runBulk(postgres.url, options, 'PostgreSQL');
      },
    ],
    [
      'create',
      async () =>
        (results.create = await runCreate(
          project.url,
          upstreams.ready.chillrUrl,
          upstreams,
          options,
        )),
    ],
  ];
  try {
    for (const [name, section] of sections) {
      if (!options.only.has(name)) continue;
      progress(name);
      await section().catch((error: unknown) => {
        failures.push(`${name}: ${(error as Error).stack ?? String(error)}`);
      });
    }
  } finally {
    await project.stop();
    await postgres?.stop();
    await database?.stop();
    await upstreams.stop();
  }
  results.finishedAt = new Date().toISOString();
  console.log(render(results));
  const out = resultsPath(options, startedAt);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nraw results: ${out}`);
  if (failures.length > 0) {
    console.error(`\nFAILED sections (project log kept in ${dir}):\n${failures.join('\n')}`);
    return 1;
  }
  rmSync(dir, { recursive: true, force: true });
  return 0;
}

process.exit(await main());
