/**
 * Exact money. Amounts cross the graph as decimal strings and are summed as integer minor
 * units (bigint), because a float cannot hold 0.10 and a payments API that shows "₹0.30000000000000004"
 * has lost its users' trust. Two decimal places everywhere: INR and USD both use them.
 */

export interface Money {
  /** Decimal string with exactly two decimals, e.g. "200.00". */
  amount: string;
  /** ISO-4217 code as sent, e.g. "INR", "USD". */
  currency: string;
}

/** What `parseAmount` accepts: digits, optionally a point and one or two more digits. */
const AMOUNT = /^(\d{1,12})(?:\.(\d{1,2}))?$/;

export type AmountResult = { ok: true; minor: bigint } | { ok: false; reason: string };

/**
 * Parses a positive amount with at most two decimals. The reasons are written for the API's
 * user: they say what was expected and what arrived.
 */
export function parseAmount(raw: string): AmountResult {
  const text = raw.trim();
  const match = AMOUNT.exec(text);
  if (!match) {
    if (/^\d+\.\d{3,}$/.test(text)) {
      return { ok: false, reason: `has more than 2 decimal places (got "${raw}")` };
    }
    if (/^-/.test(text)) return { ok: false, reason: `must be greater than 0 (got "${raw}")` };
    return {
      ok: false,
      reason: `must be a decimal number such as "200" or "199.50" (got ${JSON.stringify(raw)})`,
    };
  }
  const minor = BigInt(match[1]!) * 100n + BigInt((match[2] ?? '').padEnd(2, '0'));
  if (minor <= 0n) return { ok: false, reason: `must be greater than 0 (got "${raw}")` };
  return { ok: true, minor };
}

/** 20000n → "200.00" */
export function formatMinor(minor: bigint): string {
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** Sums normalised amounts exactly. */
export function sumAmounts(amounts: readonly string[]): string {
  let total = 0n;
  for (const amount of amounts) {
    const result = parseAmount(amount);
    if (result.ok) total += result.minor;
  }
  return formatMinor(total);
}
