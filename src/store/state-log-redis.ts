import {
  compareCursors,
  serializeWrites,
  type StateLog,
  type StateLogCommitResult,
  type StateLogLogPage,
  type StateLogState,
  type StateLogWrite,
  type LogWindow,
  type SerializedWrite,
} from './state-log.js';

/** One raw Redis command (node-redis's `sendCommand`). */
export type RedisCommand = (args: string[]) => Promise<unknown>;

/** How the state log reaches Redis. */
export interface RedisStateLogConnection {
  /** One command, one reply. */
  send: RedisCommand;
  /**
   * The commands in one MULTI … EXEC, sent as one pipeline (one round trip); their replies in
   * order. Redis runs them with nothing in between, and runs none of them if EXEC never
   * arrives (a connection lost mid-send).
   */
  transaction: (commands: string[][]) => Promise<unknown[]>;
}

/**
 * Writes per COMMIT script call, and keys per GET_MANY call. Why a bound: GET_MANY passes its
 * keys through Lua's `unpack`, which fails past ~8,000 values (LUAI_MAXCSTACK), and a script
 * keeps Redis to itself while it runs; 1,000 writes (7,002 arguments) run in a few ms. A larger
 * commit is several script calls inside one MULTI (see commit).
 */
const SCRIPT_BATCH = 1000;

/*
 * Keys share the `{ledger}` hash tag, so a Redis Cluster keeps them on one slot and the scripts
 * below, which touch several of them, stay legal there.
 */
const KEYS = {
  versions: '{ledger}:versions',
  values: '{ledger}:values',
  open: '{ledger}:open',
  log: '{ledger}:log',
  trimmed: '{ledger}:trimmed',
  cursors: '{ledger}:cursors',
  /** Log entry ids scored by their `at`: the index a time window is read through. */
  byAt: '{ledger}:byat',
};

/**
 * Compare-and-set of every write, in order, plus XADD of its log entry — one script, so Redis
 * runs it with nothing in between: the version compared is the version replaced, whichever
 * instance sent it, and a stored state always has its log entry, indexed by its `at`. ARGV: now,
 * count, then seven per write (key, expected version, value, open, has-log, log, at — "" for
 * now). Answers "version cursor" or "".
 */
const COMMIT = `
local now = ARGV[1]
local out = {}
for i = 0, tonumber(ARGV[2]) - 1 do
  local b = 3 + i * 7
  local key = ARGV[b]
  local current = tonumber(redis.call('HGET', KEYS[1], key) or '0')
  if current ~= tonumber(ARGV[b + 1]) then
    out[#out + 1] = ''
  else
    redis.call('HSET', KEYS[1], key, current + 1)
    redis.call('HSET', KEYS[2], key, ARGV[b + 2])
    if ARGV[b + 3] == '1' then
      redis.call('ZADD', KEYS[3], 'NX', now, key)
    else
      redis.call('ZREM', KEYS[3], key)
    end
    local cursor = ''
    if ARGV[b + 4] == '1' then
      cursor = redis.call('XADD', KEYS[4], '*', 'v', ARGV[b + 5])
      redis.call('HSET', KEYS[5], key, cursor)
      local at = ARGV[b + 6]
      if at == '' then at = now end
      redis.call('ZADD', KEYS[6], at, cursor)
    end
    out[#out + 1] = tostring(current + 1) .. ' ' .. cursor
  end
end
return out`;

/** Version, value and cursor of each key, read together so they belong to the same write. */
const GET_MANY = `
return { redis.call('HMGET', KEYS[1], unpack(ARGV)), redis.call('HMGET', KEYS[2], unpack(ARGV)),
  redis.call('HMGET', KEYS[3], unpack(ARGV)) }`;

/**
 * Drops entries older than ARGV[1] (a stream id) and remembers the newest one dropped; the `at`
 * index loses the entries whose `at` is older than ARGV[2] (an index member whose entry is gone
 * is skipped by READ_WINDOW, so the two need not match exactly).
 */
