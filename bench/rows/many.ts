import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from '../args.js';
import { startChild, type BenchChild } from '../ipc.js';
import { Inspector, rssBytes, type MemorySample } from '../memory.js';
import { startProject, type ProjectProcess } from '../project.js';
import { median, ratio } from '../stats.js';
import type { UpstreamsReady } from '../upstreams.js';
import {
  captureFrame,
  connectClients,
  fanoutRound,
  untilLive,
  type FanoutRound,
  type RoundProbe,
} from './fanout.js';
import { summary, type FanoutSummary } from './fanout-rows.js';
import { projectTarget, wTarget, type FanoutTarget } from './targets.js';

/**
 * The held-subscribers rows: many subscribers (10,000 unless told), one socket each, on a
 * fresh project process and a fresh W in each round, so nothing an earlier row left behind
 * counts.
 *
 * - memory (`--only memory`): resident set and V8 heap after full collections, before the
 *   subscribers connect and once every subscription is live (one warm-up event reached each);
 *   the difference ÷ subscribers is what one held subscription costs.
 * - push (`--only push`): the same subscribers, one event a second for `--push-seconds`: every
 *   delivery must arrive; p99 latency and server CPU per delivery, as on the fan-out rows.
 *
 * Both sections selected, one set of subscribers serves both: memory is read once they are
 * live, before the first measured event.
 */

export interface MemoryRound {
  subscribers: number;
  before: MemorySample;
  after: MemorySample;
  rssPerSubscriptionBytes: number;
  heapPerSubscriptionBytes: number;
}

