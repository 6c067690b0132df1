import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChillrSimulator } from '../src/sandbox/chillr/index.js';
import { startPbgSimulator } from '../src/sandbox/pbg/index.js';
import { isoDateInDays } from './helpers/app.js';
import { freePort, ROOT, spawnService, tempDir, type ServiceProcess } from './helpers/process.js';

const run = promisify(execFile);
// Tests read arbitrary paths of upstream and GraphQL JSON; `any` keeps those reads short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
const CREDS = {
  api_key: '5695d71a6368690df2030000',
  api_secret_key: 'f333884a36ccfc54787e6d96eac5e3d3',
};

async function postJson(url: string, body: unknown): Promise<Json> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await response.json()) as Json;
}

describe('sandbox simulators with a state file', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('payments-sandbox-');
  });
  afterAll(() => dir.remove());

  it('should keep Chillr batches and payments across a restart, minting new ids', async () => {
    const stateFile = path.join(dir.dir, 'chillr.json');
    const first = await startChillrSimulator({ stateFile });
    const created = await postJson(`${first.url}/api/v5/collect`, {
      ...CREDS,
      name: 'Rent',
      expiry_date: '27-05-2099',
      customers: [{ msisdn: '9447741462', amount: '200' }],
    });
    const batchId = created.data.batch_id as string;
    first.setPaymentStatus(batchId, '9447741462', 'paid');
    await first.close();

    const second = await startChillrSimulator({ stateFile });
    try {
      const status = await postJson(`${second.url}/api/v5/check_collect_status`, {
        ...CREDS,
        batch_id: batchId,
      });
      expect(status.data.batch_status).toBe('completed');
      expect(status.data.customers[0]).toMatchObject({ payment_status: 'paid' });
      const sample = await postJson(`${second.url}/api/v5/check_collect_status`, {
        ...CREDS,
        batch_id: '5743fcb263686923fc0d0000',
      });
      expect(sample.data.batch_status).toBe('expired');
      const next = await postJson(`${second.url}/api/v5/collect`, {
        ...CREDS,
        name: 'Rent again',
        expiry_date: '27-05-2099',
        customers: [{ msisdn: '9447741462', amount: '300' }],
      });
      expect(next.data.batch_id).not.toBe(batchId);
      const again = await postJson(`${second.url}/api/v5/check_collect_status`, {
        ...CREDS,
        batch_id: next.data.batch_id,
      });
      expect(again.data.batch_status).toBe('active');
      // Transaction ids continue from the saved counter instead of repeating.
      expect(again.data.customers[0].transaction_id).not.toBe(
        status.data.customers[0].transaction_id,
      );
    } finally {
      await second.close();
    }
  });

  it('should keep PayByGroup purchases across a restart', async () => {
    const stateFile = path.join(dir.dir, 'pbg.json');
    const first = await startPbgSimulator({ stateFile });
    const started = await first.startPurchase({ purchaseId: 'KEEP_1', numPeople: 3 });
    await first.payShare('KEEP_1');
    await first.close();

    const second = await startPbgSimulator({ stateFile });
    try {
      const again = await fetch(`${second.url}/_sandbox/purchases/KEEP_1`);
      expect(await again.json()).toMatchObject({
        purchase_id: 'KEEP_1',
        pbg_purchase_id: started.pbg_purchase_id,
        num_paid: 1,
        status: 'pending',
      });
      const next = await second.startPurchase({ purchaseId: 'KEEP_2' });
      expect(next.pbg_purchase_id).not.toBe(started.pbg_purchase_id);
    } finally {
      await second.close();
    }
  });

  it('should move an unreadable state file aside and start from the seed', async () => {
    const stateFile = path.join(dir.dir, 'broken.json');
    writeFileSync(stateFile, '{"version": 1, "batches": [tru');
    const sim = await startChillrSimulator({ stateFile });
    try {
      const sample = await postJson(`${sim.url}/api/v5/check_collect_status`, {
        ...CREDS,
        batch_id: '5743fcb263686923fc0d0000',
      });
      expect(sample.status).toBe('success');
      expect(readdirSync(dir.dir).some((f) => f.startsWith('broken.json.corrupt-'))).toBe(true);
    } finally {
      await sim.close();
    }
  });
});

