/**
 * Waits for every promise to settle, then returns their values in order, or rejects with the
 * first failure among them (in their order).
 *
 * Why not Promise.all: it rejects at the first failure while the others still run, and a caller
 * that answers then (a 503, a rollback, a released connection) must not leave work in flight
 * that still fills its results or uses what it gave back.
 */
export async function settleAll<T>(promises: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
