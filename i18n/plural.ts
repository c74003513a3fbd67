/**
 * The languages people read dozor in: Russian, and English for those whose
 * Telegram is in English. Plural forms follow each language's rules
 * («1 установка», «2 установки», «5 установок»).
 */
export type Lang = 'ru' | 'en';

const pluralRules: Record<Lang, Intl.PluralRules> = {
  ru: new Intl.PluralRules('ru'),
  en: new Intl.PluralRules('en'),
};

/** Categories of the counts pages repeat thousands of times (Intl's select is slow). */
const smallCounts: Record<Lang, string[]> = { ru: [], en: [] };

function categoryOf(lang: Lang, n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 1000) return pluralRules[lang].select(n);
  return (smallCounts[lang][n] ??= pluralRules[lang].select(n));
}

/** Forms: ru [one, few, many], en [one, other]. */
export function plural(lang: Lang, n: number, forms: readonly string[]): string {
  const category = categoryOf(lang, n);
  if (lang === 'en') return category === 'one' ? forms[0]! : forms[1]!;
  return category === 'one' ? forms[0]! : category === 'few' ? forms[1]! : forms[2]!;
}

export const count = (lang: Lang, n: number, forms: readonly string[]) => `${n} ${plural(lang, n, forms)}`;
