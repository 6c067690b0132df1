import { secretMatches } from '../../constant-time.js';

/** Compares the `merchant_auth` PBG sent with ours, in constant time. */
export function merchantAuthMatches(sent: unknown, expected: string): boolean {
  return secretMatches(sent, expected);
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, so an allow-list of IPv4 addresses works on dual-stack. */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
