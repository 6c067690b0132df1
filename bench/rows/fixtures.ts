import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchChild } from '../ipc.js';
import type { UpstreamCounts, UpstreamsReady } from '../upstreams.js';
import { gql } from '../wire.js';

/**
 * The read rows' data and query shapes. Batches are created through the project's own
 * createCollectBatch (so it keeps their names and amounts, as in real use); one is expired at
 * the simulator, and the first read of it caches its terminal status. Every query's answer is
 * captured from the project and becomes L's constants (same bytes for the same query).
 */

export type Upstreams = BenchChild<UpstreamsReady>;

/** A GraphQL POST body, ready for autocannon. */
export type Body = string;

const BATCH_FIELDS = `id name status expiryDate
  summary { total paid pending amountRequested { amount currency } amountPaid { amount currency } }
  payments { msisdn status amount { amount currency } }`;
const SHORT_BATCH_FIELDS = 'id status summary { total paid pending }';
const PURCHASE_FIELDS = `purchaseId status rawStatus name numPeople commitDeadline createdAt
  purchaseCost { amount currency }`;

const body = (query: string, variables?: Record<string, unknown>): Body =>
  JSON.stringify({ query, variables });

export const shapes = {
  batch: (id: string) => body(`{ collectBatch(id: "${id}") { ${BATCH_FIELDS} } }`),
  aliases: (ids: string[], count = 20) =>
    body(
      `{ ${Array.from({ length: count }, (_, i) => `a${i}: collectBatch(id: "${ids[i % ids.length]}") { ${SHORT_BATCH_FIELDS} }`).join(' ')} }`,
    ),
  entities: (ids: string[], count = 100) =>
    body(
      `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on CollectBatch { ${SHORT_BATCH_FIELDS} } } }`,
      {
        representations: Array.from({ length: count }, (_, i) => ({
          __typename: 'CollectBatch',
          id: ids[i % ids.length],
        })),
      },
    ),
  pendingPurchases: () =>
    body(`{ groupPurchases(filter: { status: [PENDING] }) { ${PURCHASE_FIELDS} } }`),
};

/**
 * M's side of the same rows (bench/baselines/mesh-sources.ts): the same upstream question with
 * comparable fields. M's graph is the REST answers as they are, so where the project selects a
 * batch's `summary` (counts of its payments by status), M selects every customer's
 * `payment_status` those counts come from. Mesh has no `_entities`: M's side of that row is
 * 100 aliases over the same 10 ids.
 */
const MESH_STATUS_FIELDS = `status status_code message
  data { batch_id batch_status customers { msisdn payment_status transaction_id message non_chillr_customers } }`;
const MESH_SHORT_STATUS_FIELDS =
  'status data { batch_id batch_status customers { payment_status } }';
const MESH_PURCHASE_FIELDS = `purchase_id status purchase_name num_people commit_deadline created_at
  purchase_cost cost_per_person`;

const meshAliases = (ids: string[], count: number) =>
  body(
    `{ ${Array.from({ length: count }, (_, i) => `a${i}: collectStatus(input: { batch_id: "${ids[i % ids.length]}" }) { ${MESH_SHORT_STATUS_FIELDS} }`).join(' ')} }`,
  );

export const meshShapes = {
  batch: (id: string) =>
    body(`{ collectStatus(input: { batch_id: "${id}" }) { ${MESH_STATUS_FIELDS} } }`),
  aliases: (ids: string[], count = 20) => meshAliases(ids, count),
  entities: (ids: string[], count = 100) => meshAliases(ids, count),
  /** The project sends its merchant id with every query (PBG_MERCHANT_ID); so does M's query. */
  pendingPurchases: (merchantId: string) =>
    body(
      `{ groupPurchases(input: { merchant_id: "${merchantId}", status: ["pending"] }) { group_purchases { ${MESH_PURCHASE_FIELDS} } } }`,
    ),
};

const CREATE = `mutation ($input: CreateCollectBatchInput!) {
  createCollectBatch(input: $input) { batchId userErrors { code message } }
}`;

/** A date `days` from now, YYYY-MM-DD. */
export const inDays = (days: number) =>
  new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/** Creates a batch of `customers` through the project; resolves with its id. */
export async function createBatch(url: string, name: string, customers = 5): Promise<string> {
  const data = await gql(url, CREATE, {
    input: {
      name,
      expiryDate: inDays(30),
      customers: Array.from({ length: customers }, (_, i) => ({
        // 10 digits; a number ending in 1 is not a Chillr user in the sandbox (one in ten).
        msisdn: `98${String(i).padStart(8, '0')}`,
        amount: `${100 + i}.50`,
      })),
      idempotencyKey: randomUUID(),
    },
  });
  const created = data.createCollectBatch as { batchId: string | null; userErrors: unknown[] };
  if (!created.batchId) throw new Error(`createCollectBatch: ${JSON.stringify(created)}`);
  return created.batchId;
}

/** POSTs a prepared body and returns its data (throws on errors). */
export async function answer(url: string, prepared: Body): Promise<Record<string, unknown>> {
  const { query, variables } = JSON.parse(prepared) as {
    query: string;
    variables?: Record<string, unknown>;
  };
  return gql(url, query, variables);
}

/** Every object with an `id` found in answers, merged per id (L's batches). */
export function batchesIn(answers: unknown[]): Record<string, Record<string, unknown>> {
  const batches: Record<string, Record<string, unknown>> = {};
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const object = value as Record<string, unknown>;
    if (typeof object.id === 'string') {
      batches[object.id] = merged(batches[object.id] ?? {}, object);
      return;
    }
    Object.values(object).forEach(visit);
  };
  answers.forEach(visit);
  return batches;
}

/** `b` over `a`, objects merged field by field (two shapes select different sub-fields). */
function merged(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const before = out[key];
    const bothObjects = [before, value].every(
      (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
    );
    out[key] = bothObjects
      ? merged(before as Record<string, unknown>, value as Record<string, unknown>)
      : value;
  }
  return out;
}

/** Sum of every upstream call counter. */
export async function upstreamTotal(upstreams: Upstreams): Promise<number> {
  const counts = await upstreams.request<UpstreamCounts>('counts');
  return counts.chillrCollect + counts.chillrStatus + counts.pbgQuery + counts.pbgAction;
}

/**
 * The upstream total once it has stopped moving (two reads 100 ms apart agree, at most 5 s):
 * when a load run ends, requests it cut short are still being served and still call upstream,
 * and those calls belong to the run.
 */
export async function settledUpstreamTotal(upstreams: Upstreams): Promise<number> {
  let last = await upstreamTotal(upstreams);
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const now = await upstreamTotal(upstreams);
    if (now === last) return now;
    last = now;
  }
  return last;
}
