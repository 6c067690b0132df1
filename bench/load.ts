import autocannon from 'autocannon';
import { serveParent } from './ipc.js';

/**
 * Child process: the load generator (autocannon, programmatically), alone in its process so
 * its CPU and event loop are nobody else's. One run = one (target, round); the bench reads the
 * upstream counters around it.
 */

export interface LoadRun {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  /** Seconds. */
  duration: number;
}

export interface LoadResult {
  /** Completed requests per second over the run. */
  rps: number;
  /** Requests sent (completed + cut short at the end): the denominator of upstream calls. */
  sent: number;
  completed: number;
  /** Non-2xx answers, bodies with GraphQL errors, connection errors, timeouts. */
  bad: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  seconds: number;
}

/** A success is a 200 whose body has data and no GraphQL errors. */
const verifyBody = (body: string): boolean =>
  body.startsWith('{"data":') && !body.includes('"errors":');

async function run(args: LoadRun): Promise<LoadResult> {
  const result = await autocannon({
    url: args.url,
    method: 'POST',
    headers: args.headers,
    body: args.body,
    connections: args.connections,
    duration: args.duration,
    timeout: 30,
    verifyBody,
  });
  const completed = result.requests.total;
  return {
    rps: completed / result.duration,
    sent: result.requests.sent,
    completed,
    bad: result.non2xx + result.mismatches + result.errors + result.timeouts,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    seconds: result.duration,
  };
}

serveParent({}, { run });
