import { describe, expect, it } from 'vitest';
import { compareCursors } from '../src/store/state-log.js';

/** The order of cursors as integers, part by part: what compareCursors must agree with. */
function reference(a: string, b: string): number {
  const pa = a.split('-').map(BigInt);
  const pb = b.split('-').map(BigInt);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0n;
    const y = pb[i] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

describe('compareCursors', () => {
  const cursors = [
    '0',
    '1',
    '2',
    '9',
    '10',
    '11',
    '99',
    '100',
    '123456789012345',
    '9007199254740993',
    '007',
    '1767225600000-0',
    '1767225600000-3',
    '1767225600000-12',
    '1767225600001-0',
  ];

  it('should order every pair as integers do, part by part', () => {
    for (const a of cursors) {
      for (const b of cursors) {
        expect([a, b, compareCursors(a, b)]).toEqual([a, b, reference(a, b)]);
      }
    }
  });

  it('should order decimal cursors of different lengths by value, not by text', () => {
    expect(compareCursors('9', '10')).toBe(-1);
    expect(compareCursors('100', '99')).toBe(1);
    expect(compareCursors('42', '42')).toBe(0);
  });
});
