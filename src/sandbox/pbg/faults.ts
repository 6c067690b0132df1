import { SandboxError } from './http.js';

export type PbgEndpoint = 'query' | 'action';

/** A failure the next matching upstream request(s) suffer instead of (or before) its answer. */
export interface PbgFault {
  /** Which PBG endpoint fails: merch_get_purch_info.json ('query') or purchase_action.json ('action'). */
  endpoint: PbgEndpoint;
  /**
   * 'http500': a 500 with no effect; 'garbage': a 200 whose body is not JSON, also with no effect;
   * 'delay': the normal answer after `ms`.
   */
  kind: 'http500' | 'garbage' | 'delay';
  /**
   * Delay for kind 'delay', in milliseconds.
   * @default 1000
   */
  ms?: number;
  /**
   * How many consecutive requests to the endpoint suffer this fault.
   * @default 1
   */
  times?: number;
}

/** Bounds that keep a typo in a demo script from wedging the simulator for hours. */
const MAX_TIMES = 10_000;
const MAX_DELAY_MS = 10 * 60 * 1000;

function bad(message: string): never {
  throw new SandboxError(400, `invalid fault: ${message}`);
}

function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Checks a fault from JSON or untyped test code and fills in its defaults. */
export function parseFault(input: unknown): Required<PbgFault> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    bad('expected an object like {"endpoint":"query","kind":"http500"}');
  }
  const f = input as Record<string, unknown>;
  if (f.endpoint !== 'query' && f.endpoint !== 'action') {
    bad('endpoint must be "query" or "action"');
  }
  if (f.kind !== 'http500' && f.kind !== 'garbage' && f.kind !== 'delay') {
    bad('kind must be "http500", "garbage" or "delay"');
  }
  const ms = f.ms ?? 1000;
  if (!isInt(ms, 0, MAX_DELAY_MS)) bad(`ms must be an integer from 0 to ${MAX_DELAY_MS}`);
  const times = f.times ?? 1;
  if (!isInt(times, 1, MAX_TIMES)) bad(`times must be an integer from 1 to ${MAX_TIMES}`);
  return { endpoint: f.endpoint, kind: f.kind, ms, times };
}

/** Faults waiting per endpoint, first in first out; each request takes one use of the head. */
export class FaultQueue {
  private readonly queues: Record<PbgEndpoint, Array<Required<PbgFault>>> = {
    query: [],
    action: [],
  };

  add(fault: Required<PbgFault>): void {
    this.queues[fault.endpoint].push({ ...fault });
  }

  take(endpoint: PbgEndpoint): Required<PbgFault> | undefined {
    const queue = this.queues[endpoint];
    const head = queue[0];
    if (!head) return undefined;
    head.times -= 1;
    if (head.times <= 0) queue.shift();
    return head;
  }
}
