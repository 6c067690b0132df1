import { pino, type DestinationStream, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, redactFields, REDACTED_PATHS } from '../src/logger.js';

/**
 * The logger blanks REDACTED_PATHS with its own `formatters` (src/logger.ts, measured cheaper)
 * instead of pino's `redact` option. Here both are given the same objects: the lines they write
 * must be the same, field for field — the credential shapes the paths were written for,
 * objects next to them that must stay, errors, child bindings — and the caller's objects must
 * come out of a log call unchanged.
 */

function capture(): { lines: Array<Record<string, unknown>>; destination: DestinationStream } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = {
    write(chunk: string) {
      for (const line of chunk.split('\n').filter(Boolean)) {
        const {
          time: _time,
          pid: _pid,
          hostname: _host,
          ...fields
        } = JSON.parse(line) as Record<string, unknown>;
        lines.push(fields);
      }
    },
  };
  return { lines, destination };
}

/** pino's own redaction of the same paths: what the logger wrote before. */
function referenceLogger(destination: DestinationStream): Logger {
  return pino(
    {
      level: 'info',
      base: { service: 'payments-subgraph' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

/** An error with a fixed stack, so the two loggers' lines can be compared whole. */
const error = (message: string, fields: Record<string, unknown> = {}) => {
  const made = Object.assign(new Error(message), fields);
  made.stack = `Error: ${message}\n    at somewhere (file.js:1:1)`;
  return made;
};

/** An untouched error (V8's own stack), given to both loggers: neither may change it. */
const thrown = Object.assign(new Error('thrown', { cause: new Error('below') }), { apiKey: 'K10' });

/** Fresh objects per call: each logger gets its own, and nothing may be shared or changed. */
const CASES: Array<[string, () => Record<string, unknown>]> = [
  [
    'top-level credentials',
    () => ({ api_key: 'K1', api_secret_key: 'S1', merchant_auth: 'M1', n: 1 }),
  ],
  ['a top-level credential holding an object', () => ({ api_key: { nested: 'K2' }, keep: 'yes' })],
  [
    'credentials one level down, in any field',
    () => ({
      body: { api_key: 'K3', api_secret_key: 'S3', merchant_auth: 'M3', name: 'batch' },
      client: { apiKey: 'K4', apiSecretKey: 'S4', merchantAuth: 'M4', baseUrl: 'http://x' },
      other: { keep: true },
    }),
  ],
  [
    'request headers',
    () => ({
      req: { headers: { authorization: 'Bearer T', cookie: 'c=1', accept: '*/*' }, apiKey: 'K5' },
    }),
  ],
  [
    'the configuration',
    () => ({
      config: {
        chillr: { apiKey: 'K6', apiSecretKey: 'S6', baseUrl: 'http://c' },
        pbg: { apiKey: 'K7', merchantAuth: 'M7', merchantId: 'shop' },
        port: 4000,
      },
    }),
  ],
  [
    'an error carrying a credential',
    () => ({ err: error('boom', { api_key: 'K-err', code: 'E1' }), batchId: 'b1' }),
  ],
  ['an error without one', () => ({ err: error('plain') })],
  ['a thrown error with a cause', () => ({ err: thrown })],
  [
    'deeper than the paths reach, and in arrays (left to the text redactor)',
    () => ({ a: { b: { api_key: 'deep' } }, list: [{ api_key: 'in-array' }] }),
  ],
  ['nothing to redact', () => ({ requestId: 'r1', status: 200, ms: 3, cache: 'miss' })],
];

describe('log field redaction', () => {
  it.each(CASES)('should write the same line as pino redact: %s', (_name, make) => {
    const ours = capture();
    const theirs = capture();
    createLogger({ destination: ours.destination }).info(make(), 'line');
    referenceLogger(theirs.destination).info(make(), 'line');
    expect(ours.lines).toHaveLength(1);
    expect(ours.lines).toEqual(theirs.lines);
  });

  it('should blank credentials in child bindings the same way', () => {
    const ours = capture();
    const theirs = capture();
    const bindings = () => ({ component: 'chillr-client', client: { apiKey: 'K8', name: 'c' } });
    createLogger({ destination: ours.destination }).child(bindings()).info({ n: 1 }, 'child');
    referenceLogger(theirs.destination).child(bindings()).info({ n: 1 }, 'child');
    expect(ours.lines).toEqual(theirs.lines);
    expect(JSON.stringify(ours.lines)).not.toContain('K8');
  });

  it('should leave the caller objects unchanged', () => {
    const logger = createLogger({ destination: capture().destination });
    for (const [, make] of CASES) {
      const fields = make();
      const before = JSON.stringify(fields, (_k, v: unknown) =>
        v instanceof Error ? { ...v, message: v.message } : v,
      );
      logger.info(fields, 'line');
      expect(
        JSON.stringify(fields, (_k, v: unknown) =>
          v instanceof Error ? { ...v, message: v.message } : v,
        ),
      ).toBe(before);
    }
  });

  it('should return an object with nothing to redact as it is (no copy)', () => {
    const fields = { requestId: 'r1', req: { headers: { accept: '*/*' } }, n: 1 };
    expect(redactFields(fields)).toBe(fields);
    const redacted = redactFields({ ...fields, body: { api_key: 'K9' } });
    expect(redacted.body).toEqual({ api_key: '[redacted]' });
  });
});
