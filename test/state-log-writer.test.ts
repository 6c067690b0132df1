import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/index.js';
import { ROOT, tempDir } from './helpers/process.js';

const run = promisify(execFile);

/**
 * The SQLite state log's writer thread (src/store/state-log-sqlite-worker.ts): its writes finish
 * before the store closes, and it keeps a process alive exactly while a write is pending.
 */
describe('the SQLite state log writer thread', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, remove } = await tempDir('state-log-writer-'));
  });
  afterAll(() => remove?.());

  it('should finish a 2,000-write commit under way when the store closes, and a reopened store reads it', async () => {
    const url = `sqlite:${join(dir, 'closing.db')}`;
    const store = await openStore(url);
    const writes = Array.from({ length: 2000 }, (_, i) => ({
      key: `c${i}`,
      expectedVersion: 0,
      value: { i },
      open: i % 2 === 0,
      log: { i },
    }));
    // Still serializing its writes (it yields between slices) when close() is called.
    const committing = store.stateLog.commit(writes);
    await store.close();
    const results = await committing;
    expect(results.filter((r) => r.ok)).toHaveLength(2000);

    const reopened = await openStore(url);
    try {
      const page = await reopened.stateLog.readLog<{ i: number }>(undefined, 2000);
      expect(page.entries.map((e) => e.value.i)).toEqual(writes.map((w) => w.log.i));
      expect((await reopened.stateLog.getMany(['c0', 'c1999'])).size).toBe(2);
      expect(await reopened.stateLog.takeOpen(5000)).toHaveLength(1000);
    } finally {
      await reopened.close();
    }
  });

  it('should keep a process alive until its pending write is answered, and let it exit afterwards without close()', async () => {
    const store = pathToFileURL(join(ROOT, 'dist/src/store/index.js')).href;
    const file = join(dir, 'child.db');
    // Nothing else keeps this process alive: not the store (its sweeper is unref'd), not the
    // idle writer thread. It must print the commit's answer and then end by itself.
    const script = `
      const { openStore } = await import(${JSON.stringify(store)});
      const store = await openStore(${JSON.stringify(`sqlite:${file}`)});
      // The writer thread is running, and idle, after this one.
      await store.stateLog.commit([{ key: 'a', expectedVersion: 0, value: 1, open: false, log: 1 }]);
      store.stateLog
        .commit([{ key: 'b', expectedVersion: 0, value: 2, open: false, log: 2 }])
        .then((results) => console.log(JSON.stringify(results)));
    `;
    const main = join(dir, 'commit-once.mjs');
    await writeFile(main, script);
    const { stdout } = await run(process.execPath, [main], {
      cwd: ROOT,
      // A guard against a hang, not a measurement: the process is expected to end on its own.
      timeout: 20_000,
    });
    expect(JSON.parse(stdout)).toEqual([{ ok: true, version: 1, cursor: '2' }]);
  });
});
