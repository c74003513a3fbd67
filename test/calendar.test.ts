import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { calendarDay, startOfDay } from '../core/calendar.ts';

describe('calendar helpers', () => {
  it.each([
    ['2023-02-14', 'Europe/Moscow'],
    ['2023-02-14', 'Asia/Vladivostok'],
    ['2023-03-26', 'Europe/Berlin'], // DST starts that night
    ['2023-10-29', 'Europe/Berlin'], // and ends
    ['2023-03-12', 'America/New_York'],
    ['2023-06-01', 'UTC'],
  ])('startOfDay(%s, %s) agrees with luxon', (date, tz) => {
    expect(startOfDay(date, tz)).toBe(DateTime.fromISO(date, { zone: tz }).startOf('day').toMillis());
  });

  it('gives the calendar day of an instant in a zone', () => {
    expect(calendarDay(new Date('2023-02-16T14:40:00Z'), 'Asia/Vladivostok')).toBe('2023-02-17');
    expect(calendarDay(new Date('2023-02-16T14:40:00Z'), 'Europe/Moscow')).toBe('2023-02-16');
  });
});
