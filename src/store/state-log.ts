import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/**
 * A versioned key → value map with an ordered, append-only change log beside it, kept in the
 * store's own engine: an array in memory, two tables in the SQLite file, a hash, a sorted set and
 * a Stream in Redis. It is what lets one module own purchase state across instances: a write is a
 * compare-and-set on the version read, and the log entry it appends lands in the same atomic
 * step — so a state that is stored always has its change in the log, and the log's order (the
 * engine's, never an instance's clock) is the order the states were stored in.
 *
 * Values are JSON-like. Nothing here knows what a purchase is.
 */
export interface StateLog {
  /** Current states by key (absent keys are missing from the map). */
  getMany<T>(keys: readonly string[]): Promise<Map<string, StateLogState<T>>>;
  /**
   * Applies each write whose `expectedVersion` still matches (0 = the key must be absent), in
   * order, all in one atomic step, and appends its `log` value (when given) to the change log.
   * A write whose version moved is skipped (`{ ok: false }`): the caller reads again and
   * decides again. Results are in the order of `writes`.
   */
  commit<T>(writes: ReadonlyArray<StateLogWrite<T>>): Promise<StateLogCommitResult[]>;
  /**
   * True when commits are applied in the order `commit` was called, even when one is called
   * before an earlier one has ended (SQLite: one writer thread takes them first come, first
   * served). Then a caller that needs an order may send the next commit without waiting.
   * @default false
   */
  readonly commitsInCallOrder?: boolean;
  /**
   * Up to `limit` log entries after `after` (exclusive; from the oldest kept without it), oldest
   * first. `expired` is true when entries after `after` were already trimmed: the caller asked
   * for history the log no longer has.
   *
   * With `window`, only entries whose `at` (StateLogWrite.at) lies in it, found through an index
   * on `at` in every engine, never by scanning the log; still in cursor order after `after`.
   */
  readLog<T>(
    after: string | undefined,
    limit: number,
    window?: LogWindow,
  ): Promise<StateLogLogPage<T>>;
  /** The cursor of the newest entry ever appended, or undefined when nothing was. */
  head(): Promise<string | undefined>;
  /** Deletes log entries older than `maxAgeMs`; returns how many went. */
  trim(maxAgeMs: number): Promise<number>;
  /** Whether `cursor` has this engine's cursor form (it may still be expired or in the future). */
  isCursor(cursor: string): boolean;
  /**
   * Up to `limit` keys whose last write had `open: true`, least recently checked first, and marks
   * them checked now — so successive calls rotate through every open key.
   */
  takeOpen(limit: number): Promise<string[]>;
}

export interface StateLogState<T> {
  /** 1 for the first write, +1 for every one after it. */
  version: number;
  value: T;
  /** The cursor of the newest log entry written with this key's state; undefined if none. */
  cursor?: string;
}

export interface StateLogWrite<T> {
  key: string;
  /** The version this write was decided on; 0 when the key was absent. */
  expectedVersion: number;
  value: T;
  /** Whether the key stays in the set `takeOpen` rotates through. */
  open: boolean;
  /** Appended to the change log in the same atomic step; undefined = no log entry. */
  log?: unknown;
  /**
   * When the log entry happened, epoch ms (for purchases: when this service learned of the
   * change); what `readLog`'s window selects on and what `trim` ages by.
   * @default the engine's clock at commit
   */
  at?: number;
  /**
   * The JSON text of `value` and `log`, when the caller already made it (src/purchase/stored.ts makes
   * both with the purchase they share stringified once): the engines store it as is instead of
   * stringifying them again. It must be what JSON.stringify gives for each, and carry `log`
   * exactly when `log` is given.
   */
  text?: WriteText;
}

/**
 * A write's JSON text as its caller made it: whole, or as the text its value and its log entry
 * share (`shared`) with what comes before and after it in each — value = `value[0] + shared +
 * value[1]`, log = `log[0] + shared + log[1]`.
 *
 * Why the second form: a purchase's state and its change-log entry both carry the purchase
 * whole, so whole texts carry it twice. An engine that moves the text elsewhere before storing
 * it (SQLite's writer thread) moves the shared part once and joins it there: for a 5,000-event
 * push, ~6.5 million characters joined and copied on the main thread became ~3.7 million.
 */
export type WriteText =
  | { value: string; log?: string }
  | { shared: string; value: readonly [string, string]; log: readonly [string, string] };

