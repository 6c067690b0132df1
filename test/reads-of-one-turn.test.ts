import { describe, expect, it } from 'vitest';
import { readsOfOneTurn } from '../src/store/reads-of-one-turn.js';

/**
 * readsOfOneTurn: the loads made in one event-loop turn go to the store as one read of their
 * distinct keys, each caller gets its own key's value, and a load made after a read was sent is
 * never answered by that read. Counted in reads, never timed.
 */

/** A store whose reads are recorded and answered when `answer` is called. */
function gatedStore() {
  const reads: string[][] = [];
  const waiting: Array<() => void> = [];
  let value = 'old';
  return {
    reads,
    set: (next: string) => (value = next),
    answerAll: () => waiting.splice(0).forEach((answer) => answer()),
    read: (keys: readonly string[]) => {
      reads.push([...keys]);
      const seen = keys.map((key) => `${key}=${value}`); // what the store held when asked
      return new Promise<string[]>((resolve) => waiting.push(() => resolve(seen)));
    },
    sent: () => new Promise<void>((resolve) => setImmediate(resolve)),
  };
}

describe('readsOfOneTurn', () => {
  it('should send the loads of one turn as one read of the distinct keys, in order', async () => {
    const store = gatedStore();
    const loader = readsOfOneTurn(store.read);
    const loads = ['a', 'b', 'a', 'c', 'b'].map((key) => loader.load(key));
    await store.sent();
    expect(store.reads).toEqual([['a', 'b', 'c']]);
    store.answerAll();
    expect(await Promise.all(loads)).toEqual(['a=old', 'b=old', 'a=old', 'c=old', 'b=old']);
  });

  it('should never answer a load from a read sent before it was made', async () => {
    const store = gatedStore();
    const loader = readsOfOneTurn(store.read);
    const first = loader.load('a');
    await store.sent(); // the first read is out, and saw "old"
    store.set('new'); // another instance writes
    const second = loader.load('a');
    await store.sent();
    store.answerAll();
    expect([await first, await second]).toEqual(['a=old', 'a=new']);
    expect(store.reads).toEqual([['a'], ['a']]);
  });

  it('should fail every load of a failed read, and read again for the next load', async () => {
    let fail = true;
    const loader = readsOfOneTurn<string, string>((keys) =>
      fail
        ? Promise.reject(new Error('store away'))
        : Promise.resolve(keys.map((key) => `${key}!`)),
    );
    const results = await Promise.allSettled([loader.load('a'), loader.load('b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await loader.load('a')).toBe('a!');
  });

  it('should split a turn into reads of at most maxBatchSize loads', async () => {
    const store = gatedStore();
    const loader = readsOfOneTurn(store.read, 2);
    const loads = ['a', 'b', 'c'].map((key) => loader.load(key));
    await store.sent();
    store.answerAll();
    await Promise.all(loads);
    expect(store.reads).toEqual([['a', 'b'], ['c']]);
  });
});
