import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline } from '../src/http/pipeline/index.js';
import type { OperationPlugin } from '../src/http/pipeline/index.js';
import { attachGraphqlWs } from '../src/http/ws.js';
import { createLogger } from '../src/logger.js';
import { connectWs, subscribe } from './helpers/ws.js';

/**
 * Nobody awaits the close of a graphql-ws socket: the hooks graphql-ws runs then (ending the
 * socket's held subscriptions through their complete hook, then the close hook) must not fail
 * as an unhandled rejection, which Node would otherwise turn into a crash. A hook that throws
 * is logged instead, and the server goes on serving.
 */
describe('graphql-ws close hooks', () => {
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: { hello: { type: GraphQLString, resolve: () => 'world' } },
    }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        // Never emits: the subscription is still held when its socket closes.
        quiet: {
          type: GraphQLString,
          subscribe: () => {
            // Emits nothing until it is returned, which ends a pending next() as a stream does.
            let stop: ((result: IteratorResult<unknown>) => void) | undefined;
            const done = { done: true as const, value: undefined };
            return {
              [Symbol.asyncIterator]() {
                return this;
              },
              next: () => new Promise<IteratorResult<unknown>>((resolve) => (stop = resolve)),
              return: () => {
                stop?.(done);
                return Promise.resolve(done);
              },
            };
          },
        },
      },
    }),
  });
  const logs: string[] = [];
  const logger = createLogger({
    level: 'warn',
    destination: new Writable({
      write(chunk, _encoding, callback) {
        logs.push(String(chunk));
        callback();
      },
    }),
  });
  const closedOperations: string[] = [];
  // A plugin whose end hook fails for an operation ended by its socket's close (graphql-ws ends
  // a held subscription then, through its complete or close hook).
  let closing = false;
  const executed: string[] = [];
  const failingOnClose: OperationPlugin = {
    name: 'failing-on-close',
    onExecute(operation) {
      executed.push(operation.operation?.operation ?? 'unknown');
      return undefined;
    },
    onEnd(state) {
      if (!closing) return;
      closedOperations.push(state.requestId);
      throw new Error('close hook failed on purpose');
    },
  };
  const server = http.createServer();
  let url = '';
  let closeWs: () => Promise<void>;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    closeWs = attachGraphqlWs({
      httpServer: server,
      schema,
      context: () => ({}),
      visibilityKey: () => 'any',
      logger,
      pipeline: createPipeline([failingOnClose], { schema }),
    });
  });
  afterAll(async () => {
    await closeWs();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('should log a close hook that throws, and keep serving', async () => {
    const client = connectWs(url);
    // An answered query first: the socket is acknowledged and serving.
    const first = subscribe<{ hello: string }>(client, '{ hello }');
    await first.done;
    expect(first.events).toEqual([{ hello: 'world' }]);
    // A subscription still held when the socket closes: its end hook runs on close, and fails.
    subscribe(client, 'subscription { quiet }');
    await expect.poll(() => executed).toContain('subscription');
    closing = true;
    await client.dispose();

    await expect
      .poll(() => logs.filter((line) => /graphql-ws (close|message) handling failed/.test(line)))
      .toHaveLength(1);
    expect(closedOperations).toHaveLength(1);
    expect(logs.join('')).toContain('close hook failed on purpose');
    closing = false;

    const again = connectWs(url);
    const second = subscribe<{ hello: string }>(again, '{ hello }');
    await second.done;
    expect(second.events).toEqual([{ hello: 'world' }]);
    await again.dispose();
  });
});
