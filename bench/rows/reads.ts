import type { BenchOptions } from '../args.js';
import type { LFixtures } from '../baselines/l.js';
import type { BenchChild } from '../ipc.js';
import type { LoadResult, LoadRun } from '../load.js';
import { cpuSeconds, untilIdle } from '../project.js';
import { median, ratio } from '../stats.js';
import { BENCH_CREDENTIALS, GRAPHQL_HEADERS } from '../wire.js';
import {
  answer,
  batchesIn,
  createBatch,
  meshShapes,
  settledUpstreamTotal,
  shapes,
  upstreamTotal,
  type Body,
  type Upstreams,
} from './fixtures.js';

/**
 * The read rows: the same query against L, the project and — on the rows whose target names
 * it — M (GraphQL Mesh + Hive Gateway, sent M's own query for the same upstream question),
 * under the same autocannon load, in interleaved rounds (L, project, M, L, project, M, …) so
 * drift on a shared machine hits all alike. Upstream calls per request come from the
 * simulators' counters around each run.
 */

export interface ReadSpec {
  id: string;
  label: string;
  store: 'sqlite' | 'memory' | 'postgres';
  body: Body;
  /** M's query for the same upstream question, on the rows measured against M. */
  mBody?: Body;
  /** The target, as text. */
  goal: string;
}

export interface RunStats extends LoadResult {
  upstreamCalls: number;
  callsPerRequest: number;
  /**
   * The target process's CPU time (user + system, all its threads) per completed request, in
   * µs, from the run's start until the process was idle again; undefined without a pid.
   */
  cpuUsPerRequest?: number;
}

export interface ReadResult {
  id: string;
  label: string;
  goal: string;
  projectRps: number;
  lRps: number;
  /** projectRps / lRps. */
  ratio: number;
  /** Median over the project's rounds. */
  callsPerRequest: number;
  projectP99Ms: number;
  lP99Ms: number;
  /** M's req/s, on the rows measured against M (absent elsewhere). */
  mRps?: number;
  /** projectRps / mRps. */
  mRatio?: number;
  /** Median over M's rounds. */
  mCallsPerRequest?: number;
  mP99Ms?: number;
  /** Median CPU µs per request of the project's process (not its store server's) and of L's. */
  projectCpuUs?: number;
  lCpuUs?: number;
  /** Failed requests (non-2xx, GraphQL errors, timeouts) over all rounds, every target. */
  bad: number;
  rounds: { project: RunStats[]; l: RunStats[]; m?: RunStats[] };
}

/** The rows, in the order they run, over the batches `prepareReads` made. */
function readSpecs(
  batches: {
    terminal: string;
    terminalMemory: string;
    active: string[];
    /** The PostgreSQL project's terminal and pending batch, when it runs. */
    postgres?: { terminal: string; pending: string };
  },
  connections: number,
): ReadSpec[] {
  const { terminal, terminalMemory, active, postgres } = batches;
  const spec = (
    id: string,
    label: string,
    store: ReadSpec['store'],
    bodies: { body: Body; mBody?: Body },
    goal = '-',
  ): ReadSpec => ({ id, label, store, ...bodies, goal });
  const [pending, three] = [active[0]!, active.slice(0, 3)];
  return [
    spec(
      'cached-terminal-sqlite',
      'cached terminal batch read (SQLite)',
      'sqlite',
      { body: shapes.batch(terminal) },
      '>= 1.0 x L',
    ),
    spec('cached-terminal-memory', 'cached terminal batch read (memory store)', 'memory', {
      body: shapes.batch(terminalMemory),
    }),
    spec(
      'pending-same-id',
      `pending batch read, ${connections} clients, same id`,
      'sqlite',
      { body: shapes.batch(pending), mBody: meshShapes.batch(pending) },
      '>= 1.5 x M',
    ),
    spec(
      'group-purchases-pending',
      'groupPurchases(status: PENDING) (SQLite)',
      'sqlite',
      {
        body: shapes.pendingPurchases(),
        mBody: meshShapes.pendingPurchases(BENCH_CREDENTIALS.pbgMerchantId),
      },
      '>= 1.0 x M',
    ),
    spec('aliases-20x3', '20 aliases over 3 ids', 'sqlite', {
      body: shapes.aliases(three),
      mBody: meshShapes.aliases(three),
    }),
    spec('entities-100x10', '_entities, 100 representations over 10 ids', 'sqlite', {
      body: shapes.entities(active),
      mBody: meshShapes.entities(active),
    }),
    ...(postgres ? postgresSpecs(postgres, connections, spec) : []),
  ];
}

