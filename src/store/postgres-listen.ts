import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { CHANGE_LOG_CHANNEL } from './postgres-state-log.js';
import { redactUrl } from './url.js';

export interface ChangeLogListenerOptions {
  /** The PostgreSQL store's URL (STORE_URL). */
  url: string;
  /** Called with the head cursor each time the log grew, whichever instance appended. */
  onAdvance: (cursor: string) => void;
  logger: Logger;
  /**
   * Longest wait between two reconnect attempts (they start at 100 ms and double).
   * @default 5000
   */
  maxBackoffMs?: number;
}

export interface ChangeLogListener {
  /** Resolves once the listener is LISTENing (true), or false if it gave up waiting (closed). */
  readonly ready: Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Hears every instance's appends to the PostgreSQL change log: a dedicated connection (not one
 * of the pool's: a LISTENing session must stay open and is never handed to a query) runs
 * `LISTEN payments_change_log`, and each state log commit that appended notifies that channel with
 * its new head inside its transaction — PostgreSQL delivers it when, and only if, the commit
 * succeeds.
 *
 * A notification sent while this connection is down is lost for it, so after every (re)connect
 * it LISTENs again, then reads the head and reports it: followers then read the log after their
 * own last cursor, which catches up whatever was appended meanwhile (a wake-up carries no
 * change, only "read again"). Reconnects back off from 100 ms to `maxBackoffMs`.
 */
export function listenToChangeLog(options: ChangeLogListenerOptions): ChangeLogListener {
  const { logger } = options;
  const store = redactUrl(options.url);
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  let closed = false;
  let client: pg.Client | undefined;
  let markReady: (listening: boolean) => void = () => undefined;
  const ready = new Promise<boolean>((resolve) => (markReady = resolve));
  const stopped = new AbortController();

  /** One connection's life; resolves true once it had been LISTENing, when it ends. */
  const session = async (): Promise<boolean> => {
    const current = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: 5000 });
    client = current;
    const ended = new Promise<void>((resolve) => {
      current.on('error', (error) => {
        logger.warn({ err: error.message, store }, 'change log listener: connection lost');
        resolve();
      });
      current.on('end', () => resolve());
    });
    current.on('notification', (message) => {
      if (message.channel === CHANGE_LOG_CHANNEL && message.payload) {
        options.onAdvance(message.payload);
      }
    });
    try {
      await current.connect();
      await current.query(`LISTEN ${CHANGE_LOG_CHANNEL}`);
      const { rows } = await current.query<{ value: string }>(
        "SELECT value FROM ledger_meta WHERE name = 'head'",
      );
      markReady(true);
      const head = rows[0]?.value;
      if (head !== undefined && head !== '0') options.onAdvance(head);
      await ended;
      return true;
    } finally {
      await current.end().catch(() => undefined);
    }
  };

  const loop = async (): Promise<void> => {
    let backoffMs = 100;
    let failures = 0;
    while (!closed) {
      try {
        if (await session()) {
          failures = 0;
          backoffMs = 50; // doubled below: the first attempt after a lost session is at 100 ms
        }
      } catch (error) {
        if (closed) break;
        failures += 1;
        const log = failures === 1 ? logger.warn.bind(logger) : logger.debug.bind(logger);
        log({ err: (error as Error).message, store }, 'change log listener: cannot listen yet');
      }
      if (closed) break;
      backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      await sleep(backoffMs, undefined, { signal: stopped.signal }).catch(() => undefined);
    }
    markReady(false);
  };
  const running = loop();

  return {
    ready,
    async close() {
      closed = true;
      stopped.abort();
      await client?.end().catch(() => undefined);
      await running;
    },
  };
}
