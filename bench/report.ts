import { cpus, loadavg, totalmem } from 'node:os';
import type { BenchOptions } from './args.js';
import type { BulkResult } from './rows/bulk.js';
import type { CreateResult } from './rows/create.js';
import type { FanoutResult, FanoutSummary } from './rows/fanout-rows.js';
import type { ManyResult, MemorySummary } from './rows/many.js';
import type { ReadResult } from './rows/reads.js';

/** Everything one run measured, as written to the JSON file. */
export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  machine: ReturnType<typeof machine>;
  options: Omit<BenchOptions, 'only' | 'rows'> & { only: string[]; rows?: string[] };
  reads: ReadResult[];
  fanout: FanoutResult[];
  /** Size of the project's graphql-ws `next` frame that W sends too. */
  fanoutFrameBytes?: number;
  /** The held-subscribers rows: memory per subscription, and 1 push/s to all of them. */
  held?: ManyResult;
  bulk?: BulkResult;
  /** The bulk row on PostgreSQL, when PostgreSQL is installed. */
  bulkPostgres?: BulkResult;
  create?: CreateResult;
  /** Sections that failed, with the error (their rows are missing). */
  failures: string[];
}

export function machine() {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  };
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const ms = (n: number) => (!Number.isFinite(n) ? 'n/a' : n < 10 ? n.toFixed(1) : int(n));

/** A plain-text table: first column left-aligned, the others right-aligned. */
function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** M's cells of a row, or dashes where the row is not measured against M. */
function mCells(r: ReadResult): string[] {
  if (r.mRps === undefined) return ['-', '-', '-'];
  return [int(r.mRps), fixed(r.mRatio ?? Number.NaN), fixed(r.mCallsPerRequest ?? Number.NaN, 3)];
}

function readsTable(reads: ReadResult[]): string {
  return table(
    [
      'work',
      'project req/s',
      'L req/s',
      'x L',
      'upstream calls/req',
      'M req/s',
      'x M',
      'M calls/req',
      'p99 ms project / L / M',
      'CPU µs/req project / L',
      'bad',
      'target',
    ],
    reads.map((r) => [
      r.label,
      int(r.projectRps),
      int(r.lRps),
      fixed(r.ratio),
      fixed(r.callsPerRequest, 3),
      ...mCells(r),
      `${ms(r.projectP99Ms)} / ${ms(r.lP99Ms)} / ${r.mP99Ms === undefined ? '-' : ms(r.mP99Ms)}`,
      `${int(r.projectCpuUs ?? Number.NaN)} / ${int(r.lCpuUs ?? Number.NaN)}`,
      String(r.bad),
      r.goal,
    ]),
  );
}

function fanoutCells(name: string, s: FanoutSummary): string[] {
  return [
    name,
    ms(s.p50Ms),
    ms(s.p99Ms),
    ms(s.maxMs),
    int(s.deliveriesPerSecond),
    `${s.arrived}/${s.expected}`,
    fixed(s.cpuUsPerDelivery, 1),
    `${int(s.clientBusy * 100)} %`,
  ];
}

function fanoutTable(fanout: FanoutResult[]): string {
  const rows = fanout.flatMap((f) => [
    [f.label, '', '', '', '', '', '', '', f.goal],
    [...fanoutCells('  project', f.project), ''],
    [...fanoutCells('  W', f.w), ''],
    [
      '  project / W',
      fixed(f.project.p50Ms / f.w.p50Ms),
      fixed(f.project.p99Ms / f.w.p99Ms),
      '',
      fixed(f.deliveriesRatio),
      '',
      fixed(f.cpuRatio),
      '',
      '',
    ],
  ]);
  return table(
    [
      'work',
      'p50 ms',
      'p99 ms',
      'max ms',
      'deliveries/s',
      'arrived',
      'server CPU us/delivery',
      'clients busy',
      'target',
    ],
    rows,
  );
}

