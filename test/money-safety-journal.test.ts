import { mkdtempSync, readdirSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, TIMEOUT_MS, within } from './helpers/faults/harness.js';
import { expectActedOnce, subject } from './helpers/faults/moves.js';
import { staleDist, startServiceProcess } from './helpers/faults/process.js';
import { startUpstreams, type Upstreams } from './helpers/faults/upstreams.js';
import { redisSkipReason, startRedisServer, type RedisServer } from './helpers/redis.js';

/**
 * The double fault: the store goes away right after Chillr created a batch (so the outcome
 * cannot be recorded), and the process holding that outcome is killed before the store
 * returns. The outcome was journaled on local disk before the caller got its batch id; the
 * next process started on the same OUTBOX_DIR adopts the journal, and a retry with the key
 * answers the same batch id — Chillr acted once. Real processes, a real redis-server behind a
 * TCP link the test can cut, the Chillr simulator behind the fault proxy.
 */

/** A TCP relay to Redis whose connections the test can cut (and refuse) at will. */
class CuttableLink {
  private readonly sockets = new Set<Socket>();
  private open = true;
  private constructor(private readonly server: Server) {}

  static async start(target: number): Promise<CuttableLink> {
    // Assigned right below; the connection handler runs only after listen().
    // eslint-disable-next-line prefer-const
    let link!: CuttableLink;
    const server = createServer((client) => {
      if (!link.open) return void client.destroy();
      const upstream = createConnection(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        link.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          link.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    link = new CuttableLink(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return link;
  }

  get url(): string {
    const address = this.server.address() as { port: number };
    return `redis://127.0.0.1:${address.port}`;
  }

  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.destroy();
  }

  heal(): void {
    this.open = true;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const skip = staleDist() ?? redisSkipReason();

describe.skipIf(skip !== undefined)(
  `an outcome the store refused, then the process died${skip ? ` (${skip})` : ''}`,
  () => {
    const session = new Session();
    let upstreams: Upstreams;
    let redis: RedisServer;
    let link: CuttableLink;
    beforeAll(async () => {
      [upstreams, redis] = await Promise.all([startUpstreams(), startRedisServer()]);
      link = await CuttableLink.start(redis.port);
    });
    afterAll(async () => {
      await link?.close();
      await Promise.all([upstreams?.close(), redis?.close()]);
    });

    it('should answer the same batch id after a restart, with Chillr acting once', async () => {
      const env = {
        ...upstreams.env,
        STORE_URL: link.url,
        OUTBOX_DIR: mkdtempSync(join(tmpdir(), 'outbox-')),
        UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS * 4),
      };
      const first = await startServiceProcess(env);
      const s = await subject('create', session, upstreams);
      const hold = upstreams.chillr.hold(s.actKey);
      try {
        const call = s.call(first);
        await within(hold.arrived, 'the create at the proxy', 20_000);
        // The claim is stored; now the store goes away, and Chillr creates the batch.
        link.cut();
        hold.release('pass');
        const answer = (await call).answer;
        expect(answer.batchId, JSON.stringify(answer)).toMatch(/\w+/);
        expect(readdirSync(env.OUTBOX_DIR).length, 'a journal file').toBe(1);
        await first.kill('SIGKILL');
        session.extraLogs.push(...first.logs);
        link.heal();

        const second = await startServiceProcess(env);
        try {
          const retry = (await s.call(second)).answer;
          expect(retry).toEqual(answer);
          const read = await second.raw(`query ($id: ID!) { collectBatch(id: $id) { name } }`, {
            id: answer.batchId,
          });
          expect(read.json.data).toEqual({ collectBatch: { name: s.actKey } });
          await expectActedOnce(s);
        } finally {
          session.extraLogs.push(...second.logs);
          await second.kill('SIGTERM');
        }
      } finally {
        hold.cancel();
        await first.kill('SIGKILL');
      }
    }, 90_000);

    it('should leak no credential into any response body or log line', () => {
      expect(session.leaks()).toEqual([]);
    });
  },
);
