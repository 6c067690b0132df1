/** A `dd-mm-yyyy` expiry date, checked to be a real calendar day. */
export interface ExpiryDate {
  day: number;
  month: number;
  year: number;
}

const DD_MM_YYYY = /^(\d{2})-(\d{2})-(\d{4})$/;

/** Asia/Kolkata is UTC+05:30 all year (India has no daylight saving time). */
const KOLKATA_OFFSET_MS = (5 * 60 + 30) * 60 * 1000;

function daysInMonth(year: number, month: number): number {
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return leap ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Parses the document's `dd-mm-yyyy`; undefined for any other shape or an impossible day. */
export function parseExpiryDate(text: string): ExpiryDate | undefined {
  const match = DD_MM_YYYY.exec(text);
  if (!match) return undefined;
  const [day, month, year] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return undefined;
  }
  return { day, month, year };
}

/**
 * The first instant at which a batch with this expiry date is expired: the end of that day in
 * Asia/Kolkata (Chillr is an Indian service, and "expires on 27-05-2016" most naturally means
 * "can still be paid all of the 27th, Indian time").
 */
export function expiryInstant(date: ExpiryDate): Date {
  const midnightUtc = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  midnightUtc.setUTCFullYear(date.year, date.month - 1, date.day + 1);
  return new Date(midnightUtc.getTime() - KOLKATA_OFFSET_MS);
}
