import { SandboxControlError } from './store.js';
import type { ChillrEndpoint, ChillrFault } from './types.js';

/** Bounds that keep a typo in a demo script from wedging the simulator for hours. */
const MAX_TIMES = 10_000;
const MAX_DELAY_MS = 10 * 60 * 1000;

interface QueuedFault {
  fault: ChillrFault;
  remaining: number;
}

function bad(message: string): never {
  throw new SandboxControlError(`Invalid fault: ${message}`, 400);
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * Checks a fault that may come from JSON (the control API) or from untyped test code, and returns
 * a clean copy: only the fields its kind uses.
 */
export function parseFault(input: unknown): ChillrFault {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    bad('expected an object like {"endpoint":"collect","kind":"http500"}');
  }
  const f = input as Record<string, unknown>;
  const endpoint = f.endpoint;
  if (endpoint !== 'collect' && endpoint !== 'check_collect_status') {
    bad('endpoint must be "collect" or "check_collect_status"');
  }
  const times = f.times ?? 1;
  if (!isInteger(times, 1, MAX_TIMES)) bad(`times must be an integer from 1 to ${MAX_TIMES}`);
  switch (f.kind) {
    case 'status':
      // 0 is success and would not be a fault; upstream codes are small positive integers.
      if (!isInteger(f.statusCode, 1, 999)) bad('statusCode must be an integer from 1 to 999');
      return { endpoint, kind: 'status', statusCode: f.statusCode, times };
    case 'delay':
      if (!isInteger(f.ms, 0, MAX_DELAY_MS)) bad(`ms must be an integer from 0 to ${MAX_DELAY_MS}`);
      return { endpoint, kind: 'delay', ms: f.ms, times };
    case 'garbage':
    case 'http500':
      return { endpoint, kind: f.kind, times };
    default:
      return bad('kind must be "status", "delay", "garbage" or "http500"');
  }
}

/** Faults per endpoint, oldest first; each call uses up one `times` of the oldest. */
export class FaultQueue {
  private readonly queues: Record<ChillrEndpoint, QueuedFault[]> = {
    collect: [],
    check_collect_status: [],
  };

  add(input: unknown): ChillrFault {
    const fault = parseFault(input);
    this.queues[fault.endpoint].push({ fault, remaining: fault.times ?? 1 });
    return fault;
  }

  take(endpoint: ChillrEndpoint): ChillrFault | undefined {
    const queue = this.queues[endpoint];
    const head = queue[0];
    if (!head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) queue.shift();
    return head.fault;
  }

  pending(): { fault: ChillrFault; remaining: number }[] {
    return [...this.queues.collect, ...this.queues.check_collect_status].map((q) => ({ ...q }));
  }

  clear(): void {
    this.queues.collect.length = 0;
    this.queues.check_collect_status.length = 0;
  }
}
