import { describe, expect, it } from 'vitest';
import { CommitLane } from '../src/purchase/commit-lane.js';
import type { StateLogCommitResult, StateLogWrite } from '../src/store/index.js';

const write = (key: string): StateLogWrite<unknown> => ({
  key,
  expectedVersion: 0,
  value: key,
  open: false,
});

/** A commit function that records each commit's keys and lets the test end each one. */
function recorder() {
  const commits: string[][] = [];
  const pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  const commit = (writes: Array<StateLogWrite<unknown>>): Promise<StateLogCommitResult[]> => {
    commits.push(writes.map((w) => w.key));
    return new Promise((resolve, reject) => {
      pending.push({
        resolve: () => resolve(writes.map(() => ({ ok: true, version: 1 }))),
        reject,
      });
    });
  };
  return { commits, pending, commit };
}

/** Lets queued promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('CommitLane', () => {
  it('should commit places in the order they were taken, whatever order they are filled in', async () => {
    const { commits, pending, commit } = recorder();
    const lane = new CommitLane(commit);
    const first = lane.place();
    const second = lane.place();
    const b = second.add([write('b')]);
    second.close();
    await settle();
    expect(commits).toEqual([]); // the first place is still open
    const a = first.add([write('a')]);
    first.close();
    await settle();
    expect(commits).toEqual([['a']]);
    pending[0]!.resolve();
    await settle();
    // One commit at a time: what waited meanwhile goes together in the next.
    expect(commits).toEqual([['a'], ['b']]);
    pending[1]!.resolve();
    expect(await a).toEqual([{ ok: true, version: 1 }]);
    expect(await b).toEqual([{ ok: true, version: 1 }]);
  });

  it('should take every write waiting into the next commit', async () => {
    const { commits, pending, commit } = recorder();
    const lane = new CommitLane(commit);
    const place = lane.place();
    const results = [place.add([write('a')]), place.add([write('b')]), place.add([write('c')])];
    place.close();
    await settle();
    expect(commits).toEqual([['a']]);
    pending[0]!.resolve();
    await settle();
    expect(commits).toEqual([['a'], ['b', 'c']]);
    pending[1]!.resolve();
    expect((await Promise.all(results)).map((r) => r.length)).toEqual([1, 1, 1]);
  });

  it('should refuse every write after a failed commit, and commit none of them', async () => {
    const { commits, pending, commit } = recorder();
    const lane = new CommitLane(commit);
    const place = lane.place();
    const a = place.add([write('a')]);
    const b = place.add([write('b')]);
    place.close();
    await settle();
    pending[0]!.reject(new Error('store down'));
    await expect(a).rejects.toThrow('store down');
    await expect(b).rejects.toThrow('store down');
    await expect(lane.place().add([write('c')])).rejects.toThrow('store down');
    expect(commits).toEqual([['a']]);
  });

  it('should send each turn at once when the log applies commits in call order', async () => {
    const { commits, pending, commit } = recorder();
    const lane = new CommitLane(commit, () => true);
    const first = lane.place();
    const second = lane.place();
    const b = second.add([write('b')]);
    second.close();
    const a = first.add([write('a')]);
    first.close();
    await settle();
    // Both sent, in the places' order, before either ended.
    expect(commits).toEqual([['a'], ['b']]);
    pending[0]!.reject(new Error('store down'));
    await expect(a).rejects.toThrow('store down');
    // Already sent: it stands or falls on its own.
    pending[1]!.resolve();
    expect(await b).toEqual([{ ok: true, version: 1 }]);
    await expect(lane.place().add([write('c')])).rejects.toThrow('store down');
    expect(commits).toEqual([['a'], ['b']]);
  });

  it('should not hold a write of no turn behind an open place', async () => {
    const { commits, commit } = recorder();
    const lane = new CommitLane(commit);
    const open = lane.place();
    void lane
      .place()
      .anyTurn()
      .add([write('retry')]);
    await settle();
    expect(commits).toEqual([['retry']]);
    open.close();
  });
});
