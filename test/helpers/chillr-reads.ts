import { ChillrClient } from '../../src/chillr/client.js';
import { CollectService, type CollectServiceOptions } from '../../src/chillr/service.js';
import type { Idempotency } from '../../src/idempotency/claims.js';
import { silentLogger } from '../../src/logger.js';
import type { Outbox } from '../../src/idempotency/outbox.js';
import type { ChillrSimulator } from '../../src/sandbox/chillr/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { isoDateInDays, startTestChillr, TEST_SECRETS } from './app.js';

/**
 * A CollectService for read-path tests, over the Chillr simulator (real HTTP) and a memory
 * store: the simulator, the store, a client, a factory for services with the options a case
 * varies, and a fresh pending batch per case.
 */
export interface ChillrReads {
  sim: ChillrSimulator;
  store: Store;
  client: ChillrClient;
  /** A service that only reads: nothing is created, so nothing is claimed or queued. */
  service(options?: Partial<CollectServiceOptions>): CollectService;
  /** A fresh pending batch of one customer (each case its own: a terminal one stays stored). */
  newBatch(msisdn?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startChillrReads(): Promise<ChillrReads> {
  const sim = await startTestChillr();
  const store = await openStore('memory://');
  const client = new ChillrClient({
    baseUrl: sim.url,
    apiKey: TEST_SECRETS.CHILLR_API_KEY,
    apiSecretKey: TEST_SECRETS.CHILLR_API_SECRET_KEY,
    timeoutMs: 5000,
    logger: silentLogger,
  });
  return {
    sim,
    store,
    client,
    service: (options) =>
      new CollectService({
        client,
        store,
        idempotency: {} as Idempotency,
        outbox: {} as Outbox,
        logger: silentLogger,
        maxBatchSize: 10,
        statusCacheMs: 0,
        ...options,
      }),
    async newBatch(msisdn = '9447741400') {
      const created = await client.createBatch({
        name: 'reads',
        expiryDate: isoDateInDays(30),
        customers: [{ msisdn, amount: '200.00' }],
      });
      if (created.kind !== 'created') throw new Error('the simulator refused the batch');
      sim.resetCalls();
      return created.batchId;
    },
    async close() {
      await store.close();
      await sim.close();
    },
  };
}
