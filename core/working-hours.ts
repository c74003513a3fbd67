import { DateTime } from 'luxon';
import type { QuietWindow } from './quiet-hours.ts';

/**
 * Working hours at the distributor: a window of the day (09:00-18:00 by
 * default) on working days, Monday to Friday, in the display time zone. A
 * critical incident that opened outside them and is still not taken at
 * `WAKE_AT` is sent again before the client starts work (SMART's story: a key
 * alert at 01:00 left till morning, users calling at 08:00, a day lost).
 */
export interface WorkingHours {
  tz: string;
  /** Minutes after midnight: when work starts and ends. */
  hours: QuietWindow;
  /** Minutes after midnight: when the morning call goes out. */
  wakeAt: number;
}

/** When the last working day's hours ended before `now` (Friday 18:00 on a Monday morning). */
export function lastWorkEnd(now: Date, hours: WorkingHours): Date {
  let day = DateTime.fromJSDate(now).setZone(hours.tz).startOf('day');
  for (;;) {
    const end = day.plus({ minutes: hours.hours.to });
    if (day.weekday <= 5 && end.toMillis() <= now.getTime()) return end.toJSDate();
    day = day.minus({ days: 1 });
  }
}

/** Whether `now` is a working day's morning between `WAKE_AT` and the start of work: the time to wake people. */
export function isWakeTime(now: Date, hours: WorkingHours): boolean {
  const local = DateTime.fromJSDate(now).setZone(hours.tz);
  const minute = local.hour * 60 + local.minute;
  return local.weekday <= 5 && minute >= hours.wakeAt && minute < Math.max(hours.hours.from, hours.wakeAt + 1);
}

/** The cron expression that runs the morning call at `WAKE_AT` on working days. */
export function wakeCron(hours: WorkingHours): string {
  return `${hours.wakeAt % 60} ${Math.floor(hours.wakeAt / 60)} * * 1-5`;
}