const TRIM = `
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[2])
local last = redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[1], '-', 'COUNT', 1)
if #last == 0 then return 0 end
local removed = redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
redis.call('SET', KEYS[2], last[1][1])
return removed`;

/**
 * The watermark and up to ARGV[4] entries whose `at` lies in [ARGV[1], ARGV[2]) and whose id is
 * after ARGV[3] ("" = from the oldest), in id order: the window's ids come from the `at` index
 * (ZRANGEBYSCORE), never from a walk of the Stream, then each entry by its id.
 */
const READ_WINDOW = `
local function parts(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function before(a, b)
  local am, as = parts(a)
  local bm, bs = parts(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[1], ARGV[2])
local kept = {}
for _, id in ipairs(ids) do
  if ARGV[3] == '' or before(ARGV[3], id) then kept[#kept + 1] = id end
end
table.sort(kept, before)
local rows = {}
for i = 1, math.min(#kept, tonumber(ARGV[4])) do
  local row = redis.call('XRANGE', KEYS[1], kept[i], kept[i])
  if #row > 0 then rows[#rows + 1] = row[1] end
end
return { redis.call('GET', KEYS[2]), rows }`;

/** The least recently checked open keys, marked checked at ARGV[2]. */
const TAKE_OPEN = `
local keys = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
for _, key in ipairs(keys) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], key) end
return keys`;

/** The watermark and up to ARGV[2] entries after ARGV[1], read together (one snapshot). */
const READ_LOG = `
return { redis.call('GET', KEYS[2]), redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2]) }`;

/** The newest entry (or, once all are trimmed, the newest trimmed id). */
const HEAD = `
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #newest > 0 then return newest[1][1] end
return redis.call('GET', KEYS[2])`;

type StreamEntry = [string, string[]];

/**
 * The state log in Redis: versions, values and cursors in hashes, the open set in a sorted set
 * scored by when each key was last checked, and the change log in a Stream — whose ids Redis
 * assigns in increasing order whatever the instances' clocks say, so they serve as cursors as
 * they are. Every operation is one script (or one command), so each sees one consistent state —
 * except a commit of more than SCRIPT_BATCH writes, which is several script calls in one
 * MULTI … EXEC (still one atomic step), and a getMany of more than SCRIPT_BATCH keys, whose
 * batches are read separately (each key's version, value and cursor still together).
 */
export class RedisStateLog implements StateLog {
  private readonly send: RedisCommand;

  constructor(private readonly connection: RedisStateLogConnection) {
    this.send = connection.send;
  }

