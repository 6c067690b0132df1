/**
 * Indian mobile numbers: 10 digits, optionally written with a `+91`, `91` or `0` prefix. The
 * prefix is only stripped when exactly 10 digits remain (the regex backtracks), so a 10-digit
 * number that happens to begin with 91 keeps all its digits.
 */
const MSISDN = /^(?:\+91|91|0)?(\d{10})$/;

/** The 10-digit form of a mobile number, or undefined when it is not one. */
export function normaliseMsisdn(raw: string): string | undefined {
  return MSISDN.exec(raw)?.[1];
}

/**
 * The sandbox's deterministic stand-in for "has the Chillr app installed": a number whose LAST
 * digit is 1 is NOT a Chillr user, every other number is. This makes the document's sample come
 * out as documented (9447741462 is a user, 9633789451 is not) and lets a test pick either case by
 * choosing a number.
 */
export function isChillrUser(msisdn: string): boolean {
  return !msisdn.endsWith('1');
}
