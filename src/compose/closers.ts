import type { Logger } from '../logger.js';

/**
 * What the composition root opened, closed in reverse order of opening: the servers drain
 * before the outbox flushes, the outbox before the store goes, the store before the tracer.
 * Closing is idempotent, and one failing closer does not stop the others.
 */
export class Closers {
  private readonly list: Array<() => Promise<void> | void> = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  add(close: () => Promise<void> | void): void {
    this.list.push(close);
  }

  /**
   * Drops `previous` and adds `next` as the newest: for a close that takes over another's job
   * (Apollo's drain closes the HTTP server the plain close would have closed).
   */
  replace(previous: () => Promise<void> | void, next: () => Promise<void> | void): void {
    const index = this.list.indexOf(previous);
    if (index !== -1) this.list.splice(index, 1);
    this.list.push(next);
  }

  closeAll(): Promise<void> {
    this.closing ??= this.run();
    return this.closing;
  }

  private async run(): Promise<void> {
    for (const close of [...this.list].reverse()) {
      try {
        await close();
      } catch (error) {
        this.logger.warn({ err: error }, 'error while shutting down');
      }
    }
  }
}
