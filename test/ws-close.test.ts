import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline } from '../src/http/pipeline/index.js';
import type { WsObservability } from '../src/http/plugin/observability/index.js';
import { attachGraphqlWs } from '../src/http/ws.js';
import { createLogger } from '../src/logger.js';
import { connectWs, subscribe } from './helpers/ws.js';

/**
 * Nobody awaits the close of a graphql-ws socket: the hooks graphql-ws runs then (ending the
 * socket's operations, the observability hook) must not fail as an unhandled rejection, which
 * Node would otherwise turn into a crash. A hook that throws is logged instead.
 */
describe('graphql-ws close hooks', () => {
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: { hello: { type: GraphQLString, resolve: () => 'world' } },
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
  const closedSockets: object[] = [];
  const observability: WsObservability = {
    begin: (_params, _request, requestId) => ({ requestId, run: (fn) => fn() }),
    started: () => undefined,
    stopped: () => undefined,
    closed: (socket) => {
      closedSockets.push(socket);
      throw new Error('close hook failed on purpose');
    },
    streamResult: () => undefined,
    stream: () => undefined,
    slowConsumer: () => undefined,
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
      pipeline: createPipeline([]),
      observability,
    });
  });
  afterAll(async () => {
    await closeWs();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('should log a close hook that throws, and keep serving', async () => {
    const client = connectWs(url);
    // An answered query: the socket was acknowledged, so graphql-ws runs the close hooks.
    const first = subscribe<{ hello: string }>(client, '{ hello }');
    await first.done;
    expect(first.events).toEqual([{ hello: 'world' }]);
    await client.dispose();

    await expect
      .poll(() => logs.filter((line) => line.includes('graphql-ws close handling failed')))
      .toHaveLength(1);
    expect(closedSockets).toHaveLength(1);
    expect(logs.join('')).toContain('close hook failed on purpose');

    const again = connectWs(url);
    const second = subscribe<{ hello: string }>(again, '{ hello }');
    await second.done;
    expect(second.events).toEqual([{ hello: 'world' }]);
    await again.dispose();
  });
});
