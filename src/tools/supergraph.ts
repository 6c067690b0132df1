/**
 * `npm run supergraph`: starts this subgraph, the example orders subgraph (examples/orders/),
 * composes them into supergraph.graphql and serves it through Hive Gateway at
 * http://localhost:$GATEWAY_PORT/graphql. Ctrl-C / SIGTERM stops everything (exit 0).
 */
import 'reflect-metadata';
import { ConfigError, loadConfig, loadSupergraphConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { stopOnSignals } from '../stop-on-signals.js';
import { startSupergraph } from './supergraph-stack.js';

async function main(): Promise<void> {
  let config;
  let supergraph;
  try {
    config = loadConfig();
    supergraph = loadSupergraphConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  const logger = createLogger({ level: config.logLevel });
  const stack = await startSupergraph(config, supergraph, logger);
  logger.info(
    {
      gateway: stack.gateway.url,
      payments: `${stack.payments.url}/graphql`,
      orders: stack.orders.url,
      supergraphFile: supergraph.supergraphFile,
    },
    'supergraph ready',
  );
  stopOnSignals(() => stack.close(), logger, {
    stopping: 'supergraph: shutting down',
    failed: 'supergraph: shutdown failed',
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`supergraph failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
