import type { TestApp } from './app.js';

/** The seeded EXPIRED batch of Chillr's document (terminal). */
export const TERMINAL_BATCH = '5743fcb263686923fc0d0000';

export const BATCH_QUERY = `query Batch($id: ID!) {
  collectBatch(id: $id) { id status payments { msisdn status amount { amount currency } } summary { total paid } }
}`;
export const ENTITIES_QUERY = `query Entities($r: [_Any!]!) {
  _entities(representations: $r) {
    ... on CollectBatch { id status summary { total } }
    ... on GroupPurchase { purchaseId purchaseStatus: status purchaseCost { amount currency } }
  }
}`;

export interface Reply {
  status: number;
  headers: Headers;
  body: string;
  json: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
    extensions?: Record<string, unknown>;
  };
}

/** POSTs a GraphQL operation to /graphql over real HTTP, with extra headers. */
export async function post(
  app: TestApp,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.text();
  return { status: response.status, headers: response.headers, body, json: JSON.parse(body) };
}

/**
 * The value of one metric from GET /metrics over HTTP: the sum of every sample whose labels
 * include all of `labels`.
 */
export async function metric(
  app: TestApp,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(app.metricsUrl)).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([^{\s]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (wanted.every((label) => (match[2] ?? '').includes(label))) sum += Number(match[3]);
  }
  return sum;
}

/**
 * What executing a collectBatch read costs, counted three independent ways: Chillr status
 * calls (the simulator's own count), collectBatch DataLoader batches (one per execution that
 * resolved a batch) and the service's batch-status lookups (one per batch it read).
 */
export async function batchWork(app: TestApp) {
  return {
    upstream: app.sandbox.chillr!.calls.checkCollectStatus,
    loaderBatches: await metric(app, 'payments_dataloader_batch_size_count', {
      loader: 'collectBatch',
    }),
    statusLookups: await metric(app, 'payments_cache_requests_total', { cache: 'batch_status' }),
  };
}

/** `payments_response_cache_requests_total` by result. */
export async function cacheResults(app: TestApp) {
  const of = (result: string) => metric(app, 'payments_response_cache_requests_total', { result });
  return { hit: await of('hit'), miss: await of('miss'), bypass: await of('bypass') };
}

/** A new ACTIVE batch (expires in a month), created through the graph. */
export async function createActiveBatch(app: TestApp, name: string): Promise<string> {
  const created = await post(
    app,
    `mutation Create($input: CreateCollectBatchInput!) { createCollectBatch(input: $input) { batchId } }`,
    {
      input: {
        name,
        expiryDate: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10),
        customers: [{ msisdn: '9447741462', amount: '10' }],
      },
    },
  );
  const batchId = (created.json.data?.createCollectBatch as { batchId?: string } | undefined)
    ?.batchId;
  if (!batchId) throw new Error(`create failed: ${created.body}`);
  return batchId;
}

/** A new batch made terminal (EXPIRED) in the Chillr simulator. */
export async function createTerminalBatch(app: TestApp, name: string): Promise<string> {
  const batchId = await createActiveBatch(app, name);
  app.sandbox.chillr!.expireBatch(batchId);
  return batchId;
}
