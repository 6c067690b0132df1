import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { getOperationAST, parse, type GraphQLError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RecordMemo } from '../src/chillr/record-memo.js';
import { CollectBatchStatus } from '../src/chillr/types.js';
import type { BatchRecord } from '../src/chillr/view.js';
import {
  createOperationLimits,
  operationLimitsPlugin,
  PassedDocuments,
} from '../src/http/plugin/limits/index.js';
import { ResponseLru, type CachedResponse } from '../src/http/plugin/response-cache/lru.js';
import { silentLogger, type Logger } from '../src/logger.js';
import type { Services } from '../src/services.js';
import { createContext, type GraphQLContext } from '../resolvers/context.js';
import { createLoaders } from '../resolvers/loaders.js';
import type { Store } from '../src/store/index.js';
import { isoDateInDays } from './helpers/app.js';
import { startChillrReads, type ChillrReads } from './helpers/chillr-reads.js';

/**
 * Work the read path now does once instead of on every request, and why none of it can
 * change an answer: a batch record (written once, never changed) is read from the store once
 * per process; a document's token count (fixed by its text) is checked once while remembered;
 * the response cache hashes a request's key only when an entry of its size exists. Counted in
 * store reads, answers and entries, never timed.
 */

const recordOf = (id: string, customers = 1): BatchRecord => ({
  id,
  name: `batch ${id}`,
  expiryDate: isoDateInDays(30),
  customers: Array.from({ length: customers }, (_, i) => ({
    msisdn: `94477414${String(i).padStart(2, '0')}`,
    amount: '200.00',
  })),
  nonChillrCustomers: [],
  createdAt: new Date().toISOString(),
});

