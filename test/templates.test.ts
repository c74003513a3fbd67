import { describe, expect, it } from 'vitest';
import { en } from '../i18n/en.ts';
import { declineName, didWhat, genderOf } from '../i18n/names.ts';
import { ru } from '../i18n/ru.ts';
import { formatSpan } from '../i18n/format.ts';

/**
 * Every message template of both catalogues, rendered with a man's and a
 * woman's name wherever a person is named and with the numbers Russian
 * grammar turns on (1, 2, 5, 11, 21, 22) everywhere else, read for what a
 * person would stumble over: «(а)» in place of a verb agreed with the person,
 * a verb of the wrong gender, a noun that does not agree with its number, and
 * the leftovers of a value that was missing.
 */

const MAN = 'Пётр Сидоров';
const WOMAN = 'Ксения Шабанова';
const NUMBERS = [1, 2, 5, 11, 21, 22];
/** Parameters that carry a person's name. */
const PERSON = /^(name|who|by|manager|lead|person|author|acker)$/;
/** Parameters that take a span as formatSpan says it («1 минуту»): rendered with one, so a span's own form is read in its sentence. */
const SPAN = /^(span|lasted)$/;

type Template = (...args: unknown[]) => unknown;

function templates(catalogue: object, prefix = ''): { path: string; fn: Template }[] {
  return Object.entries(catalogue).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'function') return [{ path, fn: value as Template }];
    if (value && typeof value === 'object' && !Array.isArray(value)) return templates(value, path);
    return [];
  });
}

/** A template's parameter names, as written (a destructured object is one parameter named `{}`). */
function parameterNames(fn: Template): string[] {
  const source = fn.toString();
  const head = source.startsWith('(') ? source.slice(1, source.indexOf(')')) : source.slice(0, source.indexOf('=>'));
  if (head.trim().startsWith('{')) return ['{}'];
  return head
    .split(',')
    .map((p) => p.trim().split(/[\s=:]/)[0]!)
    .filter(Boolean);
}

/** A value that reads as the number where counted and prints as it where written. */
const numberLike = (n: number) => Object.assign(new Number(n), { toString: () => String(n) });

/** Every rendering of a template: per name and per number, numbers where it takes them, words where it does not. */
function renderings(fn: Template, lang: 'ru' | 'en'): { name: string; n: number; text: string }[] {
  const params = parameterNames(fn);
  const out: { name: string; n: number; text: string }[] = [];
  const people = params.some((p) => PERSON.test(p)) ? [MAN, WOMAN] : [MAN];
  for (const name of people) {
    for (const n of NUMBERS) {
      const object = new Proxy({}, { get: (_t, key) => (typeof key === 'string' && PERSON.test(key) ? name : key === 'describe' ? () => 'что-то' : String(n)) });
      const span = formatSpan(lang, n * 60_000);
      const attempt = (value: (param: string) => unknown) => fn(...params.map((p) => (p === '{}' ? object : PERSON.test(p) ? name : SPAN.test(p) ? span : value(p))), () => 'что-то');
      let result: unknown;
      try {
        result = attempt(() => numberLike(n));
      } catch {
        try {
          result = attempt(() => `значение ${n}`);
        } catch {
          continue;
        }
      }
      if (typeof result === 'string') out.push({ name, n, text: result });
    }
  }
  return out;
}

/** Russian nouns as they must not stand after a number. */
function disagreement(text: string): string | null {
  const pairs: [RegExp, string][] = [
    // After 1 and 21 comes the nominative singular: not «1 минут», «21 установок», «1 оповещений».
    [/(?<![\d.,:])(?:1|21) (минут|часов|дней|установок|установки|проблем|оповещений|оповещения|клиентов|инцидентов)(?![\p{L}])/u, 'after 1 / 21'],
    // After 2 and 22, the genitive singular: not «2 установок», «22 минут».
    [/(?<![\d.,:])(?:2|22) (минут|часов|дней|установок|проблем|оповещений|клиентов|инцидентов|минута|установка|проблема)(?![\p{L}])/u, 'after 2 / 22'],
    // After 5 and 11, the genitive plural: not «5 минута», «11 установки».
    [/(?<![\d.,:])(?:5|11) (минута|минуты|минуту|часа|дня|установка|установки|проблема|проблемы|оповещение|оповещения)(?![\p{L}])/u, 'after 5 / 11'],
    // How long something lasted takes the accusative: «длилось 1 минуту», «длится 2 часа 21 минуту», never «1 минута».
    [/(?:длилось|длится|длилась|длился|длились|длятся)(?: \d+ \p{L}+)*? (?:1|21) минута(?![\p{L}])/u, 'the accusative after «длилось»'],
  ];
  for (const [pattern, where] of pairs) {
    for (const found of text.matchAll(new RegExp(pattern.source, 'gu'))) {
      // «из 2 установок», «больше 2 дней», «не дольше 22 дней»: these ask for the genitive whatever the number.
      if (/(?:из|больше|дольше|меньше|более|менее|старше|свыше) $/u.test(text.slice(0, found.index))) continue;
      return `${where}: «${found[0]}»`;
    }
  }
  return null;
}

