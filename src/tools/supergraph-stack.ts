import { writeFile } from 'node:fs/promises';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { startOrdersSubgraph, type OrdersSubgraph } from '../../examples/orders/server.js';
import { startApp, type RunningApp } from '../app.js';
import type { Config, SupergraphConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { startHiveGateway, type RunningGateway } from './hive-gateway.js';

export interface SupergraphStack {
  payments: RunningApp;
  orders: OrdersSubgraph;
  gateway: RunningGateway;
  /** The composed SDL, also written to `SupergraphConfig.supergraphFile`. */
  supergraphSdl: string;
  close(): Promise<void>;
}

/** A subgraph's own SDL, read over HTTP the way `rover subgraph introspect` does. */
async function fetchSubgraphSdl(url: string, headers: Record<string, string>): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const body = (await response.json()) as { data?: { _service?: { sdl?: string } } };
  const sdl = body.data?._service?.sdl;
  if (!sdl) throw new Error(`${url} did not return its SDL (HTTP ${response.status})`);
  return sdl;
}

/** Composes with @apollo/composition (rover cannot fetch its plugin offline); throws on errors. */
export function composeSupergraph(subgraphs: { name: string; url: string; sdl: string }[]): string {
  const result = composeServices(
    subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })),
  );
  if (result.errors?.length || !result.supergraphSdl) {
    const messages = (result.errors ?? []).map((e) => `  - ${e.message}`).join('\n');
    throw new Error(`supergraph composition failed:\n${messages}`);
  }
  return result.supergraphSdl;
}

/**
 * `npm run supergraph`: this subgraph (with its sandbox), the example orders subgraph, the
 * composed supergraph written to disk, and Hive Gateway serving it. Closing stops them in
 * reverse order.
 */
export async function startSupergraph(
  config: Config,
  supergraph: SupergraphConfig,
  logger: Logger,
): Promise<SupergraphStack> {
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const payments = await startApp(config, { logger });
    closers.push(() => payments.close());
    const orders = await startOrdersSubgraph({ port: supergraph.ordersPort, host: config.host });
    closers.push(() => orders.stop());
    const { secret, secretHeader } = config.router;
    const routerSecret = secret ? { header: secretHeader, secret } : undefined;
    const subgraphs = [
      {
        name: 'payments',
        url: `${payments.url}/graphql`,
        headers: secret ? { [secretHeader]: secret } : {},
      },
      { name: 'orders', url: `${orders.url}/`, headers: {} },
    ];
    const supergraphSdl = composeSupergraph(
      await Promise.all(
        subgraphs.map(async (s) => ({ ...s, sdl: await fetchSubgraphSdl(s.url, s.headers) })),
      ),
    );
    await writeFile(supergraph.supergraphFile, supergraphSdl);
    const gateway = await startHiveGateway({
      supergraphSdl,
      wsSubgraphs: ['payments'],
      routerSecret,
      corsOrigins: supergraph.corsOrigins,
      port: supergraph.gatewayPort,
      host: config.host,
      logger,
    });
    closers.push(() => gateway.close());
    // The gateway loads the supergraph on its first request; make that a plain query, not a
    // user's first subscription.
    await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    let closing: Promise<void> | undefined;
    return { payments, orders, gateway, supergraphSdl, close: () => (closing ??= closeAll()) };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
