import { parseArgs } from 'node:util';

/** What one `npm run bench` measures and how hard; `--quick` is the small, ~1 minute run. */
export interface BenchOptions {
  quick: boolean;
  /** Interleaved rounds per row (medians are reported). */
  rounds: number;
  /** Seconds of load per read round. */
  duration: number;
  /** autocannon connections (-c 50, as the targets were measured). */
  connections: number;
  /** The two fan-out rows' subscriber counts. */
  subscribers: number[];
  eventsPerSecond: number;
  /** Seconds of events per fan-out round. */
  fanoutSeconds: number;
  /** How long a fan-out round waits for stragglers after its last event. */
  drainSeconds: number;
  /** Processes the fan-out subscribers are spread over. */
  clientProcs: number;
  /** Events in the one big change push. */
  bulkEvents: number;
  /** Customers in the big createCollectBatch. */
  customers: number;
  /** The project's LOG_LEVEL (info, as deployed: the per-request log line is part of the cost). */
  logLevel: string;
  /** Subscribers the held-subscribers rows (memory, push) open, one socket each. */
  heldSubscribers: number;
  /** Seconds of one event a second on the push row. */
  pushSeconds: number;
  /**
   * A directory for heap snapshots of the memory row's project (first round): with none held,
   * and with every subscriber held; undefined = none.
   */
  heapSnapshots: string | undefined;
  /** Sections to run: reads, fanout, memory, push, bulk, create. */
  only: Set<string>;
  /** Read rows to run, by id (e.g. pending-same-id); undefined = every read row. */
  rows: Set<string> | undefined;
  /** Where the raw results go (JSON). */
  out: string | undefined;
  /**
   * A directory for a V8 CPU profile of each project process (`--cpu-prof`), written when the
   * process stops; undefined = no profile. Profiling slows the project: its numbers are not
   * comparable with an unprofiled run's.
   */
  profile: string | undefined;
}

export const SECTIONS = ['reads', 'fanout', 'memory', 'push', 'bulk', 'create'] as const;

const USAGE = `npm run bench [-- options]
  --quick                 small counts, about a minute (defaults below in brackets)
  --rounds N              interleaved rounds per row, medians reported (3) [1]
  --duration S            seconds of load per read round (10) [2]
  --connections C         autocannon connections (50)
  --subscribers A,B       fan-out subscriber counts (1000,5000) [100,500]
  --events-per-second E   fan-out event rate (20)
  --fanout-seconds S      seconds of events per fan-out round (10) [2]
  --drain-seconds S       wait for late deliveries after the last event (120) [30]
  --client-procs P        processes holding the subscribers (2)
  --held-subscribers N    subscribers of the memory and push rows (10000) [200]
  --push-seconds S        seconds of 1 event/s on the push row (10) [3]
  --heap-snapshots DIR    heap snapshots of the memory row's project, 0 and N held (none)
  --bulk-events N         events in the big change push (5000)
  --customers N           customers in the big createCollectBatch (10000)
  --log-level L           the project's LOG_LEVEL (info)
  --only a,b              sections: ${SECTIONS.join(',')} (all)
  --rows a,b              read rows by id, e.g. pending-same-id,group-purchases-pending (all)
  --out FILE              raw results as JSON (bench/results/<time>.json)
  --profile DIR           a CPU profile of each project process into DIR (none; slows it)`;

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`--${name} must be a positive number; got ${JSON.stringify(raw)}\n${USAGE}`);
  }
  return value;
}

export function parseOptions(argv: string[]): BenchOptions {
  const strings = [
    'rounds',
    'duration',
    'connections',
    'subscribers',
    'events-per-second',
    'fanout-seconds',
    'drain-seconds',
    'client-procs',
    'held-subscribers',
    'push-seconds',
    'heap-snapshots',
    'bulk-events',
    'customers',
    'log-level',
    'only',
    'rows',
    'out',
    'profile',
  ];
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...Object.fromEntries(strings.map((name) => [name, { type: 'string' as const }])),
      quick: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  }) as { values: Record<string, string | boolean | undefined> };
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick === true;
  const str = (name: string) => values[name] as string | undefined;
  const only = new Set((str('only') ?? SECTIONS.join(',')).split(',').filter(Boolean));
  const unknown = [...only].filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`--only: unknown section ${unknown.join(', ')}\n${USAGE}`);
  const subscribers = (str('subscribers') ?? (quick ? '100,500' : '1000,5000'))
    .split(',')
    .map((n) => Math.round(positive('subscribers', n, 1)));
  return {
    quick,
    rounds: Math.round(positive('rounds', str('rounds'), quick ? 1 : 3)),
    duration: positive('duration', str('duration'), quick ? 2 : 10),
    connections: Math.round(positive('connections', str('connections'), 50)),
    subscribers,
    eventsPerSecond: positive('events-per-second', str('events-per-second'), 20),
    fanoutSeconds: positive('fanout-seconds', str('fanout-seconds'), quick ? 2 : 10),
    drainSeconds: positive('drain-seconds', str('drain-seconds'), quick ? 30 : 120),
    clientProcs: Math.round(positive('client-procs', str('client-procs'), 2)),
    heldSubscribers: Math.round(
      positive('held-subscribers', str('held-subscribers'), quick ? 200 : 10_000),
    ),
    pushSeconds: Math.round(positive('push-seconds', str('push-seconds'), quick ? 3 : 10)),
    heapSnapshots: str('heap-snapshots'),
    bulkEvents: Math.round(positive('bulk-events', str('bulk-events'), 5000)),
    customers: Math.round(positive('customers', str('customers'), 10_000)),
    logLevel: str('log-level') ?? 'info',
    only,
    rows: str('rows') === undefined ? undefined : new Set(str('rows')!.split(',').filter(Boolean)),
    out: str('out'),
    profile: str('profile'),
  };
}
