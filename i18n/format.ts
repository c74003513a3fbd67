import { DateTime } from 'luxon';

import { daysUntil, startOfDate } from '../core/calendar.ts';
import { texts } from './index.ts';
import { count, type Lang } from './plural.ts';

export { count, plural, type Lang } from './plural.ts';

/** "2 дня 3 часа", "5 минут", "less than a minute". */
export function formatSpan(lang: Lang, ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  const t = texts(lang);
  if (minutes < 1) return t.lessThanMinute;
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const parts: string[] = [];
  if (d) parts.push(count(lang, d, t.units.d));
  if (h) parts.push(count(lang, h, t.units.h));
  // Minutes matter only for short spans.
  if (m && d === 0) parts.push(count(lang, m, t.units.m));
  return parts.slice(0, 2).join(' ');
}

/**
 * A share in per cent as each language writes it: «61,2 %» in Russian (a
 * decimal comma, a non-breaking space before the sign), «61.2%» in English;
 * the value as given (availability is already cut, never rounded up, to one
 * decimal place), a whole number without «,0».
 */
export function formatPercent(lang: Lang, value: number): string {
  const text = String(Math.round(value * 10) / 10);
  return lang === 'ru' ? `${text.replace('.', ',')}\u00a0%` : `${text}%`;
}

export function formatDateTime(date: Date, tz: string): string {
  return DateTime.fromJSDate(date).setZone(tz).toFormat('dd.MM.yyyy HH:mm');
}

/** «15.02 22:00»: a moment within the coming days, as the snooze buttons say it. */
export function formatDayTime(date: Date, tz: string): string {
  return DateTime.fromJSDate(date).setZone(tz).toFormat('dd.MM HH:mm');
}

export function formatTime(date: Date, tz: string): string {
  return DateTime.fromJSDate(date).setZone(tz).toFormat('HH:mm');
}

export function formatDate(isoDate: string): string {
  const parsed = DateTime.fromISO(isoDate);
  return parsed.isValid ? parsed.toFormat('dd.MM.yyyy') : isoDate;
}

/** The short name of the display time zone: МСК for Moscow. */
export function zoneLabel(tz: string, lang: Lang): string {
  if (tz === 'Europe/Moscow') return texts(lang).moscowZone;
  return DateTime.now().setZone(tz).toFormat('ZZZZ');
}

/** A moment's calendar day (as a day number) and clock time in a zone. */
interface LocalMoment {
  dayNumber: number;
  year: number;
  month: number;
  day: number;
  hhmm: string;
}

/** Zone offsets change only on quarter-hour boundaries: one is looked up per zone and quarter hour. */
const QUARTER_HOUR = 15 * 60_000;
const zoneFormats = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, number>();

function offsetMs(at: number, tz: string): number {
  const quarter = Math.floor(at / QUARTER_HOUR) * QUARTER_HOUR;
  const key = `${tz}|${quarter}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    let format = zoneFormats.get(tz);
    if (!format) {
      format = new Intl.DateTimeFormat('en-GB', { timeZone: tz, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' });
      zoneFormats.set(tz, format);
    }
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(quarter)) parts[part.type] = Number(part.value);
    offset = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!) - quarter;
    if (offsets.size > 100_000) offsets.clear();
    offsets.set(key, offset);
  }
  return offset;
}

/**
 * The local day and time of a moment. Pages list thousands of moments and
 * luxon's zone arithmetic costs some 0.1 ms each, so the zone's offset is
 * looked up once per quarter hour and the rest is arithmetic.
 */
function localMoment(at: Date, tz: string): LocalMoment {
  const local = new Date(at.getTime() + offsetMs(at.getTime(), tz));
  const year = local.getUTCFullYear();
  const month = local.getUTCMonth() + 1;
  const day = local.getUTCDate();
  return { dayNumber: Date.UTC(year, month - 1, day) / 86_400_000, year, month, day, hhmm: `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}` };
}

const two = (n: number) => String(n).padStart(2, '0');

/**
 * A moment as people say it: «сегодня в 21:02», «вчера в 21:05», «27.11 в 21:00»,
 * with the year only when it is not this year; a day alone («26.11») when
 * only the day is known.
 */
export function formatWhen(lang: Lang, at: Date, now: Date, tz: string, dayOnly = false): string {
  const t = texts(lang);
  if (!Number.isFinite(at.getTime())) return '?';
  const moment = localMoment(at, tz);
  const today = localMoment(now, tz);
  const time = dayOnly ? '' : ` ${t.atTime} ${moment.hhmm}`;
  const days = moment.dayNumber - today.dayNumber;
  if (days === 0) return `${t.today}${time}`;
  if (days === -1) return `${t.yesterday}${time}`;
  if (days === 1) return `${t.tomorrow}${time}`;
  const date = `${two(moment.day)}.${two(moment.month)}`;
  return `${moment.year === today.year ? date : `${date}.${moment.year}`}${time}`;
}

/**
 * The end of a snooze or a silence as said after «до»: «23:20» today,
 * «09:00 завтра», «07.12 09:00» further off (with the year when not this one).
 */
export function formatUntil(lang: Lang, at: Date, now: Date, tz: string): string {
  const t = texts(lang);
  if (!Number.isFinite(at.getTime())) return '?';
  const moment = localMoment(at, tz);
  const today = localMoment(now, tz);
  const days = moment.dayNumber - today.dayNumber;
  if (days === 0) return moment.hhmm;
  if (days === 1) return `${moment.hhmm} ${t.tomorrow}`;
  const date = `${two(moment.day)}.${two(moment.month)}`;
  return `${moment.year === today.year ? date : `${date}.${moment.year}`} ${moment.hhmm}`;
}

/**
 * An operap's day as people say it, on the card and in the cabinet alike:
 * «сегодня», «вчера», else the day and how many days ago («14.02, 3 дня
 * назад»). Whole days: an operap is a day's file, its hours mean nothing.
 */
export function formatOperapDay(lang: Lang, operapDate: string, installationTz: string, now: Date, tz: string): string {
  const t = texts(lang);
  const at = startOfDate(operapDate, installationTz);
  if (!at) return operapDate;
  const day = formatWhen(lang, at, now, tz, true);
  // Whole days in the installation's calendar.
  const days = -daysUntil(operapDate, installationTz, now);
  return days < 2 ? day : `${day}, ${t.ago(count(lang, days, t.units.d))}`;
}

/** When a problem began and how long it has lasted: «Началось вчера в 21:05, длится 1 день 2 часа». */
export function formatSince(lang: Lang, start: { at: Date; dayOnly: boolean }, now: Date, tz: string): string {
  const t = texts(lang);
  return t.sinceWhen(formatWhen(lang, start.at, now, tz, start.dayOnly), formatSpan(lang, now.getTime() - start.at.getTime()));
}
