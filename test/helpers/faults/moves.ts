import { expect } from 'vitest';
import { unique, type Answer, type Caller, type Reply, type Session } from './harness.js';
import type { Fault, FaultProxy } from './proxy.js';
import type { Upstreams } from './upstreams.js';

/**
 * The three money moves every case runs: a Chillr create, a PayByGroup REFUND and a PayByGroup
 * COLLECT_FUNDS. A {@link Subject} is one fresh request (its own key, batch name or purchase)
 * plus what tells whether and how often the upstream acted on it.
 */

export interface Subject {
  move: MoveName;
  /** The idempotency key. */
  key: string;
  /** The name the proxy counts acts by. */
  actKey: string;
  proxy: FaultProxy;
  /** The next money-moving request of this subject suffers `fault` at the proxy. */
  inject(fault: Fault): void;
  /** Sends the mutation with `key` (or with no key when `withKey` is false). */
  call(app: Caller, withKey?: boolean): Promise<Reply>;
  /** The answer of a request the upstream carried out and the service learnt of. */
  succeeded(answer: Answer): boolean;
  /** How many times the simulator itself shows the effect (0 or 1; a batch per act for Chillr). */
  effects(): Promise<number>;
}

export type MoveName = 'create' | 'refund' | 'collect';

export const MOVES: MoveName[] = ['create', 'refund', 'collect'];

const PBG_ACTIONS = {
  refund: { action: 'REFUND', word: 'refund', to: 'refunded' },
  collect: { action: 'COLLECT_FUNDS', word: 'collect_funds', to: 'collected' },
} as const;

/** A fresh subject for `move`: a new key and a new batch name or purchase. */
export async function subject(
  move: MoveName,
  session: Session,
  upstreams: Upstreams,
  key = unique(`key-${move}`),
  /** Batch name or purchase id; fresh unless given (a seeded soak names its own). */
  name?: string,
): Promise<Subject> {
  if (move === 'create') {
    const batch = name ?? unique('batch');
    return {
      move,
      key,
      actKey: batch,
      proxy: upstreams.chillr,
      inject: (fault) => upstreams.chillr.inject(fault, { key: batch }),
      call: (app, withKey = true) => session.create(app, batch, withKey ? key : undefined),
      succeeded: (a) => !a.error && typeof a.batchId === 'string' && a.userErrors.length === 0,
      effects: async () => (await upstreams.batchesNamed(batch)).length,
    };
  }
  const { action, word, to } = PBG_ACTIONS[move];
  const purchaseId = await upstreams.newPurchase('payment_completed', name);
  return {
    move,
    key,
    actKey: `${purchaseId}/${word}`,
    proxy: upstreams.pbg,
    inject: (fault) => upstreams.pbg.inject(fault, { key: `${purchaseId}/${word}` }),
    call: (app, withKey = true) => session.act(app, purchaseId, action, withKey ? key : undefined),
    succeeded: (a) => !a.error && a.accepted === true && a.userErrors.length === 0,
    effects: async () => ((await upstreams.purchaseStatus(purchaseId)) === to ? 1 : 0),
  };
}

/**
 * The subject's upstream acted exactly once, by the proxy's count and by the simulator, and was
 * sent the request `sends` times (1, or 2 where a retry re-sent an action the read-back showed
 * had not happened — a second send PBG would refuse is still a send this service should not make).
 */
export async function expectActedOnce(s: Subject, sends = 1): Promise<void> {
  expect(s.proxy.acts(s.actKey), `upstream acts for ${s.actKey}`).toBe(1);
  expect(await s.effects(), `simulator effects for ${s.actKey}`).toBe(1);
  expect(s.proxy.received(s.actKey), `requests sent upstream for ${s.actKey}`).toBe(sends);
}

/** Every answer equals the first one. */
export function expectSameAnswers(answers: Answer[]): void {
  for (const answer of answers) expect(answer).toEqual(answers[0]);
}
