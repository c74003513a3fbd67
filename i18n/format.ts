import { DateTime } from 'luxon';

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

export function formatDateTime(date: Date, tz: string): string {
  return DateTime.fromJSDate(date).setZone(tz).toFormat('dd.MM.yyyy HH:mm');
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

/**
 * A moment as people say it: «сегодня в 21:02», «вчера в 21:05», «27.11 в 21:00»,
 * with the year only when it is not this year; a day alone («26.11») when
 * only the day is known.
 */
export function formatWhen(lang: Lang, at: Date, now: Date, tz: string, dayOnly = false): string {
  const t = texts(lang);
  const moment = DateTime.fromJSDate(at).setZone(tz);
  const today = DateTime.fromJSDate(now).setZone(tz).startOf('day');
  const day = moment.startOf('day');
  const time = dayOnly ? '' : ` ${t.atTime} ${moment.toFormat('HH:mm')}`;
  if (day.equals(today)) return `${t.today}${time}`;
  if (day.equals(today.minus({ days: 1 }))) return `${t.yesterday}${time}`;
  if (day.equals(today.plus({ days: 1 }))) return `${t.tomorrow}${time}`;
  return `${moment.toFormat(moment.year === today.year ? 'dd.MM' : 'dd.MM.yyyy')}${time}`;
}

/** When a problem began and how long it has lasted: «Началось вчера в 21:05, длится 1 день 2 часа». */
export function formatSince(lang: Lang, start: { at: Date; dayOnly: boolean }, now: Date, tz: string): string {
  const t = texts(lang);
  return t.sinceWhen(formatWhen(lang, start.at, now, tz, start.dayOnly), formatSpan(lang, now.getTime() - start.at.getTime()));
}