  private eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.send(evalArgs(script, keys, args));
  }

  async getMany<T>(keys: readonly string[]): Promise<Map<string, StateLogState<T>>> {
    const found = new Map<string, StateLogState<T>>();
    // Issued together: node-redis writes commands of one tick as one pipeline.
    const batches = chunks(keys, SCRIPT_BATCH);
    const replies = await Promise.all(
      batches.map(
        (batch) =>
          this.eval(GET_MANY, [KEYS.versions, KEYS.values, KEYS.cursors], batch) as Promise<
            Array<Array<string | null>>
          >,
      ),
    );
    batches.forEach((batch, b) => {
      const [versions, values, cursors] = replies[b]!;
      batch.forEach((key, i) => {
        const version = versions![i];
        const value = values![i];
        const cursor = cursors![i];
        if (version == null || value == null) return;
        found.set(key, {
          version: Number(version),
          value: JSON.parse(value) as T,
          ...(cursor == null ? {} : { cursor }),
        });
      });
    });
    return found;
  }

  /**
   * Up to SCRIPT_BATCH writes: one COMMIT script call. More (a bulk change push): one COMMIT call
   * per SCRIPT_BATCH writes, all inside one MULTI … EXEC sent as one pipeline — one round trip,
   * and Redis runs the calls back to back with no other client's command between them, so the
   * whole commit is still one atomic step and its log entries are contiguous, in write order.
   */
  async commit<T>(writes: ReadonlyArray<StateLogWrite<T>>): Promise<StateLogCommitResult[]> {
    if (writes.length === 0) return [];
    const calls = await this.commitCalls(writes);
    const replies =
      calls.length === 1 ? [await this.send(calls[0]!)] : await this.connection.transaction(calls);
    return commitResults(replies);
  }

  /**
   * The COMMIT script calls for `writes`, for a caller that sends them inside a MULTI of its
   * own with other commands (Store.writeTogether); `commitResults` reads their replies.
   */
  async commitCalls<T>(writes: ReadonlyArray<StateLogWrite<T>>): Promise<string[][]> {
    const now = String(Date.now());
    const keys = [KEYS.versions, KEYS.values, KEYS.open, KEYS.log, KEYS.cursors, KEYS.byAt];
    return chunks(await serializeWrites(writes), SCRIPT_BATCH).map((batch) =>
      evalArgs(COMMIT, keys, commitArgs(now, batch)),
    );
  }

  async readLog<T>(
    after: string | undefined,
    limit: number,
    window?: LogWindow,
  ): Promise<StateLogLogPage<T>> {
    const [trimmed, rows] = (
      window
        ? await this.eval(
            READ_WINDOW,
            [KEYS.log, KEYS.trimmed, KEYS.byAt],
            windowArgs(after, limit, window),
          )
        : await this.eval(
            READ_LOG,
            [KEYS.log, KEYS.trimmed],
            [after === undefined ? '-' : `(${after}`, String(limit)],
          )
    ) as [string | null, StreamEntry[]];
    return {
      expired: after !== undefined && trimmed !== null && compareCursors(after, trimmed) < 0,
      entries: rows.map(([id, fields]) => ({
        cursor: id,
        value: JSON.parse(fields[fields.indexOf('v') + 1]!) as T,
      })),
    };
  }

  async head(): Promise<string | undefined> {
    return ((await this.eval(HEAD, [KEYS.log, KEYS.trimmed], [])) as string | null) ?? undefined;
  }

  async trim(maxAgeMs: number): Promise<number> {
    const cutoff = Date.now() - maxAgeMs;
    const keys = [KEYS.log, KEYS.trimmed, KEYS.byAt];
    return Number(await this.eval(TRIM, keys, [`${cutoff}-0`, String(cutoff)]));
  }

  isCursor(cursor: string): boolean {
    return /^\d{1,15}-\d{1,15}$/.test(cursor);
  }

  async takeOpen(limit: number): Promise<string[]> {
    const args = [String(limit), String(Date.now())];
    return (await this.eval(TAKE_OPEN, [KEYS.open], args)) as string[];
  }
}

/** The results of COMMIT script calls' replies, in write order. */
export function commitResults(replies: readonly unknown[]): StateLogCommitResult[] {
  return (replies as string[][]).flat().map((reply): StateLogCommitResult => {
    if (reply === '') return { ok: false };
    const [version, cursor] = reply.split(' ');
    return cursor
      ? { ok: true, version: Number(version), cursor }
      : { ok: true, version: Number(version) };
  });
}

function evalArgs(script: string, keys: string[], args: readonly string[]): string[] {
  return ['EVAL', script, String(keys.length), ...keys, ...args];
}

/** READ_WINDOW's ARGV: the score range (`to` exclusive), the cursor after, the limit. */
function windowArgs(after: string | undefined, limit: number, window: LogWindow): string[] {
  const min = window.from === undefined ? '-inf' : String(window.from);
  const max = window.to === undefined ? '+inf' : `(${window.to}`;
  return [min, max, after ?? '', String(limit)];
}

/** COMMIT's ARGV: now, count, then seven per write. */
function commitArgs(now: string, writes: readonly SerializedWrite[]): string[] {
  const args = [now, String(writes.length)];
  for (const w of writes) {
    args.push(w.key, String(w.expectedVersion), w.value, w.open ? '1' : '0');
    args.push(w.log === undefined ? '0' : '1', w.log ?? '', w.at === undefined ? '' : String(w.at));
  }
  return args;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    out.push(items.slice(start, start + size));
  }
  return out;
}
