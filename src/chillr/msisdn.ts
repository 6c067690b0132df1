/**
 * Indian mobile numbers. Chillr identifies customers by a 10-digit number starting 6–9;
 * people paste them with +91, 91 or a trunk 0 in front and with spaces or dashes inside, so
 * those are normalised away before validation, duplicate detection and the upstream call.
 */
const MOBILE = /^(?:\+?91|0)?([6-9]\d{9})$/;

/** The 10-digit form, or null when `raw` is not an Indian mobile number. */
export function normalizeMsisdn(raw: string): string | null {
  const compact = raw.replace(/[\s-]/g, '');
  return MOBILE.exec(compact)?.[1] ?? null;
}
