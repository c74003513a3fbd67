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
