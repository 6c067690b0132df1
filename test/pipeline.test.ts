import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  GraphQLError,
  GraphQLInt,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  Kind,
  type OperationDefinitionNode,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpApp } from '../src/http/app.js';
import { createPipeline, type OperationPlugin } from '../src/http/pipeline/index.js';
import { attachGraphqlWs } from '../src/http/ws.js';
import { silentLogger } from '../src/logger.js';
import { connectWs, subscribe } from './helpers/ws.js';

/**
 * The operation pipeline's promise: one plugin list, run by both adapters. A recording plugin
 * and a refusing one are listed once; a query over HTTP and a subscription over graphql-ws
 * must pass through the same hooks, and a refusal in the execute hook must stop both before
 * any resolver runs.
 */

const resolved = { hello: 0, ticks: 0 };

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      hello: { type: GraphQLString, resolve: () => (resolved.hello++, 'world') },
      secret: { type: GraphQLString, resolve: () => (resolved.hello++, 'never') },
    },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      ticks: {
        type: GraphQLInt,
        subscribe: () => {
          resolved.ticks++;
          return Readable.from([{ ticks: 1 }, { ticks: 2 }]);
        },
      },
      secretTicks: {
        type: GraphQLInt,
        subscribe: () => {
          resolved.ticks++;
          return Readable.from([{ secretTicks: 1 }]);
        },
      },
    },
  }),
});

type Seen = Array<{ transport: string; hook: string }>;

/** Records every hook it is given, with the transport it came from. */
function recorder(seen: Seen): OperationPlugin {
  const rec = (transport: string, hook: string) => seen.push({ transport, hook });
  return {
    name: 'recorder',
    onRequestStart: (caller) => rec(caller.transport, 'requestStart'),
    onAdmit: (caller) => (rec(caller.transport, 'admit'), undefined),
    onParse: () => (rec('?', 'parse'), undefined),
    onExecute: ({ caller }) => (rec(caller.transport, 'execute'), undefined),
  };
}

/** Refuses any operation whose root field starts with `secret`, in the execute hook. */
const refuser: OperationPlugin = {
  name: 'refuser',
  onExecute({ operation }) {
    const first = (operation as OperationDefinitionNode).selectionSet.selections[0];
    if (first?.kind === Kind.FIELD && first.name.value.startsWith('secret')) {
      return new GraphQLError('refused by the pipeline', { extensions: { code: 'FORBIDDEN' } });
    }
    return undefined;
  },
};

describe('one operation pipeline, two adapters', () => {
  const seen: Seen = [];
  let server: http.Server;
  let app: HttpApp;
  let url: string;
  let closeWs: () => Promise<void>;

  beforeAll(async () => {
    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pipeline = createPipeline([recorder(seen), refuser]);
    app = await createHttpApp({
      httpServer: server,
      schema,
      context: () => ({}),
      logger: silentLogger,
      production: false,
      readiness: () => Promise.resolve(),
      pipeline,
    });
    closeWs = attachGraphqlWs({
      httpServer: server,
      schema,
      context: () => ({}),
      visibilityKey: () => 'any',
      logger: silentLogger,
      pipeline,
    });
  });

  afterAll(async () => {
    await closeWs();
    await app.stop();
  });

  const post = (query: string) =>
    fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });

  it('should run the same hooks over HTTP and graphql-ws', async () => {
    seen.length = 0;
    const reply = await post('{ hello }');
    expect(await reply.json()).toEqual({ data: { hello: 'world' } });
    const overHttp = seen.splice(0).map((s) => s.hook);

    const client = connectWs(url);
    const live = subscribe<{ ticks: number }>(client, 'subscription { ticks }');
    await live.done;
    await client.dispose();
    expect(live.events).toEqual([{ ticks: 1 }, { ticks: 2 }]);
    const overWs = seen.splice(0);

    // HTTP admits each request after it starts; a socket is admitted once, at connection_init.
    expect(overHttp).toEqual(['requestStart', 'admit', 'parse', 'execute']);
    expect(overWs.map((s) => s.hook)).toEqual(['admit', 'requestStart', 'parse', 'execute']);
    expect(overWs.filter((s) => s.transport !== '?').every((s) => s.transport === 'ws')).toBe(true);
  });

  it('should refuse in the execute hook on both transports before any resolver runs', async () => {
    const before = { ...resolved };
    const reply = await post('{ secret }');
    const body = (await reply.json()) as { errors: Array<{ message: string }> };
    expect(body.errors.map((e) => e.message)).toEqual(['refused by the pipeline']);

    const client = connectWs(url);
    const live = subscribe<{ secretTicks: number }>(client, 'subscription { secretTicks }');
    await live.done.catch(() => undefined);
    await client.dispose();
    expect(live.events).toEqual([]);
    expect(JSON.stringify(live.errors)).toContain('refused by the pipeline');
    expect(resolved).toEqual(before);
  });
});
