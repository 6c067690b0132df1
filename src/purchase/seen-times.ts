/**
 * When each purchase was last confirmed by a repeat observation, for `fresh()` — in this
 * process only, bounded, oldest confirmation forgotten first.
 *
 * Why not in the store (it was a keyv record per purchase): then every read that showed nothing
 * new wrote one row per purchase — a `groupPurchases` list of 200 pending purchases was 200
 * synchronous SQLite writes, and a repeated 5,000-event push 5,000 of them (~2 s measured).
 * The time is only a hint for the read cache: losing it (a restart, another instance, eviction
 * past SEEN_CAPACITY) costs one more PayByGroup read for that purchase, never a wrong answer —
 * the change log and the stored state are untouched, and a change still stores its own
 * `observedAt` with the state. So a read that shows nothing new writes nothing.
 */
export class SeenTimes {
  private readonly times = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  get(purchaseId: string): number | undefined {
    return this.times.get(purchaseId);
  }

  mark(purchaseId: string, at: number): void {
    // Re-inserted so the Map's order stays oldest confirmation first.
    this.times.delete(purchaseId);
    this.times.set(purchaseId, at);
    if (this.times.size > this.capacity) {
      this.times.delete(this.times.keys().next().value!);
    }
  }
}
