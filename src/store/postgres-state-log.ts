import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { boolArray, int4Array, int8Array, textArray } from './postgres-arrays.js';
import { inTransaction, onClient } from './postgres-client.js';
import { settleAll } from '../settle-all.js';
import {
  serializeWrites,
  type StateLog,
  type StateLogCommitResult,
  type StateLogLogPage,
  type StateLogState,
  type StateLogWrite,
  type LogWindow,
  type SerializedWrite,
} from './state-log.js';

/** The channel every commit that appends to the change log notifies, with the new head. */
export const CHANGE_LOG_CHANNEL = 'payments_change_log';

/**
 * Rows per INSERT of a commit. The rows go as binary array parameters (postgres-arrays.ts), so
 * making a statement costs little main-thread time; statements of this size are sent one after
 * another without waiting (pipelining), so the server works on the first while the next is made.
 */
const ROWS_PER_STATEMENT = 1000;

/** `checked_at` sent for a key that keeps its place in the open-key rotation. */
const KEEP_CHECKED_AT = -1;

const SQL = {
  // The lock every state log commit takes first; see commitOn.
  lockHead: "SELECT value FROM ledger_meta WHERE name = 'head' FOR UPDATE",
  // The new head, and its announcement (delivered when, and only if, the transaction commits).
  advance: `WITH head AS (UPDATE ledger_meta SET value = $1::bigint WHERE name = 'head'
              RETURNING value)
            SELECT pg_notify('${CHANGE_LOG_CHANNEL}', value::text) FROM head`,
  states: `SELECT key, version, open, checked_at, cursor FROM ledger_state
           WHERE key = ANY($1::text[])`,
  append: `INSERT INTO change_log (seq, at, value)
           SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])`,
  // Keys the versions read found absent. Only state log commits insert states, each under the head
  // lock, so an absent key stays absent until this commit ends: a plain INSERT, without the
  // speculative insertion of ON CONFLICT (about a third cheaper for 5,000 new purchases).
  insert: `INSERT INTO ledger_state (key, version, value, open, checked_at, cursor)
           SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::boolean[],
             $5::bigint[], $6::bigint[])`,
  update: `UPDATE ledger_state s SET version = u.version, value = u.value, open = u.open,
             cursor = u.cursor,
             checked_at = CASE WHEN u.checked_at = ${KEEP_CHECKED_AT}
               THEN s.checked_at ELSE u.checked_at END
           FROM unnest($1::text[], $2::integer[], $3::text[], $4::boolean[], $5::bigint[],
             $6::bigint[]) AS u (key, version, value, open, checked_at, cursor)
           WHERE s.key = u.key`,
  getMany: 'SELECT key, version, value, cursor FROM ledger_state WHERE key = ANY($1::text[])',
  // One statement, so one snapshot: a trim cannot fall between the watermark and the page.
  page: `SELECT NULL::bigint AS seq, value::text AS value FROM ledger_meta
           WHERE name = 'trimmed_up_to'
         UNION ALL
         (SELECT seq, value FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2)`,
  pageWindow: `SELECT NULL::bigint AS seq, value::text AS value FROM ledger_meta
                 WHERE name = 'trimmed_up_to'
               UNION ALL
               (SELECT seq, value FROM change_log
                 WHERE at >= $3 AND at < $4 AND seq > $1 ORDER BY seq LIMIT $2)`,
  head: "SELECT value FROM ledger_meta WHERE name = 'head'",
  lastOld: 'SELECT max(seq) AS seq FROM change_log WHERE at < $1',
  setTrimmed: `UPDATE ledger_meta SET value = greatest(value, $1) WHERE name = 'trimmed_up_to'`,
  trim: 'DELETE FROM change_log WHERE seq <= $1',
  takeOpen: `WITH picked AS (
               SELECT key, checked_at FROM ledger_state WHERE open
               ORDER BY checked_at, key LIMIT $1 FOR UPDATE SKIP LOCKED)
             UPDATE ledger_state s SET checked_at = $2 FROM picked WHERE s.key = picked.key
             RETURNING s.key, picked.checked_at AS previous`,
} as const;

interface StateRow {
  key: string;
  version: number;
  open: boolean;
  checked_at: string;
  cursor: string | null;
}

interface Pending {
  version: number;
  value: string;
  open: boolean;
  /** Epoch ms, or KEEP_CHECKED_AT. */
  checkedAt: number;
  cursor: string | null;
}