/** A time window over log entries' `at`, epoch ms: `from` inclusive, `to` exclusive. */
export interface LogWindow {
  from?: number;
  to?: number;
}

/** Whether `at` lies in `window` (an absent bound does not limit). */
export function inWindow(at: number, window: LogWindow | undefined): boolean {
  if (!window) return true;
  return (
    (window.from === undefined || at >= window.from) && (window.to === undefined || at < window.to)
  );
}

export type StateLogCommitResult = { ok: true; version: number; cursor?: string } | { ok: false };

export interface StateLogLogEntry<T> {
  cursor: string;
  value: T;
}

export interface StateLogLogPage<T> {
  entries: Array<StateLogLogEntry<T>>;
  expired: boolean;
}

/**
 * Orders two cursors of the same engine: `"42"` (SQLite, memory, PostgreSQL) or `"1767225600000-3"` (a
 * Redis Stream id), compared part by part as integers.
 */
export function compareCursors(a: string, b: string): number {
  // Plain decimal cursors (SQLite, memory, PostgreSQL) compare by length, then by digits, without
  // splitting or allocating: a 5,000-event push compares each of its new cursors once.
  if (isPlainDecimal(a) && isPlainDecimal(b)) {
    if (a.length !== b.length) return a.length < b.length ? -1 : 1;
    return a === b ? 0 : a < b ? -1 : 1;
  }
  const pa = a.split('-').map(BigInt);
  const pb = b.split('-').map(BigInt);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0n;
    const y = pb[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Digits only, without a leading zero (unless it is "0"): comparable by length, then text. */
function isPlainDecimal(cursor: string): boolean {
  if (cursor.length === 0 || (cursor.length > 1 && cursor.charCodeAt(0) === 48)) return false;
  for (let i = 0; i < cursor.length; i++) {
    const c = cursor.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A write as the engines store it: value and log entry already JSON text. */
export interface SerializedWrite {
  key: string;
  expectedVersion: number;
  value: string;
  open: boolean;
  /** undefined = no log entry. */
  log?: string;
  /** StateLogWrite.at; undefined = the engine's clock at commit. */
  at?: number;
}

/** Writes serialized per slice of the event loop (see serializeWrites). */
export const SERIALIZE_SLICE = 500;

/**
 * The JSON text of one write's value and log entry: the caller's own (`StateLogWrite.text`) when
 * it has it, else JSON.stringify of each.
 */
export function writeTexts(write: StateLogWrite<unknown>): { value: string; log?: string } {
  const text = write.text;
  if (text !== undefined) {
    if (!('shared' in text)) return text;
    return {
      value: text.value[0] + text.shared + text.value[1],
      log: text.log[0] + text.shared + text.log[1],
    };
  }
  return write.log === undefined
    ? { value: JSON.stringify(write.value) }
    : { value: JSON.stringify(write.value), log: JSON.stringify(write.log) };
}

/**
 * The JSON text of every write, made before an engine applies them.
 *
 * Why here and in slices: a bulk commit (a 5,000-event change push) stringifies 10,000 values
 * and log entries — about 20 ms of main-thread CPU measured on the 2-core machine — which in one
 * go would hold every other request for that long. Between slices of SERIALIZE_SLICE writes the
 * event loop runs (a `/healthz` probe, another request). Nothing here reads state, so yielding
 * cannot break a compare-and-set: each engine reads the versions and applies the writes in one
 * uninterrupted step afterwards. A commit of one slice or less does not yield at all.
 */
export async function serializeWrites(
  writes: ReadonlyArray<StateLogWrite<unknown>>,
): Promise<SerializedWrite[]> {
  const out = new Array<SerializedWrite>(writes.length);
  for (let start = 0; start < writes.length; start += SERIALIZE_SLICE) {
    if (start > 0) await yieldToEventLoop();
    const end = Math.min(start + SERIALIZE_SLICE, writes.length);
    for (let i = start; i < end; i++) {
      const w = writes[i]!;
      const text = writeTexts(w);
      out[i] = {
        key: w.key,
        expectedVersion: w.expectedVersion,
        value: text.value,
        open: w.open,
        ...(text.log === undefined ? {} : { log: text.log }),
        ...(w.at === undefined ? {} : { at: w.at }),
      };
    }
  }
  return out;
}