describe('every message template', () => {
  for (const [lang, catalogue] of [
    ['ru', ru],
    ['en', en],
  ] as const) {
    it(`in ${lang === 'ru' ? 'Russian' : 'English'} reads right with a man's and a woman's name and with 1, 2, 5, 11, 21, 22`, () => {
      const problems: string[] = [];
      let rendered = 0;
      for (const { path, fn } of templates(catalogue)) {
        for (const { name, n, text } of renderings(fn, lang)) {
          rendered++;
          const say = (what: string) => problems.push(`${path} (${name}, ${n}): ${what} — ${text.slice(0, 160)}`);
          if (/\(а\)|\(ла\)|\(ий\)/.test(text)) say('a form for either gender');
          if (/undefined|NaN|\[object /.test(text)) say('a missing value');
          if (lang === 'ru') {
            if (name === WOMAN && new RegExp(`${WOMAN} \\p{L}+л\\b`, 'u').test(text)) say("a man's verb for a woman");
            if (name === MAN && new RegExp(`${MAN} \\p{L}+ла\\b`, 'u').test(text)) say("a woman's verb for a man");
            if (/ у: /.test(text)) say('«у:» where the name should be declined');
            const wrong = disagreement(text);
            if (wrong) say(wrong);
          } else if (/(?<![\d.,:])1 (minutes|hours|days|installations|alerts|problems|clients|incidents)\b/.test(text)) say('a plural after 1');
        }
      }
      expect(rendered).toBeGreaterThan(500);
      expect(problems).toEqual([]);
    });
  }

  it('the checks themselves catch what they are for', () => {
    expect(disagreement('длилось 1 минут')).toMatch(/after 1/);
    expect(disagreement('☑️ Решено, длилось 1 минута')).toMatch(/accusative/);
    expect(disagreement('длится 2 часа 21 минута')).toMatch(/accusative/);
    expect(disagreement('☑️ Решено, длилось 1 минуту; длится 2 часа 21 минуту; 1 минута назад')).toBeNull();
    expect(disagreement('5 установки')).toMatch(/after 5/);
    expect(disagreement('22 минуты, 21 установка, 11 проблем')).toBeNull();
    expect(disagreement('не решено 1 из 21 оповещения; молчат больше 2 дней')).toBeNull();
    expect(parameterNames(((name: string, n: number) => `${name}${n}`) as unknown as Template)).toEqual(['name', 'n']);
  });
});

describe('names in Russian sentences', () => {
  it('tells gender by the name and declines it; says nothing it cannot know', () => {
    expect([genderOf(MAN), genderOf(WOMAN), genderOf('Илья Ким'), genderOf('Любовь Орлова'), genderOf('Саша'), genderOf('John Smith')]).toEqual([
      'male',
      'female',
      'male',
      'female',
      null,
      null,
    ]);
    expect(declineName(MAN, 'genitive')).toBe('Петра Сидорова');
    expect(declineName(WOMAN, 'genitive')).toBe('Ксении Шабановой');
    expect(declineName('Сидоров Пётр', 'genitive')).toBe('Сидорова Петра');
    expect(declineName('Саша', 'genitive')).toBeNull();
    expect(didWhat(WOMAN, 'взял', 'взяла')).toBe('Ксения Шабанова взяла');
    expect(didWhat('John Smith', 'взял', 'взяла')).toBeNull();
  });

  it('in the templates: «в работе у Петра Сидорова», the colon where a name does not decline, verbs by gender', () => {
    expect(ru.acknowledgedShort(MAN)).toBe('в работе у Петра Сидорова');
    expect(ru.acknowledgedShort('John Smith')).toBe('в работе: John Smith');
    expect(ru.snoozedUntil('09:00 завтра', MAN)).toBe('💤 Пётр Сидоров отложил до 09:00 завтра');
    expect(ru.snoozedUntil('09:00 завтра', WOMAN)).toBe('💤 Ксения Шабанова отложила до 09:00 завтра');
    expect(ru.snoozedUntil('09:00 завтра', 'Саша')).toBe('💤 Отложено: Саша, до 09:00 завтра');
    expect(ru.resolvedAfter('1 минуту')).toBe('☑️ Решено, длилось 1 минуту');
  });
});
