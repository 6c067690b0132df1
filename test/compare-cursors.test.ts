import { describe, expect, it } from 'vitest';
import { compareCursors } from '../src/store/state-log.js';

/**
 * The order compareCursors must agree with, found another way: each cursor as two parts (a
 * missing part is 0), each part's value written with 25 digits, compared as text.
 */
function reference(a: string, b: string): number {
  const key = (cursor: string) =>
    [...cursor.split('-'), '0', '0']
      .slice(0, 2)
      .map((part) => BigInt(part).toString().padStart(25, '0'))
      .join('-');
  const [x, y] = [key(a), key(b)];
  return x === y ? 0 : x < y ? -1 : 1;
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
