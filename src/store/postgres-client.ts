import type { Pool, PoolClient } from 'pg';

/** Transactions on a client of the store's pool, for the PostgreSQL engine's modules. */

/** Runs `work` in one transaction on a client of `pool`. */
export function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return onClient(pool, async (client) => {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  });
}

/**
 * Runs `work` on a client of `pool`, which begins and ends its own transaction; after a failure
 * whatever transaction is left open is rolled back (a ROLLBACK with none open only warns).
 */
export async function onClient<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // A connection lost between two statements (PostgreSQL crashed or restarted) is reported as
  // an 'error' event on the client, not as a rejection — pg's pool listens only to idle clients,
  // and an unheard 'error' would end the process. The next statement then rejects.
  const lost = () => (broken = true);
  client.on('error', lost);
  try {
    return await work(client);
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection itself failed: do not hand it out again
    }
    throw error;
  } finally {
    client.off('error', lost);
    client.release(broken);
  }
}