export interface MemorySummary {
  rssPerSubscriptionBytes: number;
  heapPerSubscriptionBytes: number;
  /** Medians of the rounds' resident sets before and after. */
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

export interface ManyResult {
  id: string;
  subscribers: number;
  memory?: {
    label: string;
    goal: string;
    project: MemorySummary;
    w: MemorySummary;
    /** project / W, per subscription (lower is better). */
    rssRatio: number;
    heapRatio: number;
  };
  push?: {
    label: string;
    goal: string;
    project: FanoutSummary;
    w: FanoutSummary;
    p99Ratio: number;
    cpuRatio: number;
  };
  rounds: {
    project: { memory?: MemoryRound; push?: FanoutRound }[];
    w: { memory?: MemoryRound; push?: FanoutRound }[];
  };
}

export interface ManyEnv {
  options: BenchOptions;
  dir: string;
  upstreams: UpstreamsReady;
  /** Which of the two rows to measure. */
  memory: boolean;
  push: boolean;
  progress(message: string): void;
}

/** A server under test for one round, with how to read its memory after a full GC. */
interface Side {
  target: FanoutTarget;
  /** Full collections, then the heap in use. */
  collect(): Promise<number>;
  /** Heap snapshot into `file` (the project only). */
  snapshot?(file: string): Promise<void>;
  stop(): Promise<void>;
}

const here = (path: string) => new URL(path, import.meta.url);

async function projectSide(env: ManyEnv, round: number): Promise<Side & { frame: string }> {
  const dir = join(env.dir, `held-${round}`);
  mkdirSync(dir, { recursive: true });
  const project: ProjectProcess = await startProject({
    store: 'sqlite',
    dir,
    upstreams: env.upstreams,
    logLevel: env.options.logLevel,
    maxBatchSize: env.options.customers,
    inspect: true,
    ...(env.options.profile && { profileDir: env.options.profile }),
  });
  const inspector = await Inspector.connect(project.inspectorUrl!);
  const target = projectTarget(project.url, project.pid);
  // One subscription and one event first: the code a subscription runs is loaded and compiled
  // before the baseline, so the difference is what subscriptions hold, not what code costs.
  const frame = await captureFrame(target);
  return {
    target,
    frame,
    collect: () => inspector.collect(),
    snapshot: (file) => inspector.snapshot(file),
    async stop() {
      inspector.close();
      await project.stop();
    },
  };
}

async function wSide(frame: string): Promise<Side> {
  const w: BenchChild<unknown> = await startChild(here('../baselines/w.js'), {
    execArgv: ['--expose-gc'],
  });
  const { url } = await w.request<{ url: string }>('listen', { template: frame });
  return {
    target: wTarget(url, w.pid),
    collect: async () => (await w.request<{ heapUsedBytes: number }>('memory')).heapUsedBytes,
    stop: () => w.stop(),
  };
}

/** Reads memory before the subscribers connect and once they are all live. */
function memoryProbe(side: Side, subscribers: number, snapshots: string | undefined) {
  const sample = async (): Promise<MemorySample> => {
    const heapUsedBytes = await side.collect();
    return { heapUsedBytes, rssBytes: rssBytes(side.target.pid) };
  };
  const taken: { before?: MemorySample; after?: MemorySample } = {};
  const snap = async (name: string) => {
    if (snapshots && side.snapshot) await side.snapshot(join(snapshots, name));
  };
  const probe: RoundProbe = {
    async beforeConnect() {
      taken.before = await sample();
      await snap(`held-0.heapsnapshot`);
    },
    async live() {
      taken.after = await sample();
      await snap(`held-${subscribers}.heapsnapshot`);
    },
  };
  const result = (): MemoryRound => {
    const { before, after } = taken as Required<typeof taken>;
    return {
      subscribers,
      before,
      after,
      rssPerSubscriptionBytes: (after.rssBytes - before.rssBytes) / subscribers,
      heapPerSubscriptionBytes: (after.heapUsedBytes - before.heapUsedBytes) / subscribers,
    };
  };
  return { probe, result };
}

/** One round on one side: memory, push, or both over the same subscribers. */
async function roundOn(
  side: Side,
  env: ManyEnv,
  round: number,
): Promise<{ memory?: MemoryRound; push?: FanoutRound }> {
  const n = env.options.heldSubscribers;
  const topic = `BENCH_HELD_${side.target.name}_${round}_${Date.now()}`;
  const snapshots = side.snapshot && round === 0 ? env.options.heapSnapshots : undefined;
  const memory = env.memory ? memoryProbe(side, n, snapshots) : undefined;
  if (env.push) {
    const options = { ...env.options, eventsPerSecond: 1, fanoutSeconds: env.options.pushSeconds };
    const push = await fanoutRound(side.target, topic, n, options, memory?.probe);
    return { push, ...(memory && { memory: memory.result() }) };
  }
  await memory!.probe.beforeConnect();
  const clients = await connectClients(side.target, topic, n, env.options.clientProcs);
  try {
    await untilLive(side.target, topic, clients, n);
    await memory!.probe.live();
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
  }
  return { memory: memory!.result() };
}

function memorySummary(rounds: MemoryRound[]): MemorySummary {
  const med = (pick: (r: MemoryRound) => number) => median(rounds.map(pick));
  return {
    rssPerSubscriptionBytes: med((r) => r.rssPerSubscriptionBytes),
    heapPerSubscriptionBytes: med((r) => r.heapPerSubscriptionBytes),
    rssBeforeBytes: med((r) => r.before.rssBytes),
    rssAfterBytes: med((r) => r.after.rssBytes),
  };
}

export async function runMany(env: ManyEnv): Promise<ManyResult> {
  const n = env.options.heldSubscribers;
  const rounds: ManyResult['rounds'] = { project: [], w: [] };
  for (let i = 0; i < env.options.rounds; i++) {
    env.progress(`held subscribers: ${n}, round ${i + 1}, project`);
    const project = await projectSide(env, i);
    try {
      rounds.project.push(await roundOn(project, env, i));
    } finally {
      await project.stop();
    }
    env.progress(`held subscribers: ${n}, round ${i + 1}, W`);
    const w = await wSide(project.frame);
    try {
      rounds.w.push(await roundOn(w, env, i));
    } finally {
      await w.stop();
    }
  }
  return summarise(n, rounds, env);
}

function summarise(n: number, rounds: ManyResult['rounds'], env: ManyEnv): ManyResult {
  const count = n.toLocaleString('en-US');
  const result: ManyResult = { id: `held-${n}`, subscribers: n, rounds };
  if (env.memory) {
    const project = memorySummary(rounds.project.map((r) => r.memory!));
    const w = memorySummary(rounds.w.map((r) => r.memory!));
    result.memory = {
      label: `${count} idle subscribers, memory per subscription after GC`,
      goal: 'RSS <= 1.5 x W',
      project,
      w,
      rssRatio: ratio(project.rssPerSubscriptionBytes, w.rssPerSubscriptionBytes),
      heapRatio: ratio(project.heapPerSubscriptionBytes, w.heapPerSubscriptionBytes),
    };
  }
  if (env.push) {
    const project = summary(rounds.project.map((r) => r.push!));
    const w = summary(rounds.w.map((r) => r.push!));
    result.push = {
      label: `${count} subscribers x 1 push/s for ${env.options.pushSeconds} s`,
      goal: 'all arrive, p99 <= 1.0 x W, CPU/delivery <= 1.2 x W',
      project,
      w,
      p99Ratio: ratio(project.p99Ms, w.p99Ms),
      cpuRatio: ratio(project.cpuUsPerDelivery, w.cpuUsPerDelivery),
    };
  }
  return result;
}
