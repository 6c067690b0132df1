import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/store/index.js';
import { tempDir } from './helpers/process.js';

/**
 * The SQLite state log's writer thread runs a large commit (≥ 1 MiB of JSON text) with SQLite's
 * automatic WAL checkpoint off and checkpoints right after answering it
 * (state-log-sqlite-worker.ts). What must hold: the checkpoint happens before the writer's next
 * request — so the write-ahead log is reused instead of growing with every large commit — and
 * the automatic checkpoint is back on for the small commits after it. Sizes, not times.
 */
describe('WAL checkpoints of the SQLite state log writer', () => {
  let dir: string;
  let remove: () => Promise<void>;
  let store: Store;
  let file: string;
  beforeAll(async () => {
    ({ dir, remove } = await tempDir('state-log-checkpoint-'));
    file = join(dir, 'wal.db');
    store = await openStore(`sqlite:${file}`);
  });
  afterAll(async () => {
    await store?.close();
    await remove?.();
  });

  const padding = 'x'.repeat(600);
  /** 2,000 new keys with a state and a log entry each: ~2.5 MiB of JSON text. */
  const largeCommit = (round: number) =>
    store.stateLog.commit(
      Array.from({ length: 2000 }, (_, i) => ({
        key: `large-${round}-${i}`,
        expectedVersion: 0,
        value: { round, i, padding },
        open: false,
        log: { round, i, padding },
      })),
    );
  const size = (path: string) => statSync(path).size;

  it('should checkpoint each large commit before the next request, so the WAL stops growing', async () => {
    const walSizes: number[] = [];
    for (let round = 0; round < 4; round++) {
      const results = await largeCommit(round);
      expect(results.filter((r) => r.ok)).toHaveLength(2000);
      // The writer answers requests in order: this one runs after the large commit's checkpoint.
      await store.stateLog.takeOpen(1);
      walSizes.push(size(`${file}-wal`));
    }
    // The database file itself holds the checkpointed rows (4 × ~2.5 MiB of text) …
    expect(size(file)).toBeGreaterThan(4 * 2000 * 2 * padding.length);
    // … and the WAL was reused from its start after each checkpoint: it is as large after four
    // large commits as after the first, not four times larger.
    expect(walSizes[3]).toBeLessThan(1.5 * walSizes[0]!);
  });

  it('should keep automatic checkpoints for small commits after a large one', async () => {
    await largeCommit(10);
    await store.stateLog.takeOpen(1);
    // 3,000 one-write commits of a few pages each (a state row, a log row and their indexes):
    // without automatic checkpoints the WAL would keep every one of them, ≥ 3,000 × 2 pages of
    // 4 KiB = 24 MiB; with them it is reused whenever it reaches 1,000 pages (~4 MiB).
    for (let i = 0; i < 3000; i++) {
      await store.stateLog.commit([
        { key: `small-${i}`, expectedVersion: 0, value: { i }, open: false, log: { i } },
      ]);
    }
    expect(size(`${file}-wal`)).toBeLessThan(8 * 1024 * 1024);
  });
});
