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

  it.each(['Europe/Berlin', 'America/New_York', 'America/Santiago', 'Asia/Tehran', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Havana', 'Asia/Kathmandu'])(
    'gives the same day as luxon at every half hour across a year in %s, however the instants are asked (the last day is remembered)',
    (tz) => {
      const start = Date.UTC(2023, 0, 1);
      const steps = Array.from({ length: 366 * 48 }, (_, i) => start + i * 30 * 60_000 + 7_000);
      // Forward, backward, and jumping about: a remembered day must never answer for an instant outside it.
      const orders = [steps, [...steps].reverse(), steps.map((_, i) => steps[(i * 7919) % steps.length]!)];
      for (const order of orders) {
        for (const at of order) expect(calendarDay(new Date(at), tz), `${new Date(at).toISOString()} ${tz}`).toBe(DateTime.fromMillis(at, { zone: tz }).toISODate());
      }
    },
  );
});