/** The cached and pending batch reads again, on the project whose store is PostgreSQL. */
function postgresSpecs(
  batches: { terminal: string; pending: string },
  connections: number,
  spec: (
    id: string,
    label: string,
    store: ReadSpec['store'],
    bodies: { body: Body },
    goal?: string,
  ) => ReadSpec,
): ReadSpec[] {
  return [
    spec(
      'cached-terminal-postgres',
      'cached terminal batch read (PostgreSQL)',
      'postgres',
      { body: shapes.batch(batches.terminal) },
      '>= 0.9 x the SQLite row',
    ),
    spec(
      'pending-same-id-postgres',
      `pending batch read, ${connections} clients, same id (PostgreSQL)`,
      'postgres',
      { body: shapes.batch(batches.pending) },
      '>= 0.9 x the SQLite row',
    ),
  ];
}

/** Creates the data, captures the project's answers, and returns the rows and L's constants. */
export async function prepareReads(
  urls: { sqlite: string; memory: string; postgres?: string },
  upstreams: Upstreams,
  options: BenchOptions,
  schemaFile: string,
): Promise<{ specs: ReadSpec[]; fixtures: LFixtures }> {
  const terminal = await createBatch(urls.sqlite, 'bench terminal');
  const terminalMemory = await createBatch(urls.memory, 'bench terminal (memory)');
  const active: string[] = [];
  for (let i = 0; i < 10; i++) active.push(await createBatch(urls.sqlite, `bench active ${i}`));
  await upstreams.request('expireBatch', terminal);
  await upstreams.request('expireBatch', terminalMemory);
  let postgres: { terminal: string; pending: string } | undefined;
  if (urls.postgres) {
    postgres = {
      terminal: await createBatch(urls.postgres, 'bench terminal (PostgreSQL)'),
      pending: await createBatch(urls.postgres, 'bench active (PostgreSQL)'),
    };
    await upstreams.request('expireBatch', postgres.terminal);
  }

  const specs = readSpecs({ terminal, terminalMemory, active, postgres }, options.connections);
  const answers: Array<Record<string, unknown>> = [];
  for (const spec of specs) {
    const url = urls[spec.store]!;
    await answer(url, spec.body); // the first read of the expired batch caches its status
    answers.push(await answer(url, spec.body));
  }
  const purchases = answers[specs.findIndex((s) => s.id === 'group-purchases-pending')]!
    .groupPurchases as Array<Record<string, unknown>>;
  return { specs, fixtures: { schemaFile, batches: batchesIn(answers), purchases } };
}

/**
 * Asks M each of its queries once before the rounds and refuses to measure one that does not
 * get the project's answer to the same question: no Chillr status may be a failure (a batch
 * Chillr does not know, credentials it refuses), and the pending purchases must be the ones the
 * project listed. M's answers are the REST bodies as they are, so without this an upstream
 * refusal would be counted as a successful request.
 */
export async function checkM(
  mUrl: string,
  specs: ReadSpec[],
  projectPurchases: Array<Record<string, unknown>>,
): Promise<void> {
  for (const spec of specs) {
    if (spec.mBody === undefined) continue;
    const data = await answer(mUrl, spec.mBody);
    const text = JSON.stringify(data);
    if (text.includes('"status":"failure"') || text.includes('"data":null')) {
      throw new Error(`M answered ${spec.id} with an upstream failure: ${text.slice(0, 500)}`);
    }
    if (spec.id !== 'group-purchases-pending') continue;
    const listed = (data.groupPurchases as { group_purchases?: Array<Record<string, unknown>> })
      .group_purchases;
    const ids = (list: Array<Record<string, unknown>>, key: string) =>
      JSON.stringify(list.map((p) => String(p[key])).sort());
    if (!listed || ids(listed, 'purchase_id') !== ids(projectPurchases, 'purchaseId')) {
      throw new Error(`M listed other purchases than the project: ${text.slice(0, 500)}`);
    }
  }
}

/** Where one side of a row sends its query; `pid` when its requests may outlive the run. */
interface Target {
  url: string;
  body: Body;
  pid?: number;
}

