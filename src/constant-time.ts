import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a secret someone sent with the configured one in constant time. Both sides are
 * hashed first so the comparison takes the same time whatever the lengths: a plain `===`, or
 * timingSafeEqual on raw strings of different lengths, would tell an attacker how much of the
 * secret they have guessed. Anything that is not a string never matches.
 */
export function secretMatches(sent: unknown, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const a = createHash('sha256').update(sent).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
