import type { Counter, Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { StateLog, Store } from '../src/store/index.js';
import { startTestApp, TEST_SECRETS, type TestApp } from './helpers/app.js';
import { connectRaw, payloadText, type RawConnection, type RawMessage } from './helpers/raw-ws.js';
import { push } from './helpers/ws.js';

/**
 * Subscription fan-out (src/http/ws-fanout.ts, src/http/ws-adapter.ts) and the shared change-log
 * tail (src/purchase/change-tail.ts), over real WebSockets against the whole service. Everything is
 * asserted as counts: executions and deliveries (the service's own counters), store reads
 * (through `wrapStore`), messages each socket received.
 */

const auth = TEST_SECRETS.PBG_MERCHANT_AUTH;
const CHANGED = `subscription ($filter: GroupPurchaseChangeFilter, $after: String) {
  groupPurchaseChanged(filter: $filter, after: $after) {
    cursor source changedFields purchase { purchaseId status numPeople }
  }
}`;

type Metric = Counter<'subscription'> | Gauge<'subscription'>;
const valueOf = async (metric: Metric, subscription = 'groupPurchaseChanged') =>
  (await metric.get()).values.find((v) => v.labels.subscription === subscription)?.value ?? 0;

const pushed = async (app: TestApp, ...events: unknown[]) =>
  expect(await push(app, { merchant_auth: auth, events })).toEqual({
    status: 200,
    json: { result: true },
  });
const pending = (purchaseId: string, numPeople: number, extra: Record<string, unknown> = {}) => ({
  purchase_id: purchaseId,
  merchant_id: 'ABC',
  status: 'pending',
  num_people: numPeople,
  ...extra,
});

interface Sub {
  connection: RawConnection;
  id: string;
}
const numPeopleOf = (message: RawMessage) =>
  (message.payload as { data: { groupPurchaseChanged: { purchase: { numPeople: number } } } }).data
    .groupPurchaseChanged.purchase.numPeople;
const received = (sub: Sub, numPeople: number) =>
  sub.connection.nexts(sub.id).filter((m) => numPeopleOf(m) === numPeople);

/**
 * Pushes distinct warm-up changes of `purchaseId` until every subscription has one: by then
 * each is a member of its stream and the stream's follower is reading. Bounded.
 */
async function untilAllLive(app: TestApp, subs: Sub[], purchaseId: string): Promise<void> {
  for (let attempt = 1; attempt <= 50; attempt++) {
    await pushed(app, pending(purchaseId, 10_000 + attempt));
    const all = Promise.all(
      subs.map((s) =>
        s.connection.until(() => s.connection.nexts(s.id).length > 0, `warm-up of ${s.id}`, 200),
      ),
    );
    if (
      await all.then(
        () => true,
        () => false,
      )
    )
      return;
  }
  throw new Error('subscriptions not live after 50 warm-up pushes');
}

type Gate = (after: string | undefined, limit: number) => Promise<void> | undefined;

/**
 * Counts `state log.readLog` calls; `gate` may hold a call until the test lets it go; with
 * `failOffers` every read of the offer catalog rejects, quoting a credential.
 */
function countingStore() {
  const seen = { reads: 0, gate: undefined as Gate | undefined, failOffers: false };
  const failing = (keyv: object) =>
    new Proxy(keyv, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (property !== 'get' && property !== 'getMany') {
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return (...args: unknown[]) =>
          seen.failOffers
            ? Promise.reject(new Error(`offers down (key ${TEST_SECRETS.PBG_API_KEY})`))
            : Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
  const wrap = (store: Store): Store => {
    const real = store.stateLog;
    const stateLog: StateLog = {
      getMany: (keys) => real.getMany(keys),
      commit: (writes) => real.commit(writes),
      readLog: async (after, limit) => {
        seen.reads += 1;
        await seen.gate?.(after, limit);
        return real.readLog(after, limit);
      },
      head: () => real.head(),
      trim: (maxAgeMs) => real.trim(maxAgeMs),
      isCursor: (cursor) => real.isCursor(cursor),
      takeOpen: (limit) => real.takeOpen(limit),
    };
    return new Proxy(store, {
      get(target, property) {
        if (property === 'stateLog') return stateLog;
        if (property === 'namespace') {
          return (name: string) =>
            name === 'offers' ? failing(target.namespace(name)) : target.namespace(name);
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return { seen, wrap };
}

describe('subscription fan-out', () => {
  let app: TestApp;
  const store = countingStore();
  const connections: RawConnection[] = [];
  const open = async () => {
    const connection = await connectRaw(app.url);
    connections.push(connection);
    return connection;
  };
  const metrics = () => app.telemetry.metrics;

  beforeAll(async () => {
    app = await startTestApp(
      { PBG_CACHE_TTL_MS: '60000', CHILLR_POLL_INTERVAL_MS: '100' },
      { wrapStore: store.wrap },
    );
  });
  afterAll(async () => {
    for (const connection of connections) connection.socket.terminate();
    await app?.close();
  });

  it('should execute 100 identical subscriptions once per event and write the same payload bytes to each, under its own id', async () => {
    const N = 100;
    const K = 3;
    const variables = { filter: { purchaseIds: ['SHARE_1'] } };
    const subs: Sub[] = [];
    // 20 sockets × 5 operations: ids repeat across sockets, as real clients' do.
    for (let s = 0; s < 20; s++) {
      const connection = await open();
      for (let o = 0; o < 5; o++) subs.push({ connection, id: `op-${o}` });
    }
    for (const sub of subs) sub.connection.subscribe(sub.id, CHANGED, variables);
    await untilAllLive(app, subs, 'SHARE_1');
    expect(await valueOf(metrics().subscriptionStreams)).toBe(1);
    const executions = await valueOf(metrics().subscriptionExecutions);
    const deliveries = await valueOf(metrics().subscriptionDeliveries);

    for (let n = 1; n <= K; n++) await pushed(app, pending('SHARE_1', n));
    await Promise.all(
      subs.map((s) => s.connection.until(() => received(s, K).length === 1, `event ${K}`)),
    );

    expect(await valueOf(metrics().subscriptionExecutions)).toBe(executions + K);
    expect(await valueOf(metrics().subscriptionDeliveries)).toBe(deliveries + N * K);
    for (let n = 1; n <= K; n++) {
      const messages = subs.map((s) => received(s, n));
      expect(messages.every((m) => m.length === 1)).toBe(true);
      messages.forEach(([m], i) => expect(m!.id).toBe(subs[i]!.id));
      expect(new Set(messages.map(([m]) => payloadText(m!))).size).toBe(1);
    }
    for (const sub of subs) sub.connection.complete(sub.id);
    await expect.poll(() => valueOf(metrics().subscriptionStreams)).toBe(0);
  });

  it('should write each subscriber its own id and the payload byte for byte, whatever the characters', async () => {
    const NAMED = `subscription ($filter: GroupPurchaseChangeFilter) {
      groupPurchaseChanged(filter: $filter) { purchase { purchaseId name numPeople } }
    }`;
    const name = 'Quote " backslash \\ é 漢 😀 U+2028 \u2028 lone \ud800';
    const connection = await open();
    const subs: Sub[] = ['plain', 'quote " é 漢 😀', 'x'.repeat(200)].map((id) => ({
      connection,
      id,
    }));
    for (const sub of subs) {
      sub.connection.subscribe(sub.id, NAMED, { filter: { purchaseIds: ['BYTES_1'] } });
    }
    await untilAllLive(app, subs, 'BYTES_1');
    await pushed(app, pending('BYTES_1', 7, { purchase_name: name }));
    await Promise.all(
      subs.map((s) => s.connection.until(() => received(s, 7).length === 1, 'the event')),
    );
    for (const sub of subs) {
      const [message] = received(sub, 7);
      expect(message!.id).toBe(sub.id);
      expect(message!.payload).toEqual({
        data: {
          groupPurchaseChanged: {
            purchase: {
              purchaseId: 'BYTES_1',
              name,
              numPeople: 7,
            },
          },
        },
      });
    }
    for (const sub of subs) sub.connection.complete(sub.id);
  });

  it('should execute distinct variables separately, and share documents that differ only in layout', async () => {
    const filters = [
      { purchaseIds: ['DISTINCT_1'] },
      { purchaseIds: ['DISTINCT_1', 'DISTINCT_2'] },
      { purchaseIds: ['DISTINCT_1'], merchantId: 'ABC' },
    ];
    const connection = await open();
    const subs: Sub[] = [];
    filters.forEach((filter, f) => {
      for (let i = 0; i < 4; i++) {
        const id = `f${f}-${i}`;
        // The same operation, laid out differently: printed, it is the same document.
        const query = i === 3 ? `# a comment\n${CHANGED.replace(/\s+/g, '  ')}` : CHANGED;
        connection.subscribe(id, query, { filter });
        subs.push({ connection, id });
      }
    });
    await untilAllLive(app, subs, 'DISTINCT_1');
    expect(await valueOf(metrics().subscriptionStreams)).toBe(3);
    const executions = await valueOf(metrics().subscriptionExecutions);
    const deliveries = await valueOf(metrics().subscriptionDeliveries);

    await pushed(app, pending('DISTINCT_1', 1));
    await Promise.all(subs.map((s) => connection.until(() => received(s, 1).length === 1, s.id)));

    expect(await valueOf(metrics().subscriptionExecutions)).toBe(executions + 3);
    expect(await valueOf(metrics().subscriptionDeliveries)).toBe(deliveries + 12);
    for (const sub of subs) connection.complete(sub.id);
    await expect.poll(() => valueOf(metrics().subscriptionStreams)).toBe(0);
  });

  it('should read the change log once per event for 40 followers, not once per follower', async () => {
    const N = 40;
    const K = 5;
    const connection = await open();
    // Distinct filters: 40 streams, so 40 followers of the change log.
    const subs: Sub[] = Array.from({ length: N }, (_, i) => ({ connection, id: `r${i}` }));
    subs.forEach((s, i) =>
      connection.subscribe(s.id, CHANGED, {
        filter: { purchaseIds: ['READS_ALL', `READS_${i}`] },
      }),
    );
    await untilAllLive(app, subs, 'READS_ALL');
    expect(await valueOf(metrics().subscriptionStreams)).toBe(N);
    const executions = await valueOf(metrics().subscriptionExecutions);
    const reads = store.seen.reads;

    for (let n = 1; n <= K; n++) {
      await pushed(app, pending('READS_ALL', n));
      await Promise.all(subs.map((s) => connection.until(() => received(s, n).length === 1, s.id)));
    }

    expect(await valueOf(metrics().subscriptionExecutions)).toBe(executions + N * K);
    // One read per event by the shared tail (+1 if its recheck timer fired meanwhile); one
    // read per follower per event would be N × K = 200.
    expect(store.seen.reads - reads).toBeGreaterThanOrEqual(K);
    expect(store.seen.reads - reads).toBeLessThanOrEqual(K + 1);
    for (const sub of subs) connection.complete(sub.id);
    await expect.poll(() => valueOf(metrics().subscriptionStreams)).toBe(0);
  });

  it('should replay exactly what a subscriber with after missed across the seam to the shared tail, while others are live', async () => {
    const live = await open();
    const filter = { purchaseIds: ['SEAM_1'] };
    live.subscribe('live', CHANGED, { filter });
    await untilAllLive(app, [{ connection: live, id: 'live' }], 'SEAM_1');
    for (const n of [1, 2, 3]) await pushed(app, pending('SEAM_1', n));
    await live.until(() => received({ connection: live, id: 'live' }, 3).length === 1, 'event 3');
    const cursorOf = (m: RawMessage) =>
      (m.payload as { data: { groupPurchaseChanged: { cursor: string } } }).data
        .groupPurchaseChanged.cursor;
    const after = cursorOf(received({ connection: live, id: 'live' }, 1)[0]!);
    // 1,100 changes of other purchases: `after` falls out of the tail's window (1,000).
    await pushed(app, ...Array.from({ length: 1100 }, (_, i) => pending(`SEAM_FILL_${i}`, 1)));

    // The replaying follower's first page is held until two more changes are logged and
    // delivered live: it must catch up through the store and then join the shared tail.
    let release!: () => void;
    let entered!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const gateEntered = new Promise<void>((resolve) => (entered = resolve));
    store.seen.gate = (from, limit) => {
      if (from !== after || limit === 1) return undefined; // not the cursor check's read
      store.seen.gate = undefined;
      entered();
      return held;
    };
    const replay = await open();
    replay.subscribe('replay', CHANGED, { filter, after });
    await gateEntered;
    for (const n of [4, 5]) await pushed(app, pending('SEAM_1', n));
    await live.until(() => received({ connection: live, id: 'live' }, 5).length === 1, 'event 5');
    release();
    const replayed = () => replay.nexts('replay').map(numPeopleOf);
    await replay.until(() => replayed().length >= 4, 'the replay');
    await pushed(app, pending('SEAM_1', 6));
    await replay.until(() => replayed().includes(6), 'event 6 after the seam');
    await live.until(() => received({ connection: live, id: 'live' }, 6).length === 1, 'event 6');
    expect(replayed()).toEqual([2, 3, 4, 5, 6]);

    // The same `after` again, once the first replay has delivered: it may not join that
    // stream (it would miss 2..6), so it replays on its own and gets all of them.
    const streams = await valueOf(metrics().subscriptionStreams);
    replay.subscribe('again', CHANGED, { filter, after });
    await replay.until(() => replay.nexts('again').length >= 5, 'the second replay');
    expect(replay.nexts('again').map(numPeopleOf)).toEqual([2, 3, 4, 5, 6]);
    expect(await valueOf(metrics().subscriptionStreams)).toBe(streams + 1);
    live.complete('live');
    replay.complete('replay');
    replay.complete('again');
    await expect.poll(() => valueOf(metrics().subscriptionStreams)).toBe(0);
  });

  it('should keep delivering to the others when one subscriber completes and another socket closes', async () => {
    const [first, second] = [await open(), await open()];
    const filter = { purchaseIds: ['LEAVE_1'] };
    const subs: Sub[] = [
      { connection: first, id: 'a' },
      { connection: first, id: 'b' },
      { connection: second, id: 'c' },
    ];
    for (const sub of subs) sub.connection.subscribe(sub.id, CHANGED, { filter });
    await untilAllLive(app, subs, 'LEAVE_1');
    const [a, b] = subs;
    first.complete('a');
    second.socket.terminate();
    await second.closed;
    await expect.poll(() => valueOf(metrics().subscriptionsActive)).toBe(1);
    expect(await valueOf(metrics().subscriptionStreams)).toBe(1);
    const deliveries = await valueOf(metrics().subscriptionDeliveries);

    await pushed(app, pending('LEAVE_1', 1));
    await first.until(() => received(b!, 1).length === 1, 'event for b');
    expect(received(a!, 1)).toEqual([]);
    expect(await valueOf(metrics().subscriptionDeliveries)).toBe(deliveries + 1);

    // The last subscriber leaving returns the shared stream.
    first.complete('b');
    await expect.poll(() => valueOf(metrics().subscriptionStreams)).toBe(0);
  });

  it('should format shared errors as over HTTP, with no credential, once for every subscriber', async () => {
    const connection = await open();
    const query = `subscription ($filter: GroupPurchaseChangeFilter) {
      groupPurchaseChanged(filter: $filter) { purchase { purchaseId numPeople inventoryState } }
    }`;
    const filter = { purchaseIds: ['ERR_1'] };
    const subs: Sub[] = [0, 1, 2].map((i) => ({ connection, id: `e${i}` }));
    for (const sub of subs) connection.subscribe(sub.id, query, { filter });
    await untilAllLive(app, subs, 'ERR_1');
    const executions = await valueOf(metrics().subscriptionExecutions);
    store.seen.failOffers = true;
    try {
      await pushed(app, pending('ERR_1', 1));
      await Promise.all(subs.map((s) => connection.until(() => received(s, 1).length === 1, s.id)));
    } finally {
      store.seen.failOffers = false;
    }
    expect(await valueOf(metrics().subscriptionExecutions)).toBe(executions + 1);
    const payloads = subs.map((s) => received(s, 1)[0]!);
    expect(new Set(payloads.map(payloadText)).size).toBe(1);
    expect(payloads[0]!.payload).toMatchObject({
      data: { groupPurchaseChanged: { purchase: { inventoryState: null } } },
      errors: [
        {
          message: 'The service store is unavailable; try again shortly.',
          path: ['groupPurchaseChanged', 'purchase', 'inventoryState'],
          extensions: { code: 'STORE_UNAVAILABLE' },
        },
      ],
    });
    expect(payloads[0]!.text).not.toContain(TEST_SECRETS.PBG_API_KEY);
    expect(payloads[0]!.text).not.toContain('stacktrace');

    // A stream that fails ends every subscriber's operation with the same formatted error.
    const unknown = 'dddddddddddddddddddddddd';
    const batch = `subscription { collectBatchUpdated(id: "${unknown}") { status } }`;
    connection.subscribe('u1', batch);
    connection.subscribe('u2', batch);
    await connection.until(
      () =>
        ['u1', 'u2'].every((id) =>
          connection.messages.some((m) => m.id === id && m.type === 'error'),
        ),
      'both errors',
    );
    const errors = ['u1', 'u2'].map((id) => connection.messages.find((m) => m.id === id)!);
    for (const error of errors) {
      expect(error.payload).toEqual([
        expect.objectContaining({
          message: expect.stringContaining('does not know batch'),
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }),
        }),
      ]);
    }
    for (const sub of subs) connection.complete(sub.id);
  });

  it('should share a batch stream and give a late joiner the batch as last sent, with no execution of its own', async () => {
    const created = await app.raw(
      `mutation { createCollectBatch(input: { name: "fan-out", expiryDate: "2099-01-31",
        customers: [{ msisdn: "9447741462", amount: "10" }] }) { batch { id } } }`,
    );
    const id = (created.json.data as { createCollectBatch: { batch: { id: string } } })
      .createCollectBatch.batch.id;
    const query = `subscription ($id: ID!) { collectBatchUpdated(id: $id) { status summary { paid } } }`;
    const statusOf = (m: RawMessage) =>
      (m.payload as { data: { collectBatchUpdated: { status: string } } }).data.collectBatchUpdated
        .status;
    const [first, late] = [await open(), await open()];
    first.subscribe('first', query, { id });
    await first.until(() => first.nexts('first').length === 1, 'the batch now');
    const executions = await valueOf(metrics().subscriptionExecutions, 'collectBatchUpdated');

    late.subscribe('late', query, { id });
    await late.until(() => late.nexts('late').length === 1, 'the batch for the late joiner');
    expect(statusOf(late.nexts('late')[0]!)).toBe('ACTIVE');
    expect(payloadText(late.nexts('late')[0]!)).toBe(payloadText(first.nexts('first')[0]!));
    expect(await valueOf(metrics().subscriptionExecutions, 'collectBatchUpdated')).toBe(executions);
    expect(await valueOf(metrics().subscriptionStreams, 'collectBatchUpdated')).toBe(1);
    expect(app.services.batchWatcher.stats().pollers).toBe(1);

    app.sandbox.chillr!.setPaymentStatus(id, '9447741462', 'paid');
    for (const [connection, op] of [
      [first, 'first'],
      [late, 'late'],
    ] as const) {
      await connection.until(
        () => connection.messages.some((m) => m.id === op && m.type === 'complete'),
        `${op} completes`,
      );
      expect(connection.nexts(op).map(statusOf)).toEqual(['ACTIVE', 'COMPLETED']);
    }
    expect(payloadText(late.nexts('late')[1]!)).toBe(payloadText(first.nexts('first')[1]!));
    expect(await valueOf(metrics().subscriptionExecutions, 'collectBatchUpdated')).toBe(
      executions + 1,
    );
    expect(app.services.batchWatcher.stats().pollers).toBe(0);
    await expect.poll(() => valueOf(metrics().subscriptionStreams, 'collectBatchUpdated')).toBe(0);
  });
});

describe('a client that stops reading', () => {
  let app: TestApp;
  const connections: RawConnection[] = [];

  beforeAll(async () => {
    app = await startTestApp({ PBG_CACHE_TTL_MS: '60000', WS_MAX_BUFFERED_BYTES: '1024' });
  });
  afterAll(async () => {
    for (const connection of connections) connection.socket.terminate();
    await app?.close();
  });

  it('should be closed with 1013 naming WS_MAX_BUFFERED_BYTES while a reading client gets every event', async () => {
    const query = `subscription ($filter: GroupPurchaseChangeFilter) {
      groupPurchaseChanged(filter: $filter) { purchase { purchaseId numPeople attributes } }
    }`;
    const filter = { purchaseIds: ['SLOW_1'] };
    const [reader, slow] = [await connectRaw(app.url), await connectRaw(app.url)];
    connections.push(reader, slow);
    const subs: Sub[] = [
      { connection: reader, id: 'reader' },
      { connection: slow, id: 'slow' },
    ];
    for (const sub of subs) sub.connection.subscribe(sub.id, query, { filter });
    await untilAllLive(app, subs, 'SLOW_1');
    const dropped = async () => (await app.telemetry.metrics.slowConsumers.get()).values[0]!.value;
    expect(await dropped()).toBe(0);

    // Stop reading: the kernel's buffers fill, then the socket's own, then the bound is crossed.
    // Each push is 10 changes of ~60 KB; the reader must have all of a push before the next.
    (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    let sent = 0;
    for (let round = 0; round < 100 && (await dropped()) === 0; round++) {
      const events = Array.from({ length: 10 }, () =>
        pending('SLOW_1', ++sent, { note: 'x'.repeat(60_000) }),
      );
      await pushed(app, ...events);
      await reader.until(() => received(subs[0]!, sent).length === 1, `event ${sent}`);
    }
    expect(await dropped()).toBe(1);

    // Still delivering to the reader, every event in order.
    await pushed(app, pending('SLOW_1', ++sent));
    await reader.until(() => received(subs[0]!, sent).length === 1, `event ${sent}`);
    const seen = reader
      .nexts('reader')
      .map(numPeopleOf)
      .filter((n) => n < 10_000);
    expect(seen).toEqual(Array.from({ length: sent }, (_, i) => i + 1));

    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slow.closed;
    expect(closed).toEqual({
      code: 1013,
      reason: 'Slow consumer: more than WS_MAX_BUFFERED_BYTES=1024 bytes unread',
    });
    expect(slow.nexts('slow').length).toBeLessThan(reader.nexts('reader').length);
    expect(app.logs.some((line) => line.includes('WS_MAX_BUFFERED_BYTES'))).toBe(true);
  });
});

describe('keep-alive pings', () => {
  let app: TestApp;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    app = await startTestApp({ WS_KEEPALIVE_MS: '200' });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await app?.close();
  });

  /** A graphql-ws connection, acknowledged, counting the pings it receives. */
  async function connect(autoPong: boolean) {
    const socket = new WebSocket(
      `${app.url.replace(/^http/, 'ws')}/graphql`,
      'graphql-transport-ws',
      {
        autoPong,
      },
    );
    sockets.push(socket);
    const seen = { pings: 0, closed: undefined as number | undefined };
    socket.on('ping', () => (seen.pings += 1));
    const closed = new Promise<number>((resolve) =>
      socket.once('close', (code) => resolve((seen.closed = code))),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.once('message', () => resolve());
    });
    return { socket, seen, closed };
  }

  it('should ping every socket, however many, and cut off the one that never answers', async () => {
    // More sockets than the keep-alive has slots (10), so every slot is visited.
    const answering = await Promise.all(Array.from({ length: 12 }, () => connect(true)));
    const silent = await connect(false);
    // Terminated, not closed: no close frame, so the client sees 1006.
    expect(await silent.closed).toBe(1006);
    expect(silent.seen.pings).toBeGreaterThanOrEqual(1);
    // Three more pings each after the silent one was cut off, and every one still open.
    const floor = answering.map((a) => a.seen.pings);
    await expect
      .poll(() => answering.every((a, i) => a.seen.pings >= floor[i]! + 3), { timeout: 10_000 })
      .toBe(true);
    for (const a of answering) {
      expect(a.seen.closed).toBeUndefined();
      expect(a.socket.readyState).toBe(WebSocket.OPEN);
    }
  });
});
