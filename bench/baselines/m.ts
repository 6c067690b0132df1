import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayRuntime } from '@graphql-hive/gateway';
import { getComposedSchemaFromConfig } from '@graphql-mesh/compose-cli';
import { serveParent } from '../ipc.js';
import type { UpstreamsReady } from '../upstreams.js';
import { chillrSource, pbgSource } from './mesh-sources.js';

/**
 * M, what a merchant would have built with GraphQL Mesh: Mesh v1 composes the two REST APIs
 * (bench/baselines/mesh-sources.ts) into a supergraph, here at start and offline (the sources
 * are written inline, nothing is fetched), and Hive Gateway serves it on `/graphql` with its
 * defaults: no response cache, no inflight dedupe (both are opt-in), so every root field that
 * reaches Chillr or PayByGroup is one REST call. It reads the same upstream simulators as the
 * project, so the bench counts its upstream calls the same way.
 */

let server: Server | undefined;
let dispose: (() => unknown) | undefined;

type Logger = Parameters<typeof getComposedSchemaFromConfig>[1];

/** Composition logs warnings and errors only; its info lines would interleave with the report. */
function quietLogger(): Logger {
  const logger: Logger = {
    log() {},
    info() {},
    debug() {},
    warn: (...args: unknown[]) => console.warn('M compose:', ...args),
    error: (...args: unknown[]) => console.error('M compose:', ...args),
    child: () => logger,
  };
  return logger;
}

/** Composes the supergraph against the simulators' addresses. */
function composeMesh(upstreams: UpstreamsReady): Promise<string> {
  return getComposedSchemaFromConfig(
    {
      subgraphs: [
        { sourceHandler: chillrSource(upstreams.chillrUrl) },
        { sourceHandler: pbgSource(upstreams.pbgUrl) },
      ],
    },
    quietLogger(),
  );
}

async function listen(upstreams: UpstreamsReady): Promise<{ url: string }> {
  const supergraph = await composeMesh(upstreams);
  const gateway = createGatewayRuntime({ supergraph, logging: 'warn' });
  dispose = () => gateway.dispose();
  // The gateway's request listener answers its own failures (a 500) and logs what fails while
  // sending, so the promise it returns never rejects and nothing awaits it.
  server = createServer((req, res) => void gateway(req, res));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

serveParent({}, { listen }, async () => {
  server?.closeAllConnections();
  await dispose?.();
});
