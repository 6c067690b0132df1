/**
 * PayByGroup wire formats, read from the upstream document ("API Conventions → DATATYPES").
 * Only the simulator uses these: the merchant-side client has its own reading of the same text.
 */

/** DATE FORMAT "YYYY-MM-DD". */
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * DATETIME FORMAT "YYYY-MM-DD HH:MM PST". The simulator writes "PST" only (the document's own
 * spelling) but accepts "PDT" from callers, since a Pacific-time system could send either.
 */
const DATETIME = /^(\d{4}-\d{2}-\d{2}) ([01]\d|2[0-3]):([0-5]\d) (PST|PDT)$/;

/** CURRENCY "###.## USD": a decimal with two places, a space, an upper-case ISO 4217 code. */
const CURRENCY = /^(\d{1,12})\.(\d{2}) ([A-Z]{3})$/;

/** PST is read literally as UTC−08:00 all year, like the document's label. */
const PST_OFFSET_MS = 8 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Whether `value` is a "YYYY-MM-DD" string naming a real calendar day (no 2026-02-30). */
export function isPbgDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/** Whether `value` is a "YYYY-MM-DD HH:MM PST|PDT" string on a real calendar day. */
export function isPbgDateTime(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = DATETIME.exec(value);
  return m !== null && isPbgDate(m[1]);
}

/**
 * The Pacific calendar day of a PBG datetime, used by the created_after/created_before filters;
 * undefined when the value is not a PBG datetime (e.g. garbled through updatePurchase).
 */
export function pbgDayOf(value: unknown): string | undefined {
  return isPbgDateTime(value) ? value.slice(0, 10) : undefined;
}

/** `instant` as PBG writes it: "2026-05-01 08:30 PST". */
export function formatPst(instant: Date): string {
  const iso = new Date(instant.getTime() - PST_OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} PST`;
}

/**
 * Midnight PST `days` after `instant`'s Pacific day, written as PBG writes expiries
 * ("2026-05-27 23:59 PST"): the document makes midnight PST the expiry of every PayByGroup.
 */
export function pstMidnightAfter(instant: Date, days: number): string {
  const iso = new Date(instant.getTime() - PST_OFFSET_MS + days * DAY_MS).toISOString();
  return `${iso.slice(0, 10)} 23:59 PST`;
}

/** Whether `value` is a PBG currency string for an amount above zero. */
export function isPbgCurrency(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = CURRENCY.exec(value);
  return m !== null && /[1-9]/.test(`${m[1]}${m[2]}`);
}
