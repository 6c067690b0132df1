import type { Pool, PoolClient } from 'pg';
import { ConfigError } from '../config.js';

/**
 * One step of the schema. Steps are applied in order, each in its own transaction together
 * with its row in `payments_schema_migrations`, and never edited once released: a change to
 * the schema is a new step at the end.
 */
interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The schema, step by step.
 *
 * - `keyv`: every keyv namespace, keys prefixed `namespace:` (keyv's own rule), with the expiry
 *   in a column so "absent or expired" is one SQL condition (setIfAbsent) and a sweep can
 *   delete what nobody reads again.
 * - `ledger_state`: one row per versioned key; `checked_at` orders the open-key rotation.
 * - `change_log`: `seq` is NOT a sequence: appenders take it from the `head` row of
 *   `ledger_meta` while holding that row's lock until they commit, so the order of `seq` is the
 *   order of commits (docs/decisions/022-postgres-change-log-order.md explains why).
 * - `ledger_meta`: `head` (the newest seq ever appended) and `trimmed_up_to` (the highest seq
 *   trimmed, to tell an expired cursor from a quiet log).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'keyv, stateLog state, change log',
    sql: `
      CREATE TABLE keyv (key text COLLATE "C" PRIMARY KEY, value text NOT NULL, expires bigint);
      CREATE INDEX keyv_expires ON keyv (expires) WHERE expires IS NOT NULL;
      CREATE TABLE ledger_state (
        key text PRIMARY KEY, version integer NOT NULL, value text NOT NULL,
        open boolean NOT NULL, checked_at bigint NOT NULL, cursor bigint);
      CREATE INDEX ledger_state_open ON ledger_state (checked_at, key) WHERE open;
      CREATE TABLE change_log (seq bigint PRIMARY KEY, at bigint NOT NULL, value text NOT NULL);
      CREATE INDEX change_log_at ON change_log (at, seq);
      CREATE TABLE ledger_meta (name text PRIMARY KEY, value bigint NOT NULL);
      INSERT INTO ledger_meta (name, value) VALUES ('head', 0), ('trimmed_up_to', 0);
    `,
  },
];

/** The newest schema version this release knows. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * The key of the session-level advisory lock that migrations run under (an arbitrary constant:
 * the first 8 bytes of "payments" as an integer). Other applications sharing the database
 * would have to pick the same number by accident to be held up by it.
 */
const MIGRATION_LOCK = 0x7061796d656e7473n;

/**
 * Brings the database's schema up to SCHEMA_VERSION, once however many instances start at the
 * same moment: each takes the advisory lock in turn, and the later ones find the steps applied.
 * A database already past SCHEMA_VERSION (a newer release migrated it) is refused with a
 * ConfigError naming both versions — the process then exits 78 (EX_CONFIG) like any other
 * configuration error: rolling back the code does not roll back the schema.
 */
export async function migrate(pool: Pool, description: string): Promise<number> {
  const client = await pool.connect();
  const lost = () => undefined; // reported by the next statement's rejection (see postgres-client.ts)
  client.on('error', lost);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    try {
      return await migrateLocked(client, description);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]);
    }
  } finally {
    client.off('error', lost);
    client.release();
  }
}

async function migrateLocked(client: PoolClient, description: string): Promise<number> {
  await client.query(`CREATE TABLE IF NOT EXISTS payments_schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())`);
  const { rows } = await client.query<{ version: number | null }>(
    'SELECT max(version) AS version FROM payments_schema_migrations',
  );
  const current = rows[0]?.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new ConfigError([
      `STORE_URL ${description}: the database's schema is at version ${current}, written by a ` +
        `newer release; this release knows versions up to ${SCHEMA_VERSION}. Run the newer ` +
        'release, or restore a database from before that upgrade.',
    ]);
  }
  for (const step of MIGRATIONS) {
    if (step.version <= current) continue;
    await client.query('BEGIN');
    try {
      await client.query(step.sql);
      await client.query('INSERT INTO payments_schema_migrations (version, name) VALUES ($1, $2)', [
        step.version,
        step.name,
      ]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  }
  return Math.max(current, SCHEMA_VERSION);
}
