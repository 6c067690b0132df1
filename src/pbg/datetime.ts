import { isCalendarDay, isIsoDate } from '../dates.js';

/**
 * PayByGroup's date and datetime wire formats ("API Conventions → DATATYPES"), read into the
 * ISO-8601 the graph speaks. Every reader returns null for what it cannot read: the caller
 * decides whether that is a logged warning (a purchase field) or an error (a filter).
 */

/**
 * Zone labels PBG may write. The document's format is "YYYY-MM-DD HH:MM PST" and this service
 * reads "PST" literally as UTC−08:00 all year (not "Pacific time, whatever the season"): a
 * midnight-PST expiry is then one fixed instant. "PDT" is the other Pacific label a Rails app
 * prints; UTC/GMT cost nothing to accept. Any other label is ambiguous or unknown → null.
 */
const ZONE_OFFSETS: Readonly<Record<string, string>> = {
  PST: '-08:00',
  PDT: '-07:00',
  UTC: '+00:00',
  GMT: '+00:00',
};

/** "2026-05-27 23:59 PST", seconds optional; also Rails' Time#to_s "… 23:59:00 -0800". */
const PBG_DATETIME =
  /^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2})(?::(\d{2}))? +(?:([A-Za-z]{3,4})|([+-]\d{2}):?(\d{2}))$/;

/** ISO-8601 with an offset ("T" or a space between date and time): "2026-05-27T23:59:00-08:00". */
const ISO_DATETIME =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:(Z)|([+-]\d{2}):?(\d{2}))$/i;

/**
 * A PBG datetime as ISO-8601 with offset: "2026-05-27 23:59 PST" → "2026-05-27T23:59:00-08:00".
 * An ISO string with an offset is accepted and normalised to the same shape. Null for an
 * unknown zone label, no zone at all (an instant needs one), or an impossible date or time.
 */
export function parsePbgDateTime(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  const pbg = PBG_DATETIME.exec(text);
  if (pbg) {
    const [, date, hh, mm, ss, label, offH, offM] = pbg;
    const offset = label
      ? ZONE_OFFSETS[label.toUpperCase()]
      : numericOffset(offH ?? '', offM ?? '');
    return offset ? build(date!, hh!, mm!, ss, '', offset) : null;
  }
  const iso = ISO_DATETIME.exec(text);
  if (iso) {
    const [, date, hh, mm, ss, fraction, zulu, offH, offM] = iso;
    const offset = zulu ? '+00:00' : numericOffset(offH ?? '', offM ?? '');
    return offset ? build(date!, hh!, mm!, ss, fraction ?? '', offset) : null;
  }
  return null;
}

/** PBG's DATE FORMAT "YYYY-MM-DD" on a real calendar day (no 2026-02-30), else null. */
export function parsePbgDate(value: unknown): string | null {
  return typeof value === 'string' && isIsoDate(value) ? value : null;
}

function build(
  date: string,
  hh: string,
  mm: string,
  ss: string | undefined,
  fraction: string,
  offset: string,
): string | null {
  if (!isDay(date) || Number(hh) > 23 || Number(mm) > 59 || Number(ss ?? 0) > 59) {
    return null;
  }
  return `${date}T${hh}:${mm}:${ss ?? '00'}${fraction}${offset}`;
}

/**
 * `date` (already matched as `\d{4}-\d{2}-\d{2}` by the caller's pattern) names a real day. Read
 * from its fixed positions rather than by isIsoDate's pattern again: a change push reads two
 * datetimes per event, and the second regular expression was a third of each read (profiled).
 */
function isDay(date: string): boolean {
  return isCalendarDay(
    Number(date.slice(0, 4)),
    Number(date.slice(5, 7)),
    Number(date.slice(8, 10)),
  );
}

/** "-08", "00" → "-08:00"; null past ±18:00, the widest offset ISO-8601 parsers accept. */
function numericOffset(hours: string, minutes: string): string | null {
  if (!/^[+-]\d{2}$/.test(hours) || !/^\d{2}$/.test(minutes)) return null;
  const h = Number(hours.slice(1));
  const m = Number(minutes);
  if (m > 59 || h * 60 + m > 18 * 60) return null;
  return `${hours}:${minutes}`;
}