const kib = (bytes: number) => fixed(bytes / 1024, 1);
const mib = (bytes: number) => fixed(bytes / 2 ** 20, 0);

function memoryCells(name: string, s: MemorySummary): string[] {
  return [
    name,
    kib(s.rssPerSubscriptionBytes),
    kib(s.heapPerSubscriptionBytes),
    `${mib(s.rssBeforeBytes)} -> ${mib(s.rssAfterBytes)}`,
  ];
}

/** Memory per held subscription, and the push row in the fan-out table's columns. */
function heldTables(held: ManyResult): string[] {
  const parts: string[] = [];
  const m = held.memory;
  if (m) {
    const rows = [
      [m.label, '', '', '', m.goal],
      [...memoryCells('  project', m.project), ''],
      [...memoryCells('  W', m.w), ''],
      ['  project / W', fixed(m.rssRatio), fixed(m.heapRatio), '', ''],
    ];
    const headers = ['work', 'RSS KiB/sub', 'heap KiB/sub', 'RSS MiB before -> after', 'target'];
    parts.push(`\nHeld subscribers vs W (after full GC)\n${table(headers, rows)}`);
  }
  const p = held.push;
  if (p) {
    const row: FanoutResult = {
      id: held.id,
      label: p.label,
      goal: p.goal,
      project: p.project,
      w: p.w,
      deliveriesRatio: p.project.deliveriesPerSecond / p.w.deliveriesPerSecond,
      cpuRatio: p.cpuRatio,
      rounds: { project: [], w: [] },
    };
    parts.push(`\nPush to held subscribers vs W\n${fanoutTable([row])}`);
  }
  return parts;
}

function writesTable(bulks: BulkResult[], create: CreateResult | undefined): string {
  const rows: string[][] = [];
  for (const bulk of bulks) {
    rows.push([
      bulk.label,
      `${ms(bulk.answerMs)} ms to {"result": true}${bulk.acknowledged ? '' : ' (NOT acknowledged)'}; worst /healthz ${ms(bulk.worstHealthzMs)} ms`,
      bulk.goal,
    ]);
  }
  if (create) {
    rows.push([
      create.label,
      `${ms(create.mutationMs)} ms - ${ms(create.simulatorMs)} ms simulator = ${ms(create.overheadMs)} ms own overhead; ${create.upstreamCalls} upstream calls`,
      create.goal,
    ]);
  }
  return table(['work', 'result (median)', 'target'], rows);
}

/** The human report: machine, settings, and one table per kind of work. */
export function render(results: BenchResults): string {
  const m = results.machine;
  const o = results.options;
  const parts = [
    `Benchmarks, ${results.startedAt}`,
    `machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, load average at start ${m.loadAverageAtStart.join(' ')}`,
    `settings: ${o.rounds} interleaved round(s), medians; autocannon -c ${o.connections} -d ${o.duration} s; fan-out ${o.eventsPerSecond} events/s for ${o.fanoutSeconds} s over ${o.clientProcs} client process(es)`,
    'M = GraphQL Mesh v1 (json-schema sources) + Hive Gateway over the same simulators, asked its own query for the same upstream question (docs/benchmarks.md); x M = project req/s / M req/s.',
  ];
  if (results.reads.length > 0) parts.push(`\nReads vs L and M\n${readsTable(results.reads)}`);
  if (results.fanout.length > 0) {
    const frame = `every delivery is a ${results.fanoutFrameBytes} byte graphql-ws "next" frame (W sends the project's own)`;
    parts.push(`\nFan-out vs W; ${frame}\n${fanoutTable(results.fanout)}`);
  }
  if (results.held) parts.push(...heldTables(results.held));
  const bulks = [results.bulk, results.bulkPostgres].filter((b): b is BulkResult => !!b);
  if (bulks.length > 0 || results.create) {
    parts.push(`\nWrites\n${writesTable(bulks, results.create)}`);
  }
  return parts.join('\n');
}
