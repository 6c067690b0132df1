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
import { observabilityPlugin } from '../src/http/plugin/observability/index.js';
import { requestIdPlugin } from '../src/http/plugin/request-id/index.js';
import { attachGraphqlWs } from '../src/http/ws.js';
import { createLogger, silentLogger } from '../src/logger.js';
import { Metrics, Tracing, type Telemetry } from '../src/observability/index.js';
import { otlpCollector, type Collector } from './helpers/telemetry.js';
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

/**
 * The observability plugin is one module over both transports: an HTTP query and a WebSocket
 * subscription, each under its own trace context and request id, must come out the same way —
 * one span named `<type> <name>` under the caller's parent, counted once under the same labels,
 * every log line inside carrying the request id, operation name, client name and trace id —
 * and no credential the caller sent may reach a log line, a metric or a span.
 */
describe('observability over both transports', () => {
  const SECRET = 'Bearer pipeline-secret-token-0123456789';
  const PARENT = '00f067aa0ba902b7';
  const HTTP_TRACE = '11111111111111111111111111111111';
  const WS_TRACE = '22222222222222222222222222222222';
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  let collector: Collector;
  let telemetry: Telemetry;
  let server: http.Server;
  let app: HttpApp;
  let url: string;
  let closeWs: () => Promise<void>;

  const observedSchema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        hello: { type: GraphQLString, resolve: () => (logger.info('resolving'), 'world') },
      },
    }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        ticks: {
          type: GraphQLInt,
          subscribe: async function* () {
            logger.info('resolving');
            yield await Promise.resolve({ ticks: 1 });
            yield { ticks: 2 };
          },
        },
      },
    }),
  });

  beforeAll(async () => {
    collector = await otlpCollector();
    telemetry = {
      metrics: new Metrics({ processMetrics: false }),
      tracing: new Tracing({ endpoint: collector.url }),
    };
    server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pipeline = createPipeline(
      [requestIdPlugin(), observabilityPlugin({ telemetry, logger })],
      { schema: observedSchema },
    );
    app = await createHttpApp({
      httpServer: server,
      schema: observedSchema,
      context: () => ({}),
      logger,
      production: false,
      readiness: () => Promise.resolve(undefined),
      pipeline,
      metrics: telemetry.metrics,
    });
    closeWs = attachGraphqlWs({
      httpServer: server,
      schema: observedSchema,
      context: () => ({}),
      visibilityKey: () => 'any',
      logger,
      pipeline,
      metrics: telemetry.metrics,
    });
  });

  afterAll(async () => {
    await closeWs?.();
    await app?.stop();
    await telemetry?.tracing.close();
    await collector?.close();
  });

  it('should report an HTTP query and a WebSocket subscription the same way', async () => {
    const reply = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'obs-http',
        'apollographql-client-name': 'checkout',
        traceparent: `00-${HTTP_TRACE}-${PARENT}-01`,
        authorization: SECRET,
      },
      body: JSON.stringify({ query: 'query Hello { hello }' }),
    });
    expect(await reply.json()).toEqual({ data: { hello: 'world' } });

    const client = connectWs(url, {
      headers: { 'x-request-id': 'obs-ws' },
      connectionParams: {
        traceparent: `00-${WS_TRACE}-${PARENT}-01`,
        'apollographql-client-name': 'checkout',
        authorization: SECRET,
      },
    });
    const live = subscribe<{ ticks: number }>(client, 'subscription Ticks { ticks }');
    await live.done;
    await client.dispose();
    expect(live.events).toEqual([{ ticks: 1 }, { ticks: 2 }]);

    // Metrics: each operation counted once under the same labels; a subscription is not timed.
    const text = await telemetry.metrics.registry.metrics();
    const sample = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`));
    expect(sample('payments_graphql_operations_total')).toEqual([
      'payments_graphql_operations_total{operation_name="Hello",operation_type="query",client_name="checkout"} 1',
      'payments_graphql_operations_total{operation_name="Ticks",operation_type="subscription",client_name="checkout"} 1',
    ]);
    expect(sample('payments_graphql_operation_duration_seconds_count')).toEqual([
      'payments_graphql_operation_duration_seconds_count{operation_name="Hello",operation_type="query",client_name="checkout"} 1',
    ]);
    expect(sample('payments_subscriptions_active')).toEqual([
      'payments_subscriptions_active{subscription="ticks"} 0',
    ]);

    // Spans: one per operation, under the caller's parent, named and tagged alike.
    await telemetry.tracing.flush();
    for (const [traceId, name, requestId] of [
      [HTTP_TRACE, 'query Hello', 'obs-http'],
      [WS_TRACE, 'subscription Ticks', 'obs-ws'],
    ] as const) {
      const spans = collector.spans.filter((s) => s.traceId === traceId);
      expect(spans.map((s) => s.name)).toContain(name);
      const operation = spans.find((s) => s.name === name)!;
      expect(operation.parentSpanId).toBe(PARENT);
      expect(operation.attributes).toMatchObject({
        'payments.request_id': requestId,
        'graphql.operation.name': name.split(' ')[1],
        'graphql.operation.type': name.split(' ')[0],
      });
    }

    // Log lines: inside either operation, the same correlation fields.
    const resolving = lines.filter((l) => l.msg === 'resolving');
    expect(resolving).toEqual([
      expect.objectContaining({
        requestId: 'obs-http',
        operationName: 'Hello',
        clientName: 'checkout',
        traceId: HTTP_TRACE,
      }),
      expect.objectContaining({
        requestId: 'obs-ws',
        operationName: 'Ticks',
        clientName: 'checkout',
        traceId: WS_TRACE,
      }),
    ]);
    expect(lines.find((l) => l.msg === 'subscription started')).toMatchObject({
      requestId: 'obs-ws',
      subscription: 'ticks',
      active: 1,
    });
    expect(lines.find((l) => l.msg === 'subscription stopped')).toMatchObject({
      requestId: 'obs-ws',
      subscription: 'ticks',
      reason: 'complete',
      events: 2,
      active: 0,
    });

    const secret = SECRET.split(' ')[1]!;
    for (const written of [JSON.stringify(lines), text, JSON.stringify(collector.spans)]) {
      expect(written).not.toContain(secret);
    }
  });
});
