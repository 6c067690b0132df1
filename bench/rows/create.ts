import { randomUUID } from 'node:crypto';
import type { BenchOptions } from '../args.js';
import { median } from '../stats.js';
import type { UpstreamCounts } from '../upstreams.js';
import { BENCH_CREDENTIALS, GRAPHQL_HEADERS } from '../wire.js';
import { inDays, type Upstreams } from './fixtures.js';

/**
 * createCollectBatch with N customers. Its own overhead is the mutation's time minus the time
 * the simulator takes for the same upstream calls, made directly (collect, then one status
 * read, as the mutation does) from the bench in the same round. Bodies are serialised before
 * the clock starts on both sides, so the subtraction leaves the project's own work: validation,
 * idempotency claim and record, the batch record, serialising the upstream request, parsing the
 * answers, and GraphQL.
 */

export interface CreateRound {
  mutationMs: number;
  simulatorMs: number;
  overheadMs: number;
  upstreamCalls: number;
}

export interface CreateResult {
  id: string;
  label: string;
  goal: string;
  customers: number;
  mutationMs: number;
  simulatorMs: number;
  overheadMs: number;
  upstreamCalls: number;
  rounds: CreateRound[];
}

const MUTATION = `mutation ($input: CreateCollectBatchInput!) {
  createCollectBatch(input: $input) {
    batchId batch { id status summary { total pending } } nonChillrCustomers userErrors { code message }
  }
}`;

function customers(count: number, round: number) {
  return Array.from({ length: count }, (_, i) => ({
    msisdn: `9${round % 10}${String(i).padStart(8, '0')}`,
    amount: `${100 + (i % 900)}.25`,
  }));
}

/** Times one POST of an already serialised body; resolves with ms and the parsed answer. */
async function timedPost(url: string, headers: Record<string, string>, body: string) {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  const ms = performance.now() - started;
  return { ms, status: response.status, json: JSON.parse(text) as Record<string, unknown> };
}

/** The same two calls the mutation makes, straight to the simulator. */
async function direct(chillrUrl: string, count: number, round: number): Promise<number> {
  const auth = {
    api_key: BENCH_CREDENTIALS.chillrApiKey,
    api_secret_key: BENCH_CREDENTIALS.chillrApiSecretKey,
  };
  const [y, m, d] = inDays(30).split('-');
  const collect = JSON.stringify({
    ...auth,
    name: `bench direct ${round}`,
    expiry_date: `${d}-${m}-${y}`,
    customers: customers(count, round),
  });
  const json = { 'content-type': 'application/json' };
  const created = await timedPost(`${chillrUrl}/api/v5/collect`, json, collect);
  const batchId = (created.json.data as { batch_id?: string } | undefined)?.batch_id;
  if (!batchId) throw new Error(`direct collect failed: ${JSON.stringify(created.json)}`);
  const status = JSON.stringify({ ...auth, batch_id: batchId });
  const read = await timedPost(`${chillrUrl}/api/v5/check_collect_status`, json, status);
  return created.ms + read.ms;
}

async function mutation(url: string, count: number, round: number, upstreams: Upstreams) {
  const body = JSON.stringify({
    query: MUTATION,
    variables: {
      input: {
        name: `bench create ${round}`,
        expiryDate: inDays(30),
        customers: customers(count, round),
        idempotencyKey: randomUUID(),
      },
    },
  });
  const before = await upstreams.request<UpstreamCounts>('counts');
  const answer = await timedPost(`${url}/graphql`, GRAPHQL_HEADERS, body);
  const after = await upstreams.request<UpstreamCounts>('counts');
  const payload = (answer.json.data as { createCollectBatch?: { batchId?: string } } | undefined)
    ?.createCollectBatch;
  if (answer.status !== 200 || answer.json.errors || !payload?.batchId) {
    throw new Error(`createCollectBatch failed: ${JSON.stringify(answer.json).slice(0, 500)}`);
  }
  const calls =
    after.chillrCollect - before.chillrCollect + (after.chillrStatus - before.chillrStatus);
  return { ms: answer.ms, calls };
}

export async function runCreate(
  url: string,
  chillrUrl: string,
  upstreams: Upstreams,
  options: BenchOptions,
): Promise<CreateResult> {
  const n = options.customers;
  await direct(chillrUrl, n, 0); // warm-up, not counted
  await mutation(url, n, 0, upstreams);
  const rounds: CreateRound[] = [];
  for (let i = 1; i <= options.rounds; i++) {
    const simulatorMs = await direct(chillrUrl, n, i);
    const { ms, calls } = await mutation(url, n, i, upstreams);
    rounds.push({
      mutationMs: ms,
      simulatorMs,
      overheadMs: ms - simulatorMs,
      upstreamCalls: calls,
    });
  }
  return {
    id: 'create-batch',
    label: `createCollectBatch, ${n} customers`,
    goal: '-',
    customers: n,
    mutationMs: median(rounds.map((r) => r.mutationMs)),
    simulatorMs: median(rounds.map((r) => r.simulatorMs)),
    overheadMs: median(rounds.map((r) => r.overheadMs)),
    upstreamCalls: median(rounds.map((r) => r.upstreamCalls)),
    rounds,
  };
}
