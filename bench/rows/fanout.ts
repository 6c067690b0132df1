import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchOptions } from '../args.js';
import type { Collected, ConnectArgs } from '../fanout-clients.js';
import { startChild, type BenchChild } from '../ipc.js';
import { cpuSeconds, involuntarySwitches } from '../project.js';
import { percentile, sortedUnion } from '../stats.js';
import { ROUTER_HEADER, ROUTER_SECRET, sharedNow } from '../wire.js';
import type { FanoutTarget } from './targets.js';

/**
 * One fan-out round against one server (the project or W): N subscribers in client processes,
 * E events/s for S seconds, sent open-loop on a fixed schedule (a slow answer never delays the
 * next event). Latency is receipt time minus the moment the bench sent that event's push, on the
 * clock all bench processes share; CPU is the server process's own (user + system) over the
 * round, divided by the deliveries.
 */

export interface FanoutRound {
  subscribers: number;
  events: number;
  expected: number;
  /** Deliveries of measured events (each socket counted at most once per event). */
  arrived: number;
  duplicates: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveriesPerSecond: number;
  cpuUsPerDelivery: number;
  /**
   * Times the server's threads were made to wait for a core while they could run, over the
   * round (see involuntarySwitches).
   */
  involuntarySwitches: number;
  /** Events the server did not acknowledge. */
  sendFailures: number;
  /**
   * How busy the client processes were over the round (CPU time / wall time, averaged over
   * them): near 1 means the clients, not the server, may be what limits the numbers.
   */
  clientBusy: number;
}

const SUBSCRIPTION = `subscription ($filter: GroupPurchaseChangeFilter) {
  groupPurchaseChanged(filter: $filter) {
    eventId cursor source changedFields previousStatus receivedAt
    purchase { purchaseId status numPeople commitDeadline purchaseCost { amount currency } }
  }
}`;

export type Clients = Array<BenchChild<unknown>>;

/** Starts the client processes and opens `subscribers` subscriptions to `topic`, spread over them. */
export async function connectClients(
  target: FanoutTarget,
  topic: string,
  subscribers: number,
  procs: number,
): Promise<Clients> {
  const count = Math.max(1, Math.min(procs, subscribers));
  const clients: Clients = [];
  for (let i = 0; i < count; i++) {
    clients.push(await startChild(new URL('../fanout-clients.js', import.meta.url)));
  }
  await Promise.all(
    clients.map((client, i) => {
      const share = Math.floor(subscribers / count) + (i < subscribers % count ? 1 : 0);
      const args: ConnectArgs = {
        url: target.url,
        count: share,
        headers: { [ROUTER_HEADER]: ROUTER_SECRET },
        initPayload: { [ROUTER_HEADER]: ROUTER_SECRET },
        query: SUBSCRIPTION,
        variables: { filter: { purchaseIds: [topic] } },
        concurrency: 50,
      };
      return client.request('connect', args);
    }),
  );
  return clients;
}

const delivered = async (clients: Clients, firstSeq: number, events: number) =>
  (
    await Promise.all(clients.map((c) => c.request<number>('measured', { firstSeq, events })))
  ).reduce((sum, n) => sum + n, 0);

/**
 * The liveness barrier: graphql-ws acknowledges a connection, not a subscription, so warm-up
 * events are sent until one reaches every subscriber — then every subscription is live and the
 * server's queues are empty. Resolves with the last warm-up seq.
 */
export async function untilLive(target: FanoutTarget, topic: string, clients: Clients, n: number) {
  for (let seq = 1; seq <= 10; seq++) {
    await target.send(topic, seq);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if ((await delivered(clients, seq, 1)) >= n) return seq;
      await sleep(50);
    }
  }
  const seen = await Promise.all(
    clients.map((c) => c.request<{ withAny: number; problems: string[] }>('seen')),
  );
  throw new Error(
    `${target.name}: no warm-up event reached all ${n} subscribers after 10 tries; ` +
      `${seen.reduce((sum, s) => sum + s.withAny, 0)} saw any; ` +
      `clients said: ${JSON.stringify(seen.flatMap((s) => s.problems))}`,
  );
}

/** Sends `events` events on a fixed schedule; resolves with each one's send time. */
async function sendEvents(
  target: FanoutTarget,
  topic: string,
  firstSeq: number,
  options: BenchOptions,
) {
  const events = Math.max(1, Math.round(options.eventsPerSecond * options.fanoutSeconds));
  const interval = 1000 / options.eventsPerSecond;
  const sendTimes = new Float64Array(events);
  const answers: Array<Promise<boolean>> = [];
  const start = performance.now() + 10;
  for (let j = 0; j < events; j++) {
    const wait = start + j * interval - performance.now();
    if (wait > 0) await sleep(wait);
    sendTimes[j] = sharedNow();
    answers.push(target.send(topic, firstSeq + j).catch(() => false));
  }
  return { sendTimes, answers };
}

