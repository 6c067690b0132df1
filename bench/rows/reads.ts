import type { BenchOptions } from '../args.js';
import type { LFixtures } from '../baselines/l.js';
import type { BenchChild } from '../ipc.js';
import type { LoadResult, LoadRun } from '../load.js';
import { median, ratio } from '../stats.js';
import { GRAPHQL_HEADERS } from '../wire.js';
import {
  answer,
  batchesIn,
  createBatch,
  settledUpstreamTotal,
  shapes,
  upstreamTotal,
  type Body,
  type Upstreams,
} from './fixtures.js';

/**
 * The read rows: the same query against L and the project, under the same autocannon load, in
 * interleaved rounds (L, project, L, project, …) so drift on a shared machine hits both alike.
 * Upstream calls per request come from the simulators' counters around each run.
 */

export interface ReadSpec {
  id: string;
  label: string;
  store: 'sqlite' | 'memory';
  body: Body;
  /** The target, as text (reference; M is not measured). */
  goal: string;
}

export interface RunStats extends LoadResult {
  upstreamCalls: number;
  callsPerRequest: number;
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
  /** Failed requests (non-2xx, GraphQL errors, timeouts) over all rounds, both targets. */
  bad: number;
  rounds: { project: RunStats[]; l: RunStats[] };
}

/** The rows, in the order they run, over the batches `prepareReads` made. */
function readSpecs(
  batches: { terminal: string; terminalMemory: string; active: string[] },
  connections: number,
): ReadSpec[] {
  const { terminal, terminalMemory, active } = batches;
  const spec = (
    id: string,
    label: string,
    store: ReadSpec['store'],
    body: Body,
    goal = '-',
  ): ReadSpec => ({ id, label, store, body, goal });
  return [
    spec(
      'cached-terminal-sqlite',
      'cached terminal batch read (SQLite)',
      'sqlite',
      shapes.batch(terminal),
      '>= 1.0 x L',
    ),
    spec(
      'cached-terminal-memory',
      'cached terminal batch read (memory store)',
      'memory',
      shapes.batch(terminalMemory),
    ),
    spec(
      'pending-same-id',
      `pending batch read, ${connections} clients, same id`,
      'sqlite',
      shapes.batch(active[0]!),
      '>= 1.5 x M',
    ),
    spec(
      'group-purchases-pending',
      'groupPurchases(status: PENDING) (SQLite)',
      'sqlite',
      shapes.pendingPurchases(),
      '>= 1.0 x M',
    ),
    spec('aliases-20x3', '20 aliases over 3 ids', 'sqlite', shapes.aliases(active.slice(0, 3))),
    spec(
      'entities-100x10',
      '_entities, 100 representations over 10 ids',
      'sqlite',
      shapes.entities(active),
    ),
  ];
}

/** Creates the data, captures the project's answers, and returns the rows and L's constants. */
export async function prepareReads(
  urls: { sqlite: string; memory: string },
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

  const specs = readSpecs({ terminal, terminalMemory, active }, options.connections);
  const answers: Array<Record<string, unknown>> = [];
  for (const spec of specs) {
    const url = urls[spec.store];
    await answer(url, spec.body); // the first read of the expired batch caches its status
    answers.push(await answer(url, spec.body));
  }
  const purchases = answers[specs.findIndex((s) => s.id === 'group-purchases-pending')]!
    .groupPurchases as Array<Record<string, unknown>>;
  return { specs, fixtures: { schemaFile, batches: batchesIn(answers), purchases } };
}

/** One row: a short warm-up of each, then the interleaved rounds. */
export async function runRead(
  spec: ReadSpec,
  urls: { project: string; l: string },
  load: BenchChild<unknown>,
  upstreams: Upstreams,
  options: BenchOptions,
): Promise<ReadResult> {
  const runOne = async (url: string, duration: number): Promise<RunStats> => {
    const before = await upstreamTotal(upstreams);
    const args: LoadRun = {
      url: `${url}/graphql`,
      body: spec.body,
      headers: GRAPHQL_HEADERS,
      connections: options.connections,
      duration,
    };
    const result = await load.request<LoadResult>('run', args);
    const upstreamCalls = (await settledUpstreamTotal(upstreams)) - before;
    return { ...result, upstreamCalls, callsPerRequest: upstreamCalls / Math.max(1, result.sent) };
  };
  const warmUp = Math.min(2, options.duration / 2);
  await runOne(urls.l, warmUp);
  await runOne(urls.project, warmUp);
  const rounds = { project: [] as RunStats[], l: [] as RunStats[] };
  for (let i = 0; i < options.rounds; i++) {
    rounds.l.push(await runOne(urls.l, options.duration));
    rounds.project.push(await runOne(urls.project, options.duration));
  }
  const projectRps = median(rounds.project.map((r) => r.rps));
  const lRps = median(rounds.l.map((r) => r.rps));
  return {
    id: spec.id,
    label: spec.label,
    goal: spec.goal,
    projectRps,
    lRps,
    ratio: ratio(projectRps, lRps),
    callsPerRequest: median(rounds.project.map((r) => r.callsPerRequest)),
    projectP99Ms: median(rounds.project.map((r) => r.latencyP99Ms)),
    lP99Ms: median(rounds.l.map((r) => r.latencyP99Ms)),
    bad: [...rounds.project, ...rounds.l].reduce((sum, r) => sum + r.bad, 0),
    rounds,
  };
}
