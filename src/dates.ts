/**
 * Calendar dates. The graph speaks ISO-8601 (`2026-05-27`); Chillr's wire format `dd-mm-yyyy`
 * stays inside src/chillr/. A date is a string here, never a JS Date, because a JS Date is an
 * instant and turns 27 May into 26 May for anyone west of Greenwich.
 */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True when `iso` is `YYYY-MM-DD` and names a real calendar day. */
export function isIsoDate(iso: string): boolean {
  const match = ISO_DATE.exec(iso);
  if (!match) return false;
  return isCalendarDay(Number(match[1]), Number(match[2]), Number(match[3]));
}

export function isCalendarDay(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1 || year < 1) return false;
  return day <= (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * Days per month of a common year. Arithmetic rather than a Date per check: a 5,000-event change
 * push checks 10,000 dates, and a Date each was ~1 µs apiece (profiled).
 */
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** The proleptic Gregorian rule, as Date.UTC applies it. */
function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** Today's date in a time zone, as `YYYY-MM-DD`. */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
}