/**
 * The acceptance check, with the real `node dist/src/main.js`: start, create a batch, stop,
 * start again, create another — distinct ids, each ACTIVE with its own customers; then
 * `sandbox:reset` returns to the seeded state.
 */
describe('npm start twice, then sandbox:reset (real processes)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string>;
  let service: ServiceProcess | undefined;
  beforeAll(async () => {
    dir = await tempDir('payments-restart-');
    env = {
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      CHILLR_SANDBOX_PORT: '0',
      PBG_SANDBOX_PORT: '0',
      STORE_URL: `sqlite:${dir.dir}/payments.db`,
      LOG_LEVEL: 'info',
    };
  });
  afterAll(async () => {
    await service?.stop('SIGKILL');
    await dir.remove();
  });

  async function gql(query: string): Promise<Json> {
    const result = await postJson(`${service!.url}/graphql`, { query });
    expect(result.errors).toBeUndefined();
    return result.data as Json;
  }
  const createBatch = (msisdn: string, key: string) =>
    gql(`mutation { createCollectBatch(input: { name: "${key}", expiryDate: "${isoDateInDays(3)}",
      customers: [{ msisdn: "${msisdn}", amount: "10" }], idempotencyKey: "${key}" }) {
      batch { id status payments { msisdn } } } }`);
  const readBatch = (id: string) =>
    gql(`{ collectBatch(id: "${id}") { id status payments { msisdn status } } }`);
  const purchaseStatus = async (id: string) =>
    (await gql(`{ groupPurchase(purchaseId: "${id}") { status } }`)).groupPurchase.status;

  it(
    'should show consistent data after a restart and the seed after a reset',
    { timeout: 60_000 },
    async () => {
      service = await spawnService(env);
      const one = (await createBatch('9447741462', 'run-1')).createCollectBatch.batch;
      await gql(`mutation { performPurchaseAction(input: { purchaseId: "ABC_98765",
      action: COLLECT_FUNDS, idempotencyKey: "restart-collect" }) { accepted } }`);
      expect(await service.stop()).toBe(0);

      service = await spawnService(env);
      const two = (await createBatch('9447741472', 'run-2')).createCollectBatch.batch;
      expect(two.id).not.toBe(one.id);
      expect(two).toMatchObject({ status: 'ACTIVE', payments: [{ msisdn: '9447741472' }] });
      expect((await readBatch(one.id)).collectBatch).toMatchObject({
        status: 'ACTIVE',
        payments: [{ msisdn: '9447741462', status: 'PENDING' }],
      });
      expect(await purchaseStatus('ABC_98765')).toBe('COLLECTED');

      // Refused while the service runs; done once it has stopped.
      const refused = await run(process.execPath, ['dist/src/tools/sandbox-reset.js'], {
        cwd: ROOT,
        env: { ...env, PATH: process.env.PATH },
      }).catch((error: { code: number; stderr: string }) => error);
      expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('stop it first') });
      expect(await service.stop()).toBe(0);
      const reset = await run(process.execPath, ['dist/src/tools/sandbox-reset.js'], {
        cwd: ROOT,
        env: { ...env, PATH: process.env.PATH },
      });
      expect(reset.stdout).toContain('removed');
      expect(existsSync(path.join(dir.dir, 'payments.db'))).toBe(false);

      service = await spawnService(env);
      expect((await readBatch(one.id)).collectBatch).toBeNull();
      expect((await readBatch('5743fcb263686923fc0d0000')).collectBatch.status).toBe('EXPIRED');
      expect(await purchaseStatus('ABC_98765')).toBe('PAYMENT_COMPLETED');
    },
  );
});