/**
 * One load run against one target, with the upstream calls it caused. Requests cut short at
 * the end of a run are still served, and their calls belong to it: M's, 100 aliases each, go
 * on for up to a second in bursts with more than 100 ms of its CPU between them, longer than
 * the upstream counters' settling takes, and were counted against the next run (L's). So
 * a target with a pid is first waited for until its process is idle (under 10 % of a core over
 * 200 ms: a shorter window than the fan-out rounds use, as it runs after every one of M's runs).
 */
async function runOne(
  target: Target,
  duration: number,
  load: BenchChild<unknown>,
  upstreams: Upstreams,
  connections: number,
): Promise<RunStats> {
  const before = await upstreamTotal(upstreams);
  const cpuBefore = target.pid === undefined ? 0 : cpuSeconds(target.pid);
  const args: LoadRun = {
    url: `${target.url}/graphql`,
    body: target.body,
    headers: GRAPHQL_HEADERS,
    connections,
    duration,
  };
  const result = await load.request<LoadResult>('run', args);
  if (target.pid !== undefined) await untilIdle(target.pid, 10_000, 200);
  const cpu = target.pid === undefined ? undefined : cpuSeconds(target.pid) - cpuBefore;
  const upstreamCalls = (await settledUpstreamTotal(upstreams)) - before;
  return {
    ...result,
    upstreamCalls,
    callsPerRequest: upstreamCalls / Math.max(1, result.sent),
    ...(cpu !== undefined && { cpuUsPerRequest: (cpu * 1e6) / Math.max(1, result.completed) }),
  };
}

type Side = 'l' | 'project' | 'm';

/** One row: a short warm-up of each, then the interleaved rounds (L, project, M). */
export async function runRead(
  spec: ReadSpec,
  urls: {
    project: { url: string; pid: number | undefined };
    l: { url: string; pid: number };
    m?: { url: string; pid: number };
  },
  load: BenchChild<unknown>,
  upstreams: Upstreams,
  options: BenchOptions,
): Promise<ReadResult> {
  const targets: Array<[Side, Target]> = [
    ['l', { ...urls.l, body: spec.body }],
    // The project's requests cut short at the end of a run may still ask Chillr (a status whose
    // 1 s window ended): it is waited for until idle too, or such a call lands in L's next run.
    ['project', { ...urls.project, body: spec.body }],
  ];
  if (urls.m !== undefined && spec.mBody !== undefined) {
    targets.push(['m', { ...urls.m, body: spec.mBody }]);
  }
  const run = (target: Target, duration: number) =>
    runOne(target, duration, load, upstreams, options.connections);
  const warmUp = Math.min(2, options.duration / 2);
  for (const [, target] of targets) await run(target, warmUp);
  const rounds: Record<Side, RunStats[]> = { l: [], project: [], m: [] };
  for (let i = 0; i < options.rounds; i++) {
    for (const [side, target] of targets) rounds[side].push(await run(target, options.duration));
  }
  return summarise(spec, rounds);
}

/** Medians over the rounds; M's fields only when M ran. */
function summarise(spec: ReadSpec, rounds: Record<Side, RunStats[]>): ReadResult {
  const med = (side: Side, pick: (r: RunStats) => number) => median(rounds[side].map(pick));
  const projectRps = med('project', (r) => r.rps);
  const lRps = med('l', (r) => r.rps);
  const withM = rounds.m.length > 0;
  const mRps = med('m', (r) => r.rps);
  return {
    id: spec.id,
    label: spec.label,
    goal: spec.goal,
    projectRps,
    lRps,
    ratio: ratio(projectRps, lRps),
    callsPerRequest: med('project', (r) => r.callsPerRequest),
    projectP99Ms: med('project', (r) => r.latencyP99Ms),
    lP99Ms: med('l', (r) => r.latencyP99Ms),
    projectCpuUs: med('project', (r) => r.cpuUsPerRequest ?? Number.NaN),
    lCpuUs: med('l', (r) => r.cpuUsPerRequest ?? Number.NaN),
    ...(withM && {
      mRps,
      mRatio: ratio(projectRps, mRps),
      mCallsPerRequest: med('m', (r) => r.callsPerRequest),
      mP99Ms: med('m', (r) => r.latencyP99Ms),
    }),
    bad: [...rounds.project, ...rounds.l, ...rounds.m].reduce((sum, r) => sum + r.bad, 0),
    rounds: { project: rounds.project, l: rounds.l, ...(withM && { m: rounds.m }) },
  };
}
