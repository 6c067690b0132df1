import type { BenchOptions } from '../args.js';
import { untilIdle } from '../project.js';
import { median, ratio } from '../stats.js';
import { fanoutRound, type FanoutRound } from './fanout.js';
import type { FanoutTarget } from './targets.js';

/** A fan-out row: W and the project in interleaved rounds, medians per metric. */
export interface FanoutResult {
  id: string;
  label: string;
  goal: string;
  project: FanoutSummary;
  w: FanoutSummary;
  /** project / W: deliveries per second (higher is better). */
  deliveriesRatio: number;
  /** project / W: CPU per delivery (lower is better). */
  cpuRatio: number;
  rounds: { project: FanoutRound[]; w: FanoutRound[] };
}

export interface FanoutSummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveriesPerSecond: number;
  cpuUsPerDelivery: number;
  /** Over all rounds. */
  arrived: number;
  expected: number;
  duplicates: number;
  sendFailures: number;
  clientBusy: number;
}

export function summary(rounds: FanoutRound[]): FanoutSummary {
  const med = (pick: (r: FanoutRound) => number) => median(rounds.map(pick));
  const sum = (pick: (r: FanoutRound) => number) => rounds.reduce((s, r) => s + pick(r), 0);
  return {
    p50Ms: med((r) => r.p50Ms),
    p99Ms: med((r) => r.p99Ms),
    maxMs: med((r) => r.maxMs),
    deliveriesPerSecond: med((r) => r.deliveriesPerSecond),
    cpuUsPerDelivery: med((r) => r.cpuUsPerDelivery),
    arrived: sum((r) => r.arrived),
    expected: sum((r) => r.expected),
    duplicates: sum((r) => r.duplicates),
    sendFailures: sum((r) => r.sendFailures),
    clientBusy: med((r) => r.clientBusy),
  };
}

const GOALS: Record<string, string> = {
  1000: 'p99 <= 50 ms, CPU/delivery <= 2 x W',
  5000: 'all arrive, >= 0.5 x W deliveries/s, p99 <= 2 s',
};

export async function runFanout(
  subscribers: number,
  targets: { project: FanoutTarget; w: FanoutTarget },
  options: BenchOptions,
): Promise<FanoutResult> {
  const rounds = { project: [] as FanoutRound[], w: [] as FanoutRound[] };
  for (let i = 0; i < options.rounds; i++) {
    const topic = (who: string) => `BENCH_FAN_${subscribers}_${who}_${i}_${Date.now()}`;
    await untilIdle(targets.project.pid);
    rounds.w.push(await fanoutRound(targets.w, topic('W'), subscribers, options));
    await untilIdle(targets.project.pid);
    rounds.project.push(await fanoutRound(targets.project, topic('P'), subscribers, options));
  }
  const project = summary(rounds.project);
  const w = summary(rounds.w);
  return {
    id: `fanout-${subscribers}`,
    label: `fan-out, ${subscribers} subscribers x ${options.eventsPerSecond} events/s`,
    goal: GOALS[subscribers] ?? '-',
    project,
    w,
    deliveriesRatio: ratio(project.deliveriesPerSecond, w.deliveriesPerSecond),
    cpuRatio: ratio(project.cpuUsPerDelivery, w.cpuUsPerDelivery),
    rounds,
  };
}