/** Events not acknowledged, counting those still unanswered after `graceMs` more. */
async function unacknowledged(answers: Array<Promise<boolean>>, graceMs: number): Promise<number> {
  const late = sleep(graceMs, false, { ref: false });
  const settled = await Promise.all(answers.map((answer) => Promise.race([answer, late])));
  return settled.filter((ok) => !ok).length;
}

/** What a row does around a round: before the subscribers connect, and once all are live. */
export interface RoundProbe {
  beforeConnect(): Promise<void>;
  live(): Promise<void>;
}

/** One round: connect, warm up, send, wait for every delivery (or the drain deadline), collect. */
export async function fanoutRound(
  target: FanoutTarget,
  topic: string,
  subscribers: number,
  options: BenchOptions,
  probe?: RoundProbe,
): Promise<FanoutRound> {
  await probe?.beforeConnect();
  const clients = await connectClients(target, topic, subscribers, options.clientProcs);
  try {
    const firstSeq = (await untilLive(target, topic, clients, subscribers)) + 1;
    await probe?.live();
    const clientCpu = () => clients.reduce((sum, c) => sum + cpuSeconds(c.pid), 0);
    const wallBefore = performance.now();
    const clientBefore = clientCpu();
    const cpuBefore = cpuSeconds(target.pid);
    const switchesBefore = involuntarySwitches(target.pid);
    const { sendTimes, answers } = await sendEvents(target, topic, firstSeq, options);
    const expected = subscribers * sendTimes.length;
    const deadline = Date.now() + options.drainSeconds * 1000;
    while ((await delivered(clients, firstSeq, sendTimes.length)) < expected) {
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    // The window closes here for every measure at once: deliveries, server CPU, client CPU.
    await Promise.all(clients.map((c) => c.request('freeze')));
    const cpu = cpuSeconds(target.pid) - cpuBefore;
    const switches = involuntarySwitches(target.pid) - switchesBefore;
    const wall = (performance.now() - wallBefore) / 1000;
    const clientBusy = (clientCpu() - clientBefore) / (wall * clients.length);
    const sendFailures = await unacknowledged(answers, 10_000);
    const parts = await Promise.all(
      clients.map((c) => c.request<Collected>('collect', { firstSeq, sendTimes })),
    );
    return {
      ...summarise(parts, { subscribers, sendTimes, cpu, sendFailures }),
      involuntarySwitches: switches,
      clientBusy,
    };
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
  }
}

function summarise(
  parts: Collected[],
  round: { subscribers: number; sendTimes: Float64Array; cpu: number; sendFailures: number },
): Omit<FanoutRound, 'clientBusy' | 'involuntarySwitches'> {
  const events = round.sendTimes.length;
  let arrived = 0;
  let duplicates = 0;
  for (let slot = 0; slot < events; slot++) {
    const got = parts.reduce((sum, part) => sum + part.perSeq[slot]!, 0);
    arrived += Math.min(got, round.subscribers);
    duplicates += Math.max(0, got - round.subscribers);
  }
  const latencies = sortedUnion(parts.map((p) => p.latencies));
  const lastAt = Math.max(...parts.map((p) => p.lastAt));
  const seconds = (lastAt - round.sendTimes[0]!) / 1000;
  return {
    subscribers: round.subscribers,
    events,
    expected: round.subscribers * events,
    arrived,
    duplicates,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length > 0 ? latencies[latencies.length - 1]! : Number.NaN,
    deliveriesPerSecond: seconds > 0 ? arrived / seconds : Number.NaN,
    cpuUsPerDelivery: arrived > 0 ? (round.cpu * 1e6) / arrived : Number.NaN,
    sendFailures: round.sendFailures,
  };
}

/** The project's own `next` frame for this subscription, for W to send (same bytes). */
export async function captureFrame(target: FanoutTarget): Promise<string> {
  const topic = `BENCH_FRAME_${Date.now()}`;
  const clients = await connectClients(target, topic, 1, 1);
  try {
    await untilLive(target, topic, clients, 1);
    const frame = await clients[0]!.request<string | undefined>('sample');
    if (!frame) throw new Error('no frame captured from the project');
    return frame;
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
  }
}
