import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SMART_NAMES, smartNameOf } from '../core/smart-names.ts';
import { ROOT } from './cli-helpers.ts';
import { DateTime } from 'luxon';
import { formatOperapDay, formatWhen } from '../i18n/format.ts';
import { formatLicenceDay } from '../web/licence-day.ts';
import { InputError } from '../core/errors.ts';
import { PROBE_RULE_IDS } from '../core/probe-rules.ts';
import { RULE_IDS } from '../core/rules.ts';
import { en } from '../i18n/en.ts';
import { describeError, inputError, ruleTitle } from '../i18n/index.ts';
import { ru } from '../i18n/ru.ts';
import { count } from '../i18n/plural.ts';

/** Every key path of a catalogue, down to its texts and functions. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, inner]) => keyPaths(inner, prefix ? `${prefix}.${key}` : key));
}

const missing = (from: string[], to: string[]) => from.filter((key) => !to.includes(key));

describe('the catalogues', () => {
  const ruKeys = keyPaths(ru);
  const enKeys = keyPaths(en);

  it('have the same keys in Russian and English, at every depth', () => {
    expect(ruKeys.length).toBeGreaterThan(200);
    expect(missing(ruKeys, enKeys)).toEqual([]);
    expect(missing(enKeys, ruKeys)).toEqual([]);
  });

  it('notices a key one language lacks (the comparison itself can fail)', () => {
    expect(keyPaths({ a: { b: 'x', c: () => 'y' } })).toEqual(['a.b', 'a.c']);
    expect(missing(ruKeys, keyPaths({ ...en, conv: {} }))).toContain('conv.clientName');
  });

  it('give every rule a title in both languages', () => {
    for (const id of [...RULE_IDS, ...PROBE_RULE_IDS]) {
      expect(ruleTitle('ru', id)).toMatch(/[А-Яа-яЁё]/);
      expect(ruleTitle('en', id)).toMatch(/^[\x20-\x7eПКÀ-ɏ’]+$/);
    }
    // A rule from outside keeps its own name.
    expect(ruleTitle('ru', 'NodeDiskFull')).toBe('NodeDiskFull');
  });

  it('say a registry error in the person\'s language, and in English on the command line', () => {
    const error = inputError('invalid', { subject: 'client', problems: [{ field: 'inn', code: 'inn' }] });
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe('invalid client: inn: expected an INN of 10 or 12 digits');
    expect(describeError(error, 'ru')).toBe('Клиент: ИНН — нужно 10 или 12 цифр');
    const nested = inputError('importRefused', { problems: [{ line: 3, error }] });
    expect(describeError(nested, 'ru')).toContain('строка 3: Клиент: ИНН');
    expect(nested.message).toContain('line 3: invalid client: inn');
  });
});

describe('moments as people say them', () => {
  // formatWhen works from a zone offset looked up once per quarter hour; luxon's full zone arithmetic is the reference.
  const reference = (at: Date, now: Date, tz: string) => {
    const moment = DateTime.fromJSDate(at).setZone(tz);
    const today = DateTime.fromJSDate(now).setZone(tz).startOf('day');
    const days = moment.startOf('day').diff(today, 'days').days;
    const time = ` в ${moment.toFormat('HH:mm')}`;
    if (days === 0) return `сегодня${time}`;
    if (days === -1) return `вчера${time}`;
    if (days === 1) return `завтра${time}`;
    return `${moment.toFormat(moment.year === today.year ? 'dd.MM' : 'dd.MM.yyyy')}${time}`;
  };

  it('agree with luxon in zones with summer time and odd offsets, across their changes and a new year', () => {
    const zones = ['Europe/Moscow', 'Asia/Vladivostok', 'Europe/Berlin', 'America/New_York', 'Australia/Adelaide', 'Asia/Kathmandu', 'Pacific/Chatham'];
    let compared = 0;
    for (const tz of zones) {
      for (const now of [new Date('2026-03-29T00:30:00Z'), new Date('2026-10-25T01:10:00Z'), new Date('2026-12-31T22:00:00Z')]) {
        // Every 7 min 13 s over four days around `now`: both sides of the change, midnights, and the year's turn.
        for (let at = now.getTime() - 2 * 86_400_000; at < now.getTime() + 2 * 86_400_000; at += 433_000) {
          expect(formatWhen('ru', new Date(at), now, tz), `${tz} ${new Date(at).toISOString()}`).toBe(reference(new Date(at), now, tz));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(10_000);
  });

  it('say an operap’s day and a licence’s last day as luxon counts them, in the installation’s calendar, across clock changes', () => {
    // The days luxon counts between the installation's today and the date, each at its midnight there.
    const daysBetween = (date: string, itz: string, now: Date) =>
      Math.floor(DateTime.fromJSDate(now).setZone(itz).startOf('day').diff(DateTime.fromISO(date, { zone: itz }).startOf('day'), 'days').days);
    const zones = ['Europe/Moscow', 'Asia/Yekaterinburg', 'Europe/Kaliningrad', 'Europe/Berlin', 'America/New_York', 'Pacific/Chatham'];
    let compared = 0;
    for (const itz of zones) {
      for (const now of [new Date('2026-03-29T00:30:00Z'), new Date('2026-10-25T01:10:00Z'), new Date('2026-12-31T22:00:00Z')]) {
        for (let back = -3; back <= 40; back++) {
          const date = DateTime.fromJSDate(now).setZone(itz).minus({ days: back }).toISODate()!;
          const day = formatWhen('ru', DateTime.fromISO(date, { zone: itz }).toJSDate(), now, 'Europe/Moscow', true);
          const days = daysBetween(date, itz, now);
          expect(formatOperapDay('ru', date, itz, now, 'Europe/Moscow'), `${itz} ${date}`).toBe(days < 2 ? day : `${day}, ${ru.ago(count('ru', days, ru.units.d))}`);
          expect(formatLicenceDay('ru', date, itz, now, 'Europe/Moscow'), `${itz} ${date}`).toBe(ru.web.licenceDay(day, -days));
          compared++;
        }
      }
    }
    expect(compared).toBe(6 * 3 * 44);
    // Not a date: said as it came.
    for (const text of ['2023-02-30', '2023-2-3', 'вчера']) expect(formatOperapDay('ru', text, 'Europe/Moscow', new Date(), 'Europe/Moscow')).toBe(text);
  });
});

describe("SMART's names", () => {
  it('cover every rule of dozor, and docs/smart-names.md says the same', () => {
    expect(Object.keys(SMART_NAMES).sort()).toEqual([...RULE_IDS, ...PROBE_RULE_IDS].sort());
    const table = readFileSync(join(ROOT, 'docs/smart-names.md'), 'utf8')
      .split('\n')
      .map((line) => /^\| `(\w+)` \| (?:`([^`]+)`|—) \|/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null);
    expect(Object.fromEntries(table.map((match) => [match[1], match[2] ?? null]))).toEqual(SMART_NAMES);
    expect(smartNameOf('KodeksDBErrors', { codes: ['4111', '35'] })).toBe('KodeksDBerrorsCode4111, KodeksDBerrorsCode35');
    expect(smartNameOf('KodeksDBErrors', {})).toBe('KodeksDBerrorsNoCode');
    expect(smartNameOf('am:DiskFull', {})).toBeUndefined();
  });
});

describe('seats on the /status card', () => {
  it('say «нет данных» in words when neither the seats taken nor the licence limit is known, never «?»', () => {
    expect(ru.seats(null, null, null, 0)).toBe('Места: нет данных');
    expect(en.seats(null, null, null, 0)).toBe('Seats: no data');
    expect(ru.seats(7, null, null, 0)).toBe('Места: занято 7');
    expect(ru.seats(7, 10, 9, 2)).toBe('Места: занято 7 из 10, пик 9, отказов сегодня: 2');
  });
});
