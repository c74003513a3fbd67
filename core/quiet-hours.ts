import { DateTime } from 'luxon';
import { InputError } from './errors.ts';

/** A daily window in minutes of the day; it may wrap past midnight (22:00-08:00). Equal ends: no quiet hours. */
export interface QuietWindow {
  from: number;
  to: number;
}

export function parseQuietWindow(text: string): QuietWindow {
  const match = /^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$/.exec(text);
  const minutes = (h: string, m: string) => Number(h) * 60 + Number(m);
  if (!match || Number(match[1]) > 23 || Number(match[3]) > 23 || Number(match[2]) > 59 || Number(match[4]) > 59) {
    throw new InputError('quietWindowInvalid', { text }, `"${text}" is not a time window; write it like 22:00-08:00`);
  }
  return { from: minutes(match[1]!, match[2]!), to: minutes(match[3]!, match[4]!) };
}

export function formatQuietWindow(window: QuietWindow): string {
  const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return `${hhmm(window.from)}-${hhmm(window.to)}`;
}

/** If `now` falls in the quiet window (in `tz`), the moment it ends; otherwise null. */
export function quietUntil(now: Date, tz: string, window: QuietWindow): Date | null {
  if (window.from === window.to) return null;
  const local = DateTime.fromJSDate(now).setZone(tz);
  const minute = local.hour * 60 + local.minute;
  const wraps = window.from > window.to;
  const inside = wraps ? minute >= window.from || minute < window.to : minute >= window.from && minute < window.to;
  if (!inside) return null;
  let end = local.startOf('day').plus({ minutes: window.to });
  if (end <= local) end = end.plus({ days: 1 });
  return end.toJSDate();
}
