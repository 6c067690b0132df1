import { describe, expect, it } from 'vitest';
import { settleAll } from '../src/settle-all.js';

describe('settleAll', () => {
  it('should return every value in order', async () => {
    expect(await settleAll([Promise.resolve(1), Promise.resolve(2)])).toEqual([1, 2]);
  });

  it('should reject with the first failure only once every promise has settled', async () => {
    let release!: () => void;
    const late = new Promise<number>((resolve) => (release = () => resolve(3)));
    let outcome: string | undefined;
    const all = settleAll([
      Promise.reject(new Error('first')),
      Promise.reject(new Error('second')),
      late,
    ]).then(
      () => (outcome = 'resolved'),
      (error: Error) => (outcome = error.message),
    );
    // Every queued promise callback runs before an immediate: the failures alone settle nothing.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(outcome).toBeUndefined();
    release();
    await all;
    expect(outcome).toBe('first');
  });
});
