import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/store/index.js';
import { tempDir } from './helpers/process.js';

/**
 * The SQLite state log's writer thread runs a large commit (≥ 256 KiB of JSON text) with SQLite's
 * automatic WAL checkpoint off and checkpoints later (sqlite-worker.ts, Checkpoints): once no
 * large commit has come for a moment, or at once after a large commit's answer when 8 MiB of
 * text were written since the last checkpoint. What must hold: under a steady stream of large
 * commits the write-ahead log stops growing (it is reused after each forced checkpoint), and
 * small commits after a large one have their automatic checkpoints again. Sizes, not times.
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

  it('should checkpoint a stream of large commits every 8 MiB of text, so the WAL stops growing', async () => {
    const walSizes: number[] = [];
    for (let round = 0; round < 12; round++) {
      const results = await largeCommit(round);
      expect(results.filter((r) => r.ok)).toHaveLength(2000);
      // The writer answers requests in order: a forced checkpoint runs before this one.
      await store.stateLog.takeOpen(1);
      walSizes.push(size(`${file}-wal`));
    }
    // The database file itself holds checkpointed rows (at least 8 × ~2.5 MiB of text) …
    expect(size(file)).toBeGreaterThan(8 * 2000 * 2 * padding.length);
    // … and the WAL, at its largest by the first forced checkpoint (the fourth commit), was
    // reused from its start after each: twelve commits left it no larger than four did.
    expect(walSizes[11]).toBeLessThan(1.2 * walSizes[3]!);
    expect(walSizes[3]).toBeGreaterThan(2 * walSizes[0]!);
  });

  it('should keep automatic checkpoints for small commits after a large one', async () => {
    await largeCommit(20);
    await store.stateLog.takeOpen(1);
    // The WAL file keeps its size once reused; what matters is that it grows no further.
    const before = Math.max(size(`${file}-wal`), 8 * 1024 * 1024);
    // 3,000 one-write commits of a few pages each (a state row, a log row and their indexes):
    // without automatic checkpoints the WAL would keep every one of them, ≥ 3,000 × 2 pages of
    // 4 KiB = 24 MiB on top of the large commit; with them it is reused whenever it reaches
    // 1,000 pages (~4 MiB).
    for (let i = 0; i < 3000; i++) {
      await store.stateLog.commit([
        { key: `small-${i}`, expectedVersion: 0, value: { i }, open: false, log: { i } },
      ]);
    }
    expect(size(`${file}-wal`)).toBeLessThanOrEqual(before);
  });
});
