/** Formatters are costly to build and cheap to use: one per time zone. */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Per time zone, the last day asked for and when it begins and ends: reports of one day ask for it thousands of times. */
const lastDays = new Map<string, { day: string; from: number; to: number }>();

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function calendarDay(instant: Date, tz: string): string {
  const at = instant.getTime();
  const last = lastDays.get(tz);
  if (last && at >= last.from && at < last.to) return last.day;
  const day = formatDay(at, tz);
  // The day's bounds, kept only when they check out (a zone whose midnight is skipped by a clock change is simply not cached).
  const from = startOfDay(day, tz);
  const to = startOfDay(nextDay(day), tz);
  if (from <= at && at < to && formatDay(from, tz) === day && formatDay(to - 1, tz) === day) lastDays.set(tz, { day, from, to });
  return day;
}

function formatDay(instant: number, tz: string): string {
  let formatter = formatters.get(tz);
  if (!formatter) {
    // en-CA formats dates as YYYY-MM-DD.
    formatter = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(tz, formatter);
  }
  return formatter.format(instant);
}

/** The date after a YYYY-MM-DD date. */
export function nextDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const next = new Date(0);
  next.setUTCFullYear(y, m - 1, d + 1);
  return next.toISOString().slice(0, 10);
}

const startOfDayCache = new Map<string, number>();

/**
 * The instant a calendar date (YYYY-MM-DD) begins in a time zone. Staleness
 * checks ask this for the same few dates over and over, so answers are kept.
 */
export function startOfDay(date: string, tz: string): number {
  const key = `${tz}|${date}`;
  const cached = startOfDayCache.get(key);
  if (cached !== undefined) return cached;
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const utcMidnight = Date.UTC(y, m - 1, d);
  // The zone's offset at that moment, read from how Intl writes it; corrected once for a DST change around midnight.
  let start = utcMidnight - offsetAt(utcMidnight, tz);
  start = utcMidnight - offsetAt(start, tz);
  if (startOfDayCache.size > 10_000) startOfDayCache.clear();
  startOfDayCache.set(key, start);
  return start;
}

/**
 * Midnight UTC of a real date written YYYY-MM-DD, in epoch milliseconds;
 * null for any other text, 2023-02-30 included.
 */
export function utcDateMs(text: string): number | null {
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!parts) return null;
  const [, y, m, d] = parts.map(Number) as [number, number, number, number];
  // Not Date.UTC(y, …): it reads years 0–99 as 1900–1999, so 0095 would pass as 1995.
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  // 2023-02-30 rolls over to March: a real date survives the round trip.
  return date.getUTCDate() === d && date.getUTCMonth() === m - 1 ? date.getTime() : null;
}

/**
 * When a date stored as YYYY-MM-DD (an operap's day, a licence's last day)
 * begins in a time zone; null for text that is not such a date. Cheap on the
 * same few dates asked for row after row (a page of 10,000 installations).
 */
export function startOfDate(text: string, tz: string): Date | null {
  return utcDateMs(text) === null ? null : new Date(startOfDay(text, tz));
}

/**
 * Whole days from today in a time zone to a date (YYYY-MM-DD) there: 0 on
 * the day, negative once it has passed. Rounded, as a day around a clock
 * change is 23 or 25 hours.
 */
export function daysUntil(date: string, tz: string, now: Date): number {
  return Math.round((startOfDay(date, tz) - startOfDay(calendarDay(now, tz), tz)) / 86_400_000);
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at an instant, in milliseconds. */
function offsetAt(instant: number, tz: string): number {
  let formatter = offsetFormatters.get(tz);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    offsetFormatters.set(tz, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(new Date(instant)).map((p) => [p.type, Number(p.value)]));
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(instant / 1000) * 1000;
}