describe('batch records read once per process', () => {
  let chillr: ChillrReads;
  let store: Store;

  beforeAll(async () => {
    chillr = await startChillrReads();
    store = chillr.store;
  });
  afterAll(() => chillr?.close());

  const service = () => chillr.service();
  const newBatch = () => chillr.newBatch('9447741400');

  it('should read a stored record from the store once, and show it on every read', async () => {
    const batchId = await newBatch();
    await store.namespace<BatchRecord>('batches').set(batchId, recordOf(batchId));
    const reads = vi.spyOn(store.namespace('batches'), 'get');
    const collect = service();
    for (let i = 0; i < 3; i++) {
      const view = await collect.getBatch(batchId);
      expect(view?.name).toBe(`batch ${batchId}`);
      expect(view?.summary.amountRequested).toEqual({ amount: '200.00', currency: 'INR' });
    }
    expect(reads.mock.calls.filter(([key]) => String(key) === batchId)).toHaveLength(1);
    reads.mockRestore();
  });

  it('should read a record that is not stored yet on every read, and show it once it lands', async () => {
    const batchId = await newBatch();
    const reads = vi.spyOn(store.namespace('batches'), 'get');
    const collect = service();
    expect((await collect.getBatch(batchId))?.name).toBeNull();
    expect((await collect.getBatch(batchId))?.name).toBeNull();
    // The outbox stores it later: the next read finds it.
    await store.namespace<BatchRecord>('batches').set(batchId, recordOf(batchId));
    expect((await collect.getBatch(batchId))?.name).toBe(`batch ${batchId}`);
    expect((await collect.getBatch(batchId))?.name).toBe(`batch ${batchId}`);
    expect(reads.mock.calls.filter(([key]) => String(key) === batchId)).toHaveLength(3);
    reads.mockRestore();
  });

  it('should build a remembered status view once, and again when its record lands', async () => {
    const batchId = await newBatch();
    const collect = chillr.service({ statusCacheMs: 60_000 });
    await collect.getBatch(batchId); // asks Chillr: the status is remembered
    const first = await collect.getBatch(batchId);
    const second = await collect.getBatch(batchId);
    expect(second?.name).toBeNull();
    expect(second).toBe(first); // the same status and no record: the view built once is served
    await store.namespace<BatchRecord>('batches').set(batchId, recordOf(batchId));
    const third = await collect.getBatch(batchId);
    expect(third).not.toBe(first);
    expect(third?.name).toBe(`batch ${batchId}`);
    expect(await collect.getBatch(batchId)).toBe(third);
  });

  it('should look for a terminal status on every read, even inside the status window', async () => {
    const batchId = await newBatch();
    await store.namespace<BatchRecord>('batches').set(batchId, recordOf(batchId));
    const collect = chillr.service({ statusCacheMs: 60_000 });
    await collect.getBatch(batchId); // asks Chillr; record and status remembered
    // Another instance found it terminal: that must win over this instance's window, or a
    // reader could see COMPLETED there and ACTIVE here.
    await store.namespace('batch-status').set(batchId, {
      ...(await chillr.client.checkStatus(batchId))!,
      status: CollectBatchStatus.EXPIRED,
    });
    expect((await collect.getBatch(batchId))?.status).toBe('EXPIRED');
  });

  it('should look for the terminal status of 50 reads in one turn with one store read', async () => {
    const batchId = await newBatch();
    const collect = chillr.service({ statusCacheMs: 60_000 });
    await collect.getBatch(batchId); // asks Chillr; the status is remembered
    const reads = vi.spyOn(store.namespace('batch-status'), 'get');
    const views = await Promise.all(Array.from({ length: 50 }, () => collect.getBatch(batchId)));
    expect(views.every((view) => view?.status === 'ACTIVE')).toBe(true);
    expect(reads.mock.calls).toEqual([[[batchId]]]);
    reads.mockRestore();
  });

  it('should never answer a read from a terminal-status read that was sent before it started', async () => {
    const batchId = await newBatch();
    const collect = chillr.service({ statusCacheMs: 60_000 });
    await collect.getBatch(batchId); // asks Chillr; the status is remembered
    const terminal = store.namespace('batch-status');
    const original = terminal.get.bind(terminal) as (keys: string[]) => Promise<unknown>;
    let sent!: () => void;
    const inFlight = new Promise<void>((resolve) => (sent = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const reads = vi.spyOn(terminal, 'get').mockImplementationOnce((async (keys: string[]) => {
      const answer = await original(keys); // read before the status below is stored
      sent();
      await gate;
      return answer;
    }) as typeof terminal.get);
    const first = collect.getBatch(batchId);
    await inFlight;
    // Another instance stores the terminal status while the first read's store read is out.
    await terminal.set(batchId, {
      ...(await chillr.client.checkStatus(batchId))!,
      status: CollectBatchStatus.EXPIRED,
    });
    const second = collect.getBatch(batchId);
    release();
    expect((await first)?.status).toBe('ACTIVE');
    expect((await second)?.status).toBe('EXPIRED');
    expect(reads).toHaveBeenCalledTimes(2);
    reads.mockRestore();
  });

  it('should keep at most its records and its customers, least recently used out first', () => {
    const memo = new RecordMemo(2, 5);
    memo.keep('a', recordOf('a'));
    memo.keep('b', recordOf('b'));
    expect(memo.get('a')?.id).toBe('a'); // a is now the most recently used
    memo.keep('c', recordOf('c'));
    expect([memo.get('a')?.id, memo.get('b'), memo.get('c')?.id]).toEqual(['a', undefined, 'c']);
    memo.keep('d', recordOf('d', 4)); // 1 + 1 + 4 customers > 5: the least recent (a) goes
    expect(memo.size).toBe(2);
    expect([memo.get('a'), memo.get('c')?.id, memo.get('d')?.id]).toEqual([undefined, 'c', 'd']);
    memo.keep('e', recordOf('e', 6)); // larger than the bound on its own: not kept
    expect(memo.get('e')).toBeUndefined();
    expect(memo.get('d')?.id).toBe('d');
  });
});

describe('token limit checked once per remembered document', () => {
  const limits = () =>
    createOperationLimits({
      maxAliases: 30,
      maxDepth: 10,
      maxTokens: 20,
      maxEntities: 1000,
      maxCost: 5000,
      hideSuggestions: false,
    });

  it('should refuse a document over the limit every time it is sent, and pass one within it', () => {
    const guard = limits();
    const schema = undefined as never;
    const over = `{ ${Array.from({ length: 30 }, (_, i) => `f${i}`).join(' ')} }`;
    for (let i = 0; i < 3; i++) {
      const refused = guard.check(schema, over);
      expect(refused.errors?.[0]?.extensions.limit).toBe('GRAPHQL_MAX_TOKENS');
    }
  });

  it('should remember passed documents within its count and character bounds', () => {
    const passed = new PassedDocuments(2, 10);
    passed.add('{ a }');
    passed.add('{ b }');
    expect([passed.has('{ a }'), passed.has('{ b }')]).toEqual([true, true]);
    passed.add('{ c }'); // a third document: the first out
    expect([passed.has('{ a }'), passed.has('{ b }'), passed.has('{ c }')]).toEqual([
      false,
      true,
      true,
    ]);
    passed.add('{ longer }'); // 10 characters: alone fills the bound
    expect([passed.has('{ b }'), passed.has('{ c }'), passed.has('{ longer }')]).toEqual([
      false,
      false,
      true,
    ]);
    passed.add('{ far too long }'); // over the bound by itself: never remembered
    expect(passed.has('{ far too long }')).toBe(false);
  });
});

describe('variable limits measured once per operation and variables', () => {
  const sdl = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
  const schema = buildSubgraphSchema([{ typeDefs: parse(sdl) }]);
  const plugin = operationLimitsPlugin({
    maxAliases: 30,
    maxDepth: 10,
    maxTokens: 5000,
    maxEntities: 3,
    maxCost: 5000,
    hideSuggestions: true,
  });
  const entities = parse(
    'query ($r: [_Any!]!) { _entities(representations: $r) { ... on CollectBatch { id } } }',
  );
  const operation = getOperationAST(entities)!;
  const representations = (n: number) => ({
    r: Array.from({ length: n }, (_, i) => ({ __typename: 'CollectBatch', id: `b${i}` })),
  });
  const caller = { transport: 'http' as const, headers: {}, ip: undefined };
  const execute = (variables: Record<string, unknown>) =>
    plugin.onExecute!({
      caller,
      connection: {},
      state: { requestId: 'r', responseHeaders: {}, caller, startedAt: 0 },
      schema,
      document: entities,
      operation,
      variables,
    }) as GraphQLError | undefined;

  it('should walk an operation once per variables, and answer each by its own variables', () => {
    const walks = vi.spyOn(schema, 'getRootType');
    for (let i = 0; i < 3; i++) expect(execute(representations(2))).toBeUndefined();
    expect(walks).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 2; i++) {
      expect(execute(representations(4))?.extensions.limit).toBe('GRAPHQL_MAX_ENTITIES');
    }
    expect(walks).toHaveBeenCalledTimes(2);
    walks.mockRestore();
  });

  it('should build each refusal afresh: the error hooks rewrite it in place', () => {
    const first = execute(representations(5))!;
    plugin.onError!(first, undefined);
    first.message = 'rewritten';
    const second = execute(representations(5))!;
    expect(second).not.toBe(first);
    expect(second.message).toMatch(/_entities asked for 5 representations/);
  });
});

describe('response cache: misses of a size nothing stored has', () => {
  const entry = (size: number, expiresAt: number): CachedResponse => ({
    body: Buffer.from('{}'),
    contentType: 'application/json',
    etag: undefined,
    scope: 'private',
    expiresAt,
    operation: { name: null, type: 'query' },
    bytes: 10,
    size,
  });

  it('should count entries by request size through replacement, expiry and eviction', () => {
    const evicted: string[] = [];
    const lru = new ResponseLru(2, 1_000, (reason) => evicted.push(reason));
    lru.set('a', entry(100, 10_000));
    lru.set('a', entry(100, 10_000)); // replaced: still one of size 100
    lru.set('b', entry(200, 2_000));
    expect([lru.mayHold(100), lru.mayHold(200), lru.mayHold(300)]).toEqual([true, true, false]);
    expect(lru.get('b', 1_500)).toBeUndefined(); // under a second left: expired
    expect(lru.mayHold(200)).toBe(false);
    lru.set('c', entry(100, 10_000));
    lru.set('d', entry(300, 10_000)); // a third entry: a (the oldest) goes
    expect([lru.mayHold(100), lru.mayHold(300)]).toEqual([true, true]);
    lru.set('e', entry(300, 10_000)); // c goes: no entry of size 100 is left
    expect(lru.mayHold(100)).toBe(false);
    expect(evicted).toEqual(['expired', 'capacity', 'capacity']);
  });
});

describe('per-request context', () => {
  it('should make its loaders and child logger only when used, also on the copy Apollo Server makes', () => {
    let children = 0;
    const logger = {
      child: () => {
        children += 1;
        return silentLogger;
      },
    } as unknown as Logger;
    const services = {} as Services;
    const context = createContext(services, 'r1', logger);
    // Apollo Server's cloneObject (ApolloServer.ts): own properties copied onto the same prototype.
    const copy = Object.assign(
      Object.create(Object.getPrototypeOf(context) as object) as GraphQLContext,
      context,
    );
    expect(children).toBe(0);
    expect(copy.requestId).toBe('r1');
    expect(copy.services).toBe(services);
    expect(copy.loaders).toBe(copy.loaders);
    expect(copy.logger).toBe(copy.logger);
    expect(children).toBe(1);
    const replaced = createLoaders(services);
    copy.loaders = replaced; // what a live subscription does per event
    expect(copy.loaders).toBe(replaced);
  });
});
