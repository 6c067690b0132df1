import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchOptions } from '../args.js';
import { median } from '../stats.js';
import { acknowledged, BENCH_CREDENTIALS } from '../wire.js';

/**
 * One change push of N new purchases (N changes to store and log) while /healthz is probed
 * back to back, 5 ms apart: the time to PayByGroup's `{"result": true}`, and the worst probe
 * latency — how long the event loop was held. No baseline: M stores nothing.
 */

export interface BulkRound {
  answerMs: number;
  worstHealthzMs: number;
  probes: number;
  acknowledged: boolean;
}

export interface BulkResult {
  id: string;
  label: string;
  goal: string;
  events: number;
  answerMs: number;
  worstHealthzMs: number;
  /** Every round's push was acknowledged (`{"result": true}`, nothing refused). */
  acknowledged: boolean;
  rounds: BulkRound[];
}

function pushBody(events: number, tag: string): string {
  return JSON.stringify({
    merchant_auth: BENCH_CREDENTIALS.pbgMerchantAuth,
    events: Array.from({ length: events }, (_, i) => ({
      purchase_id: `BULK_${tag}_${i}`,
      merchant_id: BENCH_CREDENTIALS.pbgMerchantId,
      inventory_id: 'INV_BENCH',
      purchase_name: 'Bench stay',
      status: 'pending',
      purchase_cost: '1250.00 USD',
      num_people: 2 + (i % 5),
      num_paid: 0,
      commit_deadline: '2099-05-27 23:59 PST',
      created_at: '2026-05-01 08:30 PST',
    })),
  });
}

async function bulkRound(url: string, events: number, tag: string): Promise<BulkRound> {
  const body = pushBody(events, tag);
  let pushing = true;
  let worst = 0;
  let probes = 0;
  const probing = (async () => {
    while (pushing) {
      const started = performance.now();
      await (await fetch(`${url}/healthz`)).text();
      worst = Math.max(worst, performance.now() - started);
      probes += 1;
      await sleep(5);
    }
  })();
  await sleep(20); // the prober's connection is open before the push starts
  const started = performance.now();
  const response = await fetch(`${url}/pbg/change_push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  const answerMs = performance.now() - started;
  pushing = false;
  await probing;
  return {
    answerMs,
    worstHealthzMs: worst,
    probes,
    acknowledged: acknowledged(response.status, text),
  };
}

/** The bulk row on the project at `url`, whose store is `store` ('SQLite', 'PostgreSQL'). */
export async function runBulk(
  url: string,
  options: BenchOptions,
  store = 'SQLite',
): Promise<BulkResult> {
  const run = `${Date.now()}`;
  await bulkRound(url, Math.min(100, options.bulkEvents), `${run}_warm`);
  const rounds: BulkRound[] = [];
  for (let i = 0; i < options.rounds; i++) {
    rounds.push(await bulkRound(url, options.bulkEvents, `${run}_${i}`));
  }
  return {
    id: store === 'SQLite' ? 'bulk-push' : `bulk-push-${store.toLowerCase()}`,
    label: `one change push of ${options.bulkEvents} events (${store})`,
    goal: 'answer <= 300 ms, /healthz worst <= 50 ms',
    events: options.bulkEvents,
    answerMs: median(rounds.map((r) => r.answerMs)),
    worstHealthzMs: median(rounds.map((r) => r.worstHealthzMs)),
    acknowledged: rounds.every((r) => r.acknowledged),
    rounds,
  };
}
