import { DateTime } from 'luxon';

/**
 * The bot speaks Russian, and English to users whose Telegram language is
 * English. Plural forms follow each language's rules («1 установка»,
 * «2 установки», «5 установок»).
 */
export type Lang = 'ru' | 'en';

export function langOf(languageCode: string | null | undefined): Lang {
  return languageCode?.toLowerCase().startsWith('en') ? 'en' : 'ru';
}

const pluralRules: Record<Lang, Intl.PluralRules> = {
  ru: new Intl.PluralRules('ru'),
  en: new Intl.PluralRules('en'),
};

/** Forms: ru [one, few, many], en [one, other]. */
export function plural(lang: Lang, n: number, forms: readonly string[]): string {
  const category = pluralRules[lang].select(n);
  if (lang === 'en') return category === 'one' ? forms[0]! : forms[1]!;
  return category === 'one' ? forms[0]! : category === 'few' ? forms[1]! : forms[2]!;
}

export const count = (lang: Lang, n: number, forms: readonly string[]) => `${n} ${plural(lang, n, forms)}`;

const UNITS = {
  ru: { d: ['день', 'дня', 'дней'], h: ['час', 'часа', 'часов'], m: ['минута', 'минуты', 'минут'] },
  en: { d: ['day', 'days'], h: ['hour', 'hours'], m: ['minute', 'minutes'] },
} as const;

/** "2 дня 3 часа", "5 минут", "less than a minute". */
export function formatSpan(lang: Lang, ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 1) return lang === 'ru' ? 'меньше минуты' : 'less than a minute';
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const parts: string[] = [];
  if (d) parts.push(count(lang, d, UNITS[lang].d));
  if (h) parts.push(count(lang, h, UNITS[lang].h));
  // Minutes matter only for short spans.
  if (m && d === 0) parts.push(count(lang, m, UNITS[lang].m));
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
  if (tz === 'Europe/Moscow') return lang === 'ru' ? 'МСК' : 'MSK';
  return DateTime.now().setZone(tz).toFormat('ZZZZ');
}
