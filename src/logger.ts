import { pino, type Logger, type DestinationStream } from 'pino';
import { correlationFields } from './observability/context.js';
import type { Redactor } from './redact.js';
import { VARIABLES } from './config/variables.js';

export type { Logger };

/**
 * Paths blanked in every log line (and in child loggers' bindings), in pino's `redact`
 * syntax: a name, `*.name` for that name one level down under any top-level field, or a full
 * dotted path. Credentials come from configuration and are sent to the upstreams in request
 * bodies, so every place one could surface is listed here; on top of this, REST clients never
 * log request bodies at all (see src/chillr/client.ts), and the `redactor` scrubs the
 * secrets' text from every finished line whatever field it stands in.
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

export const CENSOR = '[redacted]';

export interface LoggerOptions {
  /**
   * Minimum level written.
   * @default as LOG_LEVEL (src/config/)
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

/**
 * One JSON object a line, credentials redacted. Every line written while serving a request or
 * callback carries its `requestId`, `traceId`, `operationName` and `clientName` (read from the
 * async context, src/observability/context.ts).
 *
 * The field redaction is {@link redactFields} as pino's `formatters`, not pino's own `redact`
 * option over the same paths: that one (with `*.` wildcards) cost about 25 µs per line here,
 * 30–35 µs with it against 4–6 µs without, measured with the per-request `request` line —
 * most of a request line's cost on a read that takes a few hundred µs of CPU in all.
 * test/logger-redaction.test.ts checks that both blank the same fields of the same objects.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const logger = pino(
    {
      level: options.level ?? VARIABLES.LOG_LEVEL.default,
      base: { service: 'payments-subgraph' },
      mixin: correlationFields,
      formatters: { log: redactFields, bindings: redactFields },
      ...(options.redactor && {
        hooks: { streamWrite: (line: string) => options.redactor!.text(line) },
      }),
    },
    options.destination,
  );
  redactChildBindings(logger);
  return logger;
}

/**
 * pino applies `formatters.bindings` to the root logger's `base` only (a child resets it), so
 * a child's bindings are redacted here, before pino writes them: every child, and every child
 * of a child, inherits this `child` from the root.
 */
function redactChildBindings(logger: Logger): void {
  const child = logger.child;
  const redacting = function (this: Logger, bindings: Fields, options?: object) {
    return child.call(this, redactFields(bindings), options);
  };
  Object.defineProperty(logger, 'child', { value: redacting, writable: true, configurable: true });
}

/** A logger that writes nothing, for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** The paths, split: top-level names, names one level down under any field, full paths. */
const TOP = new Set<string>();
const ANY_CHILD: string[] = [];
const NESTED: string[][] = [];
for (const path of REDACTED_PATHS) {
  const parts = path.split('.');
  if (parts.length === 1) TOP.add(path);
  else if (parts[0] === '*' && parts.length === 2) ANY_CHILD.push(parts[1]!);
  else NESTED.push(parts);
}

type Fields = Record<string, unknown>;
const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null;

/**
 * `fields` with every {@link REDACTED_PATHS} value replaced by `[redacted]`. The caller's
 * objects are never changed: an object on a redacted path is copied (shallowly, only along
 * that path) before its value is blanked, and one without any is returned as it is, so a line
 * with nothing to redact costs a few property lookups.
 */
export function redactFields(fields: Fields): Fields {
  let out = fields;
  const own = () => (out === fields ? (out = { ...fields }) : out);
  for (const key in fields) {
    if (TOP.has(key)) {
      own()[key] = CENSOR;
      continue;
    }
    const original = fields[key];
    if (!isObject(original) || Array.isArray(original)) continue;
    const blanked = blankChildren(original);
    if (blanked !== original) own()[key] = blanked;
  }
  for (const path of NESTED) {
    const redacted = blankPath(out, path, 0);
    if (redacted !== out) out = redacted;
  }
  return out;
}

/**
 * `value` with its {@link ANY_CHILD} fields blanked: itself when it has none. An error is
 * copied with its prototype and every own property (message, stack, cause), so pino's err
 * serializer still sees the same error, with the field blanked.
 */
function blankChildren(value: Fields): Fields {
  let out = value;
  for (const name of ANY_CHILD) {
    if (!(name in value)) continue;
    if (out === value) out = copyOf(value);
    Object.defineProperty(out, name, { value: CENSOR, enumerable: true, writable: true });
  }
  return out;
}

function copyOf(value: Fields): Fields {
  if (!(value instanceof Error)) return { ...value };
  const properties = Object.getOwnPropertyDescriptors(value);
  // V8's `stack` is an accessor over the original error: the copy gets its value.
  for (const [name, property] of Object.entries(properties)) {
    if (property.get) {
      properties[name] = { value: value[name], enumerable: property.enumerable, writable: true };
    }
  }
  return Object.create(Object.getPrototypeOf(value) as object, properties) as Fields;
}

/** `value` with `path[at..]` blanked, copied along the path; itself when the path is absent. */
function blankPath(value: Fields, path: string[], at: number): Fields {
  const name = path[at]!;
  if (!(name in value)) return value;
  if (at === path.length - 1) return { ...value, [name]: CENSOR };
  const child = value[name];
  if (!isObject(child)) return value;
  const redacted = blankPath(child, path, at + 1);
  return redacted === child ? value : { ...value, [name]: redacted };
}
