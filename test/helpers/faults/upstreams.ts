import { randomUUID } from 'node:crypto';
import { startChillrSimulator, type ChillrSimulator } from '../../../src/sandbox/chillr/index.js';
import { startPbgSimulator, type PbgSimulator } from '../../../src/sandbox/pbg/index.js';
import { TEST_SECRETS } from '../app.js';
import { CHILLR_SHAPE, PBG_SHAPE, startFaultProxy, type FaultProxy } from './proxy.js';

/**
 * Both upstream simulators, standalone, each behind a {@link FaultProxy}; the service is pointed
 * at the proxies through `env`. The simulators are the source of truth for what happened
 * upstream; the proxies count acts per key from the simulators' own answers.
 */

/** The merchant id the tests configure: distinctive, so a leak of it is found by search. */
export const MERCHANT_ID = 'merchant-7c1f4e9a2b5d';

/** Everything the leak check looks for: every credential and the merchant id. */
export const SECRET_VALUES = [...Object.values(TEST_SECRETS), MERCHANT_ID];

/**
 * What a leak looks like: each secret whole, and every 10-character window of its random tail
 * (after the last '-'), so a secret cut in half by a length limit is still found. Ten random
 * characters do not turn up in ids or timestamps by chance.
 */
export const LEAK_NEEDLES = SECRET_VALUES.flatMap((secret) => {
  const tail = secret.slice(secret.lastIndexOf('-') + 1);
  const windows = [];
  for (let i = 0; i + 10 <= tail.length; i++) windows.push(tail.slice(i, i + 10));
  return [secret, ...windows];
});

export interface Upstreams {
  chillrSim: ChillrSimulator;
  pbgSim: PbgSimulator;
  chillr: FaultProxy;
  pbg: FaultProxy;
  /** Service env pointing at the proxies (credentials come from startTestApp's TEST_SECRETS). */
  env: Record<string, string>;
  /** A purchase of ours in `status` (a fresh id unless given), ready for an action. */
  newPurchase(status?: string, id?: string): Promise<string>;
  /** The simulator's status word for a purchase. */
  purchaseStatus(id: string): Promise<string>;
  /** How many batches the Chillr simulator holds under `name` (its own record of acts). */
  batchesNamed(name: string): Promise<string[]>;
  /** Stops faulting on both proxies. */
  healthy(): void;
  close(): Promise<void>;
}

export async function startUpstreams(): Promise<Upstreams> {
  const chillrSim = await startChillrSimulator({
    credentials: {
      apiKey: TEST_SECRETS.CHILLR_API_KEY,
      apiSecretKey: TEST_SECRETS.CHILLR_API_SECRET_KEY,
    },
    seed: false,
  });
  const pbgSim = await startPbgSimulator({
    apiKey: TEST_SECRETS.PBG_API_KEY,
    merchantId: MERCHANT_ID,
    merchantAuth: TEST_SECRETS.PBG_MERCHANT_AUTH,
    seed: false,
  });
  const chillr = await startFaultProxy(chillrSim.url, CHILLR_SHAPE);
  const pbg = await startFaultProxy(pbgSim.url, PBG_SHAPE);
  return {
    chillrSim,
    pbgSim,
    chillr,
    pbg,
    env: { CHILLR_BASE_URL: chillr.url, PBG_BASE_URL: pbg.url, PBG_MERCHANT_ID: MERCHANT_ID },
    async newPurchase(status = 'payment_completed', id?: string) {
      const purchaseId = id ?? `P_${randomUUID().slice(0, 12)}`;
      await pbgSim.startPurchase({ purchaseId, numPeople: 4 });
      if (status !== 'pending') await pbgSim.updatePurchase(purchaseId, { status, num_paid: 4 });
      return purchaseId;
    },
    async purchaseStatus(id) {
      const response = await fetch(`${pbgSim.url}/_sandbox/purchases/${encodeURIComponent(id)}`);
      return ((await response.json()) as { status: string }).status;
    },
    async batchesNamed(name) {
      const response = await fetch(`${chillrSim.url}/_sandbox/batches`);
      const batches = (await response.json()) as Array<{ batchId: string; name: string }>;
      return batches.filter((b) => b.name === name).map((b) => b.batchId);
    },
    healthy() {
      chillr.healthy();
      pbg.healthy();
    },
    async close() {
      await Promise.all([chillr.close(), pbg.close()]);
      await Promise.all([chillrSim.close(), pbgSim.close()]);
    },
  };
}
