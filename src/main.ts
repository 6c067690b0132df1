import 'reflect-metadata';
import { startApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { credentialsOf, Redactor } from './redact.js';
import { stopOnSignals } from './stop-on-signals.js';

/** `npm start`: validate configuration, listen, and shut down gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({
    level: config.logLevel,
    redactor: new Redactor(credentialsOf(config)),
  });
  let app;
  try {
    app = await startApp(config, { logger });
  } catch (error) {
    // A setting found wrong only once its target answered (a store that forgets): EX_CONFIG.
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }

  stopOnSignals(() => app.close(), logger, {
    stopping: 'shutting down: draining in-flight requests',
    failed: 'shutdown failed',
  });
  process.on('unhandledRejection', (reason) =>
    logger.error({ err: reason }, 'unhandled rejection'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `payments subgraph failed to start: ${(error as Error).stack ?? String(error)}\n`,
  );
  process.exit(1);
});
