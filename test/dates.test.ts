import { describe, expect, it } from 'vitest';
import { isCalendarDay, isIsoDate } from '../src/dates.js';

/** What a JavaScript Date says: the day exists when the month has at least that many days. */
function byDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1 || year < 1) return false;
  const date = new Date(0);
  date.setUTCFullYear(year, month, 0);
  return day <= date.getUTCDate();
}

describe('isCalendarDay', () => {
  it('should agree with Date on every month and day of leap, common and century years', () => {
    for (const year of [0, 1, 4, 100, 400, 1900, 1996, 2000, 2023, 2024, 2026, 2100, 2400, 9999]) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          expect([year, month, day, isCalendarDay(year, month, day)]).toEqual([
            year,
            month,
            day,
            byDate(year, month, day),
          ]);
        }
      }
    }
  });

  it('should read ISO dates on real days only', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2026-02-29')).toBe(false);
    expect(isIsoDate('2100-02-29')).toBe(false);
    expect(isIsoDate('2026-04-31')).toBe(false);
    expect(isIsoDate('2026-12-31')).toBe(true);
    expect(isIsoDate('2026-1-01')).toBe(false);
  });
});
