/**
 * Runs tasks one at a time per key, in the order they arrive, within this process.
 *
 * Why: the state owner's compare-and-set is what keeps purchase state right across instances,
 * but inside one instance it is a poor queue. PayByGroup may push one purchase's changes faster
 * than a push is stored (the fan-out bench pushes every 50 ms; under load a push takes longer):
 * every overlapping observation of that purchase then reads the same version, one wins, the
 * rest lose and read again, and with a steady stream a loser can keep losing until it gives up
 * (MAX_ATTEMPTS) and the push is answered 503. Queued per purchase here, observations in one
 * process never race each other; compare-and-set still settles races between instances.
 *
 * A task waits only for tasks that registered a shared key before it, so waits form no cycle.
 * A key's entry is dropped when its last task ends, so the map holds only keys in flight.
 */
export class KeySerializer {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const before: Array<Promise<void>> = [];
    for (const key of keys) {
      const tail = this.tails.get(key);
      if (tail) before.push(tail);
    }
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    for (const key of keys) this.tails.set(key, mine);
    try {
      if (before.length > 0) await Promise.all(before);
      return await task();
    } finally {
      release();
      for (const key of keys) if (this.tails.get(key) === mine) this.tails.delete(key);
    }
  }

  /** Keys with a task running or waiting, for tests. */
  get size(): number {
    return this.tails.size;
  }
}