/**
 * Applies `writes` inside the caller's transaction on `client`: compare-and-set on each key's
 * version, the log entries appended, the new head announced on CHANGE_LOG_CHANNEL (delivered to
 * listeners when, and only if, the transaction commits).
 *
 * Why the `head` row lock first: every commit takes it before it reads a version and holds it
 * until it commits, so (1) a version compared is the version overwritten — no other commit runs
 * in between, on any host — and (2) log entries get their `seq` in commit order: the next
 * appender reads the head only after this one's entries are committed and visible. A reader
 * asking for `seq > cursor` therefore never passes an entry that commits later.
 *
 * Two round trips whatever the number of writes, on the store's pipelining pool: the lock and
 * the versions together, then every write statement together (the log rows and the states
 * through unnest of binary arrays, ROWS_PER_STATEMENT at a time, and the new head) — so a
 * 5,000-event push is not 15,000 round trips, nor one per statement. Several writes to one key
 * in one commit are chained here and stored as the last one.
 *
 * With `own`, the transaction is this call's: BEGIN goes with the first round trip and COMMIT
 * with the second, so the whole commit is those two. Why: each round trip's answer waits for the
 * main thread, which during a bulk change push is reading and deciding the next events — a
 * 500-write commit of four round trips took 90–160 ms there against ~50 µs per write once the
 * main thread was free. COMMIT sent behind the writes is safe: if one of them fails, the
 * transaction is aborted and PostgreSQL answers that COMMIT with a rollback, and the failure is
 * thrown here.
 */
export async function commitOn(
  client: PoolClient,
  writes: readonly SerializedWrite[],
  now: number,
  own = false,
): Promise<StateLogCommitResult[]> {
  const keys = [...new Set(writes.map((w) => w.key))];
  // Sent together: the server runs them in order, so the versions are read (a new snapshot per
  // statement) only once the head lock is held.
  const first: Statement[] = [
    [SQL.lockHead, () => []],
    [SQL.states, () => [textArray(keys)]],
  ];
  const [head, states] = (await sendAll(client, own ? [BEGIN, ...first] : first)).slice(
    own ? 1 : 0,
  ) as [QueryResult<{ value: string }>, QueryResult<StateRow>];
  const plan = applyWrites(writes, states.rows, BigInt(head.rows[0]!.value), now);
  const statements: Statement[] = [];
  const { log } = plan;
  for (let at = 0; at < log.seqs.length; at += ROWS_PER_STATEMENT) {
    const end = at + ROWS_PER_STATEMENT;
    statements.push([
      SQL.append,
      () => [
        int8Array(log.seqs.slice(at, end)),
        int8Array(log.ats.slice(at, end)),
        textArray(log.values.slice(at, end)),
      ],
    ]);
  }
  const stored = new Set(states.rows.map((r) => r.key));
  const touched = [...plan.touched];
  for (const [sql, rows] of [
    [SQL.insert, touched.filter(([key]) => !stored.has(key))],
    [SQL.update, touched.filter(([key]) => stored.has(key))],
  ] as const) {
    for (let at = 0; at < rows.length; at += ROWS_PER_STATEMENT) {
      statements.push([sql, () => putParams(rows.slice(at, at + ROWS_PER_STATEMENT))]);
    }
  }
  if (log.seqs.length > 0) statements.push([SQL.advance, () => [log.seqs.at(-1)!]]);
  if (own) statements.push(COMMIT);
  await sendAll(client, statements);
  return plan.out;
}

const BEGIN: Statement = ['BEGIN', () => []];
const COMMIT: Statement = ['COMMIT', () => []];

/**
 * The compare-and-set, in memory, against the versions read under the head lock: which writes
 * apply, the log entries they append (numbered from `head`), each key's new state.
 */
function applyWrites(
  writes: readonly SerializedWrite[],
  rows: readonly StateRow[],
  head: bigint,
  now: number,
): {
  out: StateLogCommitResult[];
  log: { seqs: string[]; ats: number[]; values: string[] };
  touched: Map<string, Pending>;
} {
  let seq = head;
  const current = new Map<string, Pending>(
    rows.map((r) => [
      r.key,
      { version: r.version, value: '', open: r.open, checkedAt: KEEP_CHECKED_AT, cursor: r.cursor },
    ]),
  );
  const touched = new Map<string, Pending>();
  const log = { seqs: [] as string[], ats: [] as number[], values: [] as string[] };
  const out: StateLogCommitResult[] = [];
  for (const write of writes) {
    const state = touched.get(write.key) ?? current.get(write.key);
    const version = state?.version ?? 0;
    if (version !== write.expectedVersion) {
      out.push({ ok: false });
      continue;
    }
    let cursor: string | undefined;
    if (write.log !== undefined) {
      seq += 1n;
      cursor = seq.toString();
      log.seqs.push(cursor);
      log.ats.push(write.at ?? now);
      log.values.push(write.log);
    }
    // An open key keeps its place in the rotation; one that opens anew starts at `now`.
    const checkedAt = state?.open ? state.checkedAt : now;
    touched.set(write.key, {
      version: version + 1,
      value: write.value,
      open: write.open,
      checkedAt,
      cursor: cursor ?? state?.cursor ?? null,
    });
    out.push(
      cursor ? { ok: true, version: version + 1, cursor } : { ok: true, version: version + 1 },
    );
  }
  return { out, log, touched };
}

/** A statement and what makes its parameters (called just before it is sent). */
type Statement = [text: string, values: () => unknown[]];

/**
 * Runs `statements` in order on `client` and returns their results. On a pipelining client
 * (the store's pool, see postgres.ts) each is written as soon as its parameters are made,
 * without waiting for the one before: the server runs them one after another with no round
 * trip in between. Between two statements the event loop runs (a statement of
 * ROWS_PER_STATEMENT rows is the most the main thread does in one go), while the server works
 * on what was sent. Each has its own result; if one fails, the ones after it fail too (inside
 * a transaction: "current transaction is aborted"), and the first failure is thrown once all
 * have answered.
 */
