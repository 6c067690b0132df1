import type { StateLogCommitResult, StateLogWrite } from '../store/index.js';

/**
 * State log writes committed in a fixed order, as few commits as keep up: a commit starts when
 * writes are waiting and none is running, and takes every write waiting by then.
 *
 * The order is that of places (`place()`), taken by the observations that write: a place's
 * writes are committed after those of every place taken before it, whenever each is decided.
 * The change push takes one place per slice of events, in the push's order, so the change log
 * holds a push in its order even when a later slice is decided first (a PostgreSQL read of
 * states may answer out of order), and several slices decided while a commit ran go together
 * in the next.
 *
 * A failed commit fails the lane: every write added after it fails with the same error. Where
 * the state log applies commits in the order they are called (SQLite's writer thread), each
 * place's writes are sent as soon as their turn comes, without waiting for the commit before to
 * end; a commit already sent when an earlier one fails may still be stored, so what a failed
 * push stored is its slices but one or a few, in order, and the retry logs the rest (after
 * them). Elsewhere one commit runs at a time and takes every write waiting, and what a failed
 * push stored is a prefix of it.
 *
 * Why send without waiting where the order allows it: a commit that waits for the one before
 * starts only once the main thread has taken that one's answer, which it cannot do while it is
 * parsing and deciding the next slice; the writer thread sat idle between commits, and a
 * 5,000-event push took 335–365 ms on SQLite instead of 265–290 ms (the bench's bulk row).
 */
export class CommitLane {
  private waiting: Group[] = [];
  private running: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  /** Settles when the last place taken is closed. */
  private last: Promise<void> = Promise.resolve();

  /**
   * @param commit the state log's commit.
   * @param inCallOrder whether the state log applies commits in the order they are called
   * (StateLog.commitsInCallOrder), asked when writes are added: then each place's writes are
   * committed as soon as their turn comes, without waiting for the commit before to end.
   */
  constructor(
    private readonly commit: (
      writes: Array<StateLogWrite<unknown>>,
    ) => Promise<StateLogCommitResult[]>,
    private readonly inCallOrder: () => boolean = () => false,
  ) {}

  /**
   * A place after every place taken so far. Its writes wait until the place before is closed;
   * close it once everything it will add is added (a place left open holds up every later one).
   */
  place(): CommitPlace {
    let open!: () => void;
    const closed = new Promise<void>((resolve) => (open = resolve));
    const ready = this.last;
    this.last = closed;
    return new CommitPlace(this, ready, open);
  }

  /**
   * A place with no turn: its writes join the waiting ones as soon as they are added. For an
   * observation's later rounds and compare-and-set retries, which must not wait for places
   * taken after its first — those may be observations waiting for this one to end (the state
   * owner queues observations of one purchase), and waiting on them would never end.
   */
  anyTurn(): CommitPlace {
    return new CommitPlace(this, Promise.resolve(), () => undefined);
  }

  /** Queues writes behind those already waiting: their results, in order, once committed. */
  enqueue(writes: Array<StateLogWrite<unknown>>): Promise<StateLogCommitResult[]> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (writes.length === 0) return Promise.resolve([]);
    if (this.inCallOrder()) {
      const committed = this.commit(writes);
      committed.catch((error: unknown) => (this.failure ??= { error }));
      return committed;
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ writes, resolve, reject });
      this.running ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const groups = this.waiting;
      this.waiting = [];
      try {
        const results = await this.commit(groups.flatMap((g) => g.writes));
        let at = 0;
        for (const group of groups) {
          group.resolve(results.slice(at, at + group.writes.length));
          at += group.writes.length;
        }
      } catch (error) {
        this.failure = { error };
        for (const group of [...groups, ...this.waiting]) group.reject(error);
        this.waiting = [];
      }
    }
    // In the same synchronous step as the empty-queue check: an enqueue after it starts a new drain.
    this.running = undefined;
  }
}

/** Writes of one observation, with the promise their results settle. */
interface Group {
  writes: Array<StateLogWrite<unknown>>;
  resolve: (results: StateLogCommitResult[]) => void;
  reject: (error: unknown) => void;
}

/** One observation's turn in a CommitLane. */
export class CommitPlace {
  constructor(
    private readonly lane: CommitLane,
    private readonly ready: Promise<void>,
    private readonly open: () => void,
  ) {}

  /**
   * Commits `writes` once the places before this one are closed, after the writes added here
   * before them: their results, in order.
   */
  add(writes: Array<StateLogWrite<unknown>>): Promise<StateLogCommitResult[]> {
    return this.ready.then(() => this.lane.enqueue(writes));
  }

  /** A place of the same lane with no turn (CommitLane.anyTurn), for writes decided again. */
  anyTurn(): CommitPlace {
    return this.lane.anyTurn();
  }

  /** Lets the next place's writes follow: after the writes added here so far. */
  close(): void {
    void this.ready.then(this.open);
  }
}
