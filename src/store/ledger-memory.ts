import type {
  Ledger,
  LedgerCommitResult,
  LedgerLogPage,
  LedgerState,
  LedgerWrite,
} from './ledger.js';

interface MemoryLogEntry {
  seq: number;
  at: number;
  value: string;
}

/**
 * The ledger of `memory://`: a Map of states and an array as the log. Every method runs to
 * completion without awaiting in between, so a commit is atomic against every other call in this
 * process, which is the only place memory state exists. Values are kept as JSON text, as the
 * other engines keep them, so a caller that mutates what it read cannot change the stored state.
 */
export function createMemoryLedger(now: () => number = Date.now): Ledger {
  const states = new Map<string, { version: number; value: string; cursor?: string }>();
  const open = new Map<string, number>();
  const log: MemoryLogEntry[] = [];
  let lastSeq = 0;
  let trimmedUpTo = 0;

  return {
    async getMany<T>(keys: readonly string[]) {
      const found = new Map<string, LedgerState<T>>();
      for (const key of keys) {
        const state = states.get(key);
        if (!state) continue;
        found.set(key, {
          version: state.version,
          value: JSON.parse(state.value) as T,
          ...(state.cursor === undefined ? {} : { cursor: state.cursor }),
        });
      }
      return found;
    },

    async commit<T>(writes: ReadonlyArray<LedgerWrite<T>>) {
      return writes.map((write): LedgerCommitResult => {
        const version = states.get(write.key)?.version ?? 0;
        if (version !== write.expectedVersion) return { ok: false };
        const previous = states.get(write.key)?.cursor;
        if (write.open) {
          if (!open.has(write.key)) open.set(write.key, now());
        } else open.delete(write.key);
        let cursor = previous;
        if (write.log !== undefined) {
          lastSeq += 1;
          log.push({ seq: lastSeq, at: now(), value: JSON.stringify(write.log) });
          cursor = String(lastSeq);
        }
        states.set(write.key, { version: version + 1, value: JSON.stringify(write.value), cursor });
        return write.log === undefined
          ? { ok: true, version: version + 1 }
          : { ok: true, version: version + 1, cursor: cursor! };
      });
    },

    async readLog<T>(after: string | undefined, limit: number): Promise<LedgerLogPage<T>> {
      const from = after === undefined ? 0 : Number(after);
      const expired = after !== undefined && from < trimmedUpTo;
      const start = log.findIndex((entry) => entry.seq > from);
      const slice = start < 0 ? [] : log.slice(start, start + limit);
      return {
        expired,
        entries: slice.map((e) => ({ cursor: String(e.seq), value: JSON.parse(e.value) as T })),
      };
    },

    async head() {
      return lastSeq === 0 ? undefined : String(lastSeq);
    },

    async trim(maxAgeMs: number) {
      const cutoff = now() - maxAgeMs;
      let count = 0;
      while (log.length > 0 && log[0]!.at < cutoff) {
        trimmedUpTo = log.shift()!.seq;
        count += 1;
      }
      return count;
    },

    isCursor: (cursor: string) => /^\d{1,15}$/.test(cursor),

    async takeOpen(limit: number) {
      const keys = [...open.entries()]
        .sort((a, b) => a[1] - b[1])
        .slice(0, limit)
        .map(([key]) => key);
      const at = now();
      for (const key of keys) open.set(key, at);
      return keys;
    },
  };
}
