/**
 * The kinds of environment variable the configuration table (./variables.ts) is made of. Each
 * kind knows how to read and validate its variable through the {@link Reader} (which keeps
 * every message: the variable, what was expected, what came) and what its value is when unset,
 * and carries the variable's row of the README's configuration table.
 *
 * This module and the table are data only: they never touch `process.env` (src/config.ts
 * alone does) and import nothing at run time, so any module may take a default from them.
 */
import type { Reader } from '../config-reader.js';

/** One environment variable: how it is read, its value when unset, and its README row. */
export interface Variable<T, A extends unknown[] = []> {
  /** The value when the variable is unset (and after a bad value has been reported). */
  readonly default: T;
  /** The README's "default" column (Markdown). */
  readonly shown: string;
  /** The README's "meaning" column (Markdown). */
  readonly meaning: string;
  /**
   * Reads `name` from the environment behind `reader`, recording a problem for a bad value.
   * `args` are what the value depends on besides the variable itself (e.g. the upstream URL a
   * credential is required with).
   */
  readonly read: (reader: Reader, name: string, ...args: A) => T;
}

/** What every entry says for the README; `shown` overrides the default as the README words it. */
interface Doc {
  meaning: string;
  shown?: string;
}

/** `4000` → "`4000`"; unset → "unset". */
function show(value: unknown): string {
  return value === undefined ? 'unset' : `\`${String(value)}\``;
}

function entry<T, A extends unknown[]>(
  value: T,
  doc: Doc,
  read: (reader: Reader, name: string, ...args: A) => T,
): Variable<T, A> {
  return { default: value, shown: doc.shown ?? show(value), meaning: doc.meaning, read };
}

/** A whole number from `min` to `max`. */
export function int(spec: Doc & { default: number; min: number; max: number }): Variable<number> {
  return entry(spec.default, spec, (r, name) => r.int(name, spec.default, spec.min, spec.max));
}

/** A whole number from `min` to `max`, or unset. */
export function optionalInt(
  spec: Doc & { min: number; max: number },
): Variable<number | undefined> {
  return entry(undefined, spec, (r, name) => r.optionalInt(name, spec.min, spec.max));
}

/** `true` or `false`. */
export function bool(spec: Doc & { default: boolean }): Variable<boolean> {
  return entry(spec.default, spec, (r, name) => r.bool(name, spec.default));
}

/**
 * `true` or `false`, defaulting differently in production. `default` is the development
 * (and test) value; the reader is given NODE_ENV.
 */
export function boolByEnv(
  spec: Doc & { default: boolean; production: boolean },
): Variable<boolean, [nodeEnv: string]> {
  return entry(spec.default, spec, (r, name, nodeEnv) =>
    r.bool(name, nodeEnv === 'production' ? spec.production : spec.default),
  );
}

/** One of a fixed list of words. */
export function oneOf<T extends string>(
  spec: Doc & { allowed: readonly T[]; default: NoInfer<T> },
): Variable<T> {
  return entry(spec.default, spec, (r, name) => r.oneOf(name, spec.allowed, spec.default));
}

/** Free text (trimmed; empty counts as unset). */
export function text<D extends string | undefined>(
  spec: Doc & { default: D },
): Variable<string | D> {
  return entry<string | D, []>(spec.default, spec, (r, name) => r.string(name) ?? spec.default);
}

/** An absolute http(s) URL without credentials (trailing slashes dropped), or unset. */
export function url(spec: Doc): Variable<string | undefined> {
  return entry(undefined, spec, (r, name) => r.url(name));
}

/** Where the store lives: `memory://`, `sqlite:<path>`, `redis://…` or `postgres://…`. */
export function storeUrl(spec: Doc & { default: string }): Variable<string> {
  return entry(spec.default, spec, (r, name) => r.storeUrl(name, spec.default));
}

/** A `redis://` or `rediss://` URL, or unset. */
export function redisUrl(spec: Doc): Variable<string | undefined> {
  return entry(undefined, spec, (r, name) => r.redisUrl(name));
}

/** An HTTP header name, read in lower case. */
export function headerName(spec: Doc & { default: string }): Variable<string> {
  return entry(spec.default, spec, (r, name) => r.headerName(name, spec.default));
}

/** Comma-separated origins (scheme, host, port), or unset. */
export function origins(spec: Doc): Variable<string[] | undefined> {
  return entry(undefined, spec, (r, name) => r.origins(name));
}

/** Comma-separated IP addresses, or unset. */
export function ipList(spec: Doc): Variable<string[] | undefined> {
  return entry(undefined, spec, (r, name) => r.list(name));
}

/** Express `trust proxy`: `false`, `true`, a hop count, or addresses/CIDRs/names. */
export function trustProxy(spec: Doc): Variable<boolean | number | string[]> {
  return entry<boolean | number | string[], []>(false, spec, (r, name) => r.trustProxy(name));
}

/**
 * An upstream credential: required when the upstream's base URL is set, the sandbox
 * simulator's own otherwise. Its value never appears in a message.
 */
export function secret(
  spec: Doc & { sandbox: string },
): Variable<string, [baseUrl: string | undefined]> {
  return entry(spec.sandbox, spec, (r, name, baseUrl) => r.secret(name, baseUrl, spec.sandbox));
}

/** PayByGroup's merchant_auth: a {@link secret} of exactly 32 printable ASCII characters. */
export function merchantAuth(
  spec: Doc & { sandbox: string },
): Variable<string, [baseUrl: string | undefined]> {
  return entry(spec.sandbox, spec, (r, name, baseUrl) =>
    r.merchantAuth(name, baseUrl, spec.sandbox),
  );
}
