import { DateTime } from 'luxon';

/** Units a person writes in chat, Russian or short Latin: «2ч», «30мин», «1д», «2 часа», «1h30m». */
const UNITS: [RegExp, number][] = [
  [/^(?:н|нед|недел[яиь]|w)$/, 604_800_000],
  [/^(?:д|дн|день|дня|дней|d)$/, 86_400_000],
  [/^(?:ч|час|часа|часов|h)$/, 3_600_000],
  [/^(?:м|мин|минут[аы]?|m|min)$/, 60_000],
];

function unitMs(unit: string): number | null {
  for (const [pattern, ms] of UNITS) if (pattern.test(unit)) return ms;
  return null;
}

/** «2ч», «1ч30мин», «90m»: one word that is a whole duration. */
function durationWord(word: string): number | null {
  const parts = [...word.toLowerCase().matchAll(/(\d+)\s*([a-zа-яё]+)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== word.toLowerCase()) return null;
  let total = 0;
  for (const [, n, unit] of parts) {
    const ms = unitMs(unit!);
    if (ms === null) return null;
    total += Number(n) * ms;
  }
  return total > 0 ? total : null;
}

export interface SilenceEnd {
  endsAt: Date;
  /** How many words the phrase took. */
  words: number;
  /** A day and month without a year that had passed this year, read as next year's («до 01.12» said on 06.12). */
  nextYear?: boolean;
}

/** Weekdays as said after «до» (Monday is 1, as luxon counts), and in English. */
const WEEKDAYS: Readonly<Record<string, number>> = {
  понедельника: 1, вторника: 2, среды: 3, четверга: 4, пятницы: 5, субботы: 6, воскресенья: 7,
  monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6, sunday: 7,
};

/**
 * How long a silence lasts, as a person says it in chat, read from the start
 * of `words`: «2ч», «30мин», «2 часа», «1h30m»; «до утра» (the next
 * `morningHour`); «до понедельника» (that weekday's morning); «до 18:00» (today, or tomorrow if that has passed); «до
 * 01.12» (that day's morning) or «до 01.12 18:00». Null when the words do not
 * start with one.
 */
export function readSilenceEnd(words: readonly string[], now: Date, tz: string, morningHour: number): SilenceEnd | null {
  const [first, second, third] = words.map((w) => w.toLowerCase());
  if (first === undefined) return null;
  const single = durationWord(first);
  if (single !== null) return { endsAt: new Date(now.getTime() + single), words: 1 };
  if (/^\d+$/.test(first) && second !== undefined) {
    const ms = unitMs(second);
    if (ms !== null && Number(first) > 0) return { endsAt: new Date(now.getTime() + Number(first) * ms), words: 2 };
  }
  if ((first !== 'до' && first !== 'until') || second === undefined) return null;
  const local = DateTime.fromJSDate(now).setZone(tz);
  if (second === 'утра' || second === 'morning') {
    let morning = local.set({ hour: morningHour, minute: 0, second: 0, millisecond: 0 });
    if (morning <= local) morning = morning.plus({ days: 1 });
    return { endsAt: morning.toJSDate(), words: 2 };
  }
  const weekday = WEEKDAYS[second];
  if (weekday !== undefined) {
    // The next such day (a week on, said on that very day), in the morning.
    const days = (weekday - local.weekday + 7) % 7 || 7;
    return { endsAt: local.plus({ days }).set({ hour: morningHour, minute: 0, second: 0, millisecond: 0 }).toJSDate(), words: 2 };
  }
  const clock = /^(\d{1,2}):(\d{2})$/.exec(second);
  if (clock) {
    const hour = Number(clock[1]);
    const minute = Number(clock[2]);
    if (hour > 23 || minute > 59) return null;
    let at = local.set({ hour, minute, second: 0, millisecond: 0 });
    if (at <= local) at = at.plus({ days: 1 });
    return { endsAt: at.toJSDate(), words: 2 };
  }
  const date = /^(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?$/.exec(second);
  if (date) {
    const time = third !== undefined ? /^(\d{1,2}):(\d{2})$/.exec(third) : null;
    let day = DateTime.fromObject(
      { year: date[3] ? Number(date[3]) : local.year, month: Number(date[2]), day: Number(date[1]), hour: time ? Number(time[1]) : morningHour, minute: time ? Number(time[2]) : 0 },
      { zone: tz },
    );
    if (!day.isValid) return null;
    // «до 05.01» said in December means next January.
    const nextYear = !date[3] && day <= local;
    if (nextYear) day = day.plus({ years: 1 });
    return { endsAt: day.toJSDate(), words: time ? 3 : 2, ...(nextYear ? { nextYear } : {}) };
  }
  return null;
}
