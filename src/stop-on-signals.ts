import type { Logger } from './logger.js';

/**
 * SIGTERM and SIGINT stop a long-running command once: the first logs `what` and runs `close`;
 * the process exits 0 when it resolves and 1 when it rejects (logged). A second signal, or a
 * close that hangs past `graceMs`, must still end the process, so a timer exits 1 then (unref'd:
 * it never keeps a finished process alive).
 */
export function stopOnSignals(
  close: () => Promise<void>,
  logger: Logger,
  what: { stopping: string; failed: string },
  graceMs = 15_000,
): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, what.stopping);
    setTimeout(() => process.exit(1), graceMs).unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, what.failed);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
