import { pino, type Logger, type DestinationStream } from 'pino';
import type { Redactor } from './redact.js';

export type { Logger };

/**
 * Paths pino blanks in every log line. Credentials come from configuration and are sent to the
 * upstreams in request bodies, so every place one could surface is listed here; on top of this,
 * REST clients never log request bodies at all (see src/chillr/client.ts).
 */
export const REDACTED_PATHS = [
  'api_key',
  'api_secret_key',
  'merchant_auth',
  '*.api_key',
  '*.api_secret_key',
  '*.merchant_auth',
  '*.apiKey',
  '*.apiSecretKey',
  '*.merchantAuth',
  'req.headers.authorization',
  'req.headers.cookie',
  'config.chillr.apiKey',
  'config.chillr.apiSecretKey',
  'config.pbg.apiKey',
  'config.pbg.merchantAuth',
];

export interface LoggerOptions {
  /**
   * Minimum level written.
   * @default 'info'
   */
  level?: string;
  /**
   * Where lines go; tests pass a stream to capture them.
   * @default process.stdout
   */
  destination?: DestinationStream;
  /**
   * Scrubs each finished line of the configured secrets' text, wherever it stands: the last
   * net under field redaction, for upstream text that echoed a credential inside a message.
   * @default none
   */
  redactor?: Redactor;
}

/** One JSON object a line, credentials redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'payments-subgraph' },
      ...(options.redactor && {
        hooks: { streamWrite: (line: string) => options.redactor!.text(line) },
      }),
    },
    options.destination,
  );
}

/** A logger that writes nothing, for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
