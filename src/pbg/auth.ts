import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares the `merchant_auth` PBG sent with ours in constant time. Both sides are hashed
 * first so the comparison takes the same time whatever the lengths: a plain `===`, or
 * timingSafeEqual on raw strings of different lengths, would tell an attacker how much of
 * the token they have guessed.
 */
export function merchantAuthMatches(sent: unknown, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const a = createHash('sha256').update(sent).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, so an allow-list of IPv4 addresses works on dual-stack. */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
