import 'reflect-metadata';
import { startApp } from '../src/app.js';
import { ChillrClient } from '../src/chillr/client.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';

/**
 * `npm run bench`: what the per-request DataLoader and the terminal-status cache buy, measured
 * against a baseline in the same run. The baseline is what a resolver without a loader does:
 * one Chillr status call per alias, straight through the REST client. Every number is a
 * count or a rate measured here, on this machine, now; the table prints ratios so runs on
 * different machines compare.
 */

const ROUNDS = Number(process.argv[2] ?? 100);
const ALIASES = 20;
const DISTINCT = 3;

const logger = createLogger({ level: 'silent' });
const config = loadConfig({
  NODE_ENV: 'test',
  PORT: '0',
  HOST: '127.0.0.1',
  STORE_URL: 'memory://',
  CHILLR_SANDBOX_PORT: '0',
  PBG_SANDBOX_PORT: '0',
  PBG_CACHE_TTL_MS: '0',
});
const app = await startApp(config, { logger });
const chillr = app.sandbox.chillr!;

async function gql(query: string): Promise<void> {
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
}

const ids: string[] = [];
for (let i = 0; i < DISTINCT; i++) {
  const created = await app.services.collect.createBatch({
    name: `bench ${i}`,
    expiryDate: new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10),
    customers: [{ msisdn: '9447741462', amount: '100' }],
  });
  ids.push(created.batchId!);
}
const expiredId = ids[0]!;
const aliasQuery = (batchIds: string[]) =>
  `{ ${Array.from({ length: ALIASES }, (_, i) => `a${i}: collectBatch(id: "${batchIds[i % batchIds.length]}") { id status summary { total } }`).join(' ')} }`;

interface Row {
  name: string;
  callsPerOp: number;
  opsPerSec: number;
}

async function measure(name: string, op: () => Promise<unknown>): Promise<Row> {
  await op(); // warm-up
  chillr.resetCalls();
  const started = performance.now();
  for (let i = 0; i < ROUNDS; i++) await op();
  const seconds = (performance.now() - started) / 1000;
  return {
    name,
    callsPerOp: chillr.calls.checkCollectStatus / ROUNDS,
    opsPerSec: ROUNDS / seconds,
  };
}

const client = new ChillrClient({
  baseUrl: chillr.url,
  apiKey: config.chillr.apiKey,
  apiSecretKey: config.chillr.apiSecretKey,
  timeoutMs: 5000,
  logger,
});

const baseline = await measure(`baseline: ${ALIASES} status calls, no loader`, () =>
  Promise.all(Array.from({ length: ALIASES }, (_, i) => client.checkStatus(ids[i % DISTINCT]!))),
);
const loader = await measure(`graph: ${ALIASES} aliases over ${DISTINCT} ids`, () =>
  gql(aliasQuery(ids)),
);
chillr.expireBatch(expiredId);
await gql(aliasQuery([expiredId])); // caches the terminal status
const cached = await measure(`graph: ${ALIASES} aliases, 1 expired id (cached)`, () =>
  gql(aliasQuery([expiredId])),
);

const rows = [baseline, loader, cached];
const pad = (text: string, width: number) => text.padEnd(width);
console.log(`\n${ROUNDS} rounds each; ratios against the baseline measured in this run\n`);
console.log(
  `${pad('case', 48)}${pad('upstream calls/op', 20)}${pad('calls ratio', 14)}${pad('ops/s', 10)}ops/s ratio`,
);
for (const row of rows) {
  console.log(
    `${pad(row.name, 48)}${pad(row.callsPerOp.toFixed(2), 20)}${pad((row.callsPerOp / baseline.callsPerOp).toFixed(3), 14)}${pad(row.opsPerSec.toFixed(0), 10)}${(row.opsPerSec / baseline.opsPerSec).toFixed(2)}`,
  );
}
await app.close();
