import DataLoader from 'dataloader';

/**
 * A loader whose loads made in one turn of the event loop go to the store as one read, sent
 * once that turn's I/O callbacks are done (`setImmediate`), with each distinct key once.
 *
 * Why: some store reads are made by every request so that what another instance stored wins
 * over what this process remembers (a batch's terminal status, the change log's head). Under
 * load many requests reach such a read together; one store read each was a round trip and a
 * statement on PostgreSQL, and a message to the reader thread on SQLite.
 *
 * Why sharing this way cannot answer from an older read: the read is sent only after every
 * load in it was made, so each caller's store read starts after the caller asked — unlike
 * joining a read already in flight, which may have started before another instance stored
 * what the caller must see. Nothing is kept between turns (`cache: false`).
 *
 * `read` answers the distinct keys, in their order.
 */
export function readsOfOneTurn<K, V>(
  read: (keys: readonly K[]) => Promise<readonly V[]>,
  maxBatchSize = 1_000,
): DataLoader<K, V> {
  return new DataLoader<K, V>(
    async (keys) => {
      const distinct = [...new Set(keys)];
      const values = await read(distinct);
      const byKey = new Map(distinct.map((key, i) => [key, values[i] as V]));
      return keys.map((key) => byKey.get(key) as V);
    },
    { cache: false, batchScheduleFn: (send) => setImmediate(send), maxBatchSize },
  );
}