async function sendAll(
  client: PoolClient,
  statements: readonly Statement[],
): Promise<QueryResult[]> {
  if (!(client as { pipeline?: boolean }).pipeline) {
    const results: QueryResult[] = [];
    for (const [text, values] of statements) results.push(await client.query(text, values()));
    return results;
  }
  const sent: Array<Promise<QueryResult>> = [];
  let made = false;
  for (const [text, values] of statements) {
    // After a statement whose parameters were made (up to ROWS_PER_STATEMENT rows encoded), not
    // after BEGIN or the lock, which make none.
    if (made) await yieldToEventLoop();
    const params = values();
    made = params.length > 0;
    const result = client.query(text, params);
    // Settled below; a failure must not count as unhandled while later ones are being sent.
    result.catch(() => undefined);
    sent.push(result);
  }
  return settleAll(sent);
}

function putParams(touched: ReadonlyArray<[string, Pending]>): Buffer[] {
  const keys: string[] = [];
  const versions: number[] = [];
  const values: string[] = [];
  const open: boolean[] = [];
  const checkedAt: number[] = [];
  const cursors: Array<string | null> = [];
  for (const [key, p] of touched) {
    keys.push(key);
    versions.push(p.version);
    values.push(p.value);
    open.push(p.open);
    checkedAt.push(p.checkedAt);
    cursors.push(p.cursor);
  }
  return [
    textArray(keys),
    int4Array(versions),
    textArray(values),
    boolArray(open),
    int8Array(checkedAt),
    int8Array(cursors),
  ];
}

/**
 * The state log in PostgreSQL tables (see postgres-schema.ts), shared by every instance on the
 * database. Reads are single statements on the pool; commits are transactions (commitOn).
 * Reads on the path of requests (states, the head) are named statements: each connection parses
 * and plans one once, then only binds and runs it (see postgres-keyv.ts, where it was measured).
 */
export class PostgresStateLog implements StateLog {
  constructor(private readonly pool: Pool) {}

  async getMany<T>(keys: readonly string[]): Promise<Map<string, StateLogState<T>>> {
    if (keys.length === 0) return new Map();
    const { rows } = await this.pool.query<{
      key: string;
      version: number;
      value: string;
      cursor: string | null;
    }>({ name: 'state-log-get-many', text: SQL.getMany, values: [textArray(keys)] });
    return new Map(
      rows.map((r) => [
        r.key,
        {
          version: r.version,
          value: JSON.parse(r.value) as T,
          ...(r.cursor === null ? {} : { cursor: r.cursor }),
        },
      ]),
    );
  }

  async commit<T>(writes: ReadonlyArray<StateLogWrite<T>>): Promise<StateLogCommitResult[]> {
    if (writes.length === 0) return [];
    const serialized = await serializeWrites(writes);
    return onClient(this.pool, (client) => commitOn(client, serialized, Date.now(), true));
  }

  async readLog<T>(
    after: string | undefined,
    limit: number,
    window?: LogWindow,
  ): Promise<StateLogLogPage<T>> {
    const from = after ?? '0';
    const { rows } = await this.pool.query<{ seq: string | null; value: string }>(
      window ? SQL.pageWindow : SQL.page,
      window
        ? [
            from,
            limit,
            window.from ?? Number.MIN_SAFE_INTEGER,
            window.to ?? Number.MAX_SAFE_INTEGER,
          ]
        : [from, limit],
    );
    let trimmed = 0n;
    const entries: StateLogLogPage<T>['entries'] = [];
    for (const row of rows) {
      if (row.seq === null) trimmed = BigInt(row.value);
      else entries.push({ cursor: row.seq, value: JSON.parse(row.value) as T });
    }
    return { expired: after !== undefined && BigInt(from) < trimmed, entries };
  }

  async head(): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ value: string }>({
      name: 'state-log-head',
      text: SQL.head,
    });
    const value = rows[0]?.value;
    return value === undefined || value === '0' ? undefined : value;
  }

  async trim(maxAgeMs: number): Promise<number> {
    const cutoff = Date.now() - maxAgeMs;
    return inTransaction(this.pool, async (client) => {
      const last = (await client.query<{ seq: string | null }>(SQL.lastOld, [cutoff])).rows[0]?.seq;
      if (last === null || last === undefined) return 0;
      await client.query(SQL.setTrimmed, [last]);
      return (await client.query(SQL.trim, [last])).rowCount ?? 0;
    });
  }

  isCursor(cursor: string): boolean {
    return /^\d{1,15}$/.test(cursor);
  }

  async takeOpen(limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ key: string; previous: string }>(SQL.takeOpen, [
      limit,
      Date.now(),
    ]);
    return rows
      .map((r) => ({ key: r.key, previous: Number(r.previous) }))
      .sort((a, b) => a.previous - b.previous || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((r) => r.key);
  }
}
