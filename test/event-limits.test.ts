import { describe, expect, it } from 'vitest';
import { MAX_EVENT_CHARS, MAX_EVENT_DEPTH, purchaseObjectProblem } from '../src/purchase/limits.js';

/** An object nested `levels` deep (the object itself is level 1). */
function nested(levels: number): unknown {
  let value: unknown = { leaf: true };
  for (let i = 1; i < levels; i++) value = { child: value };
  return value;
}

describe('purchaseObjectProblem', () => {
  it('should accept an ordinary event', () => {
    expect(
      purchaseObjectProblem({
        purchase_id: 'P1',
        status: 'pending',
        num_people: 3,
        tags: [1, 'a'],
      }),
    ).toBeUndefined();
  });

  it('should refuse one level past MAX_EVENT_DEPTH and accept the limit itself', () => {
    expect(purchaseObjectProblem(nested(MAX_EVENT_DEPTH))).toBeUndefined();
    expect(purchaseObjectProblem(nested(MAX_EVENT_DEPTH + 1))).toMatch(/MAX_EVENT_DEPTH \(32/);
    expect(purchaseObjectProblem(nested(100_000))).toMatch(/MAX_EVENT_DEPTH/);
  });

  it('should judge size by the exact JSON length at the edge of MAX_EVENT_CHARS', () => {
    // {"s":"…"} is 8 characters around the string.
    const fits = { s: 'x'.repeat(MAX_EVENT_CHARS - 8) };
    expect(JSON.stringify(fits).length).toBe(MAX_EVENT_CHARS);
    expect(purchaseObjectProblem(fits)).toBeUndefined();
    const over = { s: 'x'.repeat(MAX_EVENT_CHARS - 7) };
    expect(purchaseObjectProblem(over)).toMatch(/MAX_EVENT_CHARS \(65536/);
  });

  it('should count escapes: a string short in units but long as JSON is refused', () => {
    // Each control character is written as \u0001: six characters of JSON.
    const control = { s: '\u0001'.repeat(Math.ceil(MAX_EVENT_CHARS / 6) + 10) };
    expect(JSON.stringify(control).length).toBeGreaterThan(MAX_EVENT_CHARS);
    expect(purchaseObjectProblem(control)).toMatch(/MAX_EVENT_CHARS/);
  });

  it('should measure many small fields together', () => {
    const wide = Object.fromEntries(
      Array.from({ length: 5_000 }, (_, i) => [`field_${i}`, 'value']),
    );
    expect(JSON.stringify(wide).length).toBeGreaterThan(MAX_EVENT_CHARS);
    expect(purchaseObjectProblem(wide)).toMatch(/MAX_EVENT_CHARS/);
  });
});
