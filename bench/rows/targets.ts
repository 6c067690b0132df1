import { acknowledged, BENCH_CREDENTIALS, changePush } from '../wire.js';

/**
 * The two servers a fan-out round can measure, behind one interface: each is told about event
 * `seq` by an HTTP POST (the project by PayByGroup's change push, W by its broadcast endpoint),
 * so latency starts from the same kind of moment on both.
 */

export interface FanoutTarget {
  name: string;
  url: string;
  pid: number;
  /** Announces event `seq` on `topic`; resolves true when the server acknowledged it. */
  send(topic: string, seq: number): Promise<boolean>;
}

/** A change push that changes `numPeople` to `seq`: always a change, never a repeat. */
export function projectTarget(url: string, pid: number): FanoutTarget {
  return {
    name: 'project',
    url,
    pid,
    send: async (topic, seq) => {
      const pushed = await changePush(url, [
        {
          purchase_id: topic,
          merchant_id: BENCH_CREDENTIALS.pbgMerchantId,
          status: 'pending',
          num_people: seq,
          purchase_cost: '1250.00 USD',
          commit_deadline: '2099-05-27 23:59 PST',
        },
      ]);
      return acknowledged(pushed.status, pushed.text);
    },
  };
}

export function wTarget(url: string, pid: number): FanoutTarget {
  return {
    name: 'W',
    url,
    pid,
    send: async (_topic, seq) => {
      const response = await fetch(`${url}/broadcast`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ seq }),
      });
      return acknowledged(response.status, await response.text());
    },
  };
}
