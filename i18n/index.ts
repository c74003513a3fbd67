import { InputError, NotFoundError, type ErrorCode, type ErrorParams } from '../core/errors.ts';
import { externalAlertName } from '../core/external-alerts.ts';
import type { Facts } from '../core/rules.ts';
import { smartNameOf } from '../core/smart-names.ts';
import { en } from './en.ts';
import type { Lang } from './plural.ts';
import { ru, type Catalogue, type KnownRuleId } from './ru.ts';

export type { Catalogue, KnownRuleId, Lang };

/**
 * The one way dozor speaks: a catalogue per language, Russian by default and
 * English for people whose Telegram is in English.
 */
export function texts(lang: Lang): Catalogue {
  return lang === 'en' ? en : ru;
}

export function langOf(languageCode: string | null | undefined): Lang {
  return languageCode?.toLowerCase().startsWith('en') ? 'en' : 'ru';
}

/** A silence's reason worth saying: none when it is only the word put in when nobody gave one («без причины»). */
export function givenReason(reason: string): string | null {
  return reason === ru.defaultReason || reason === en.defaultReason ? null : reason;
}

/** A rule's title in a language; alerts from outside (Alertmanager) keep their own name. */
export function ruleTitle(lang: Lang, ruleId: string): string {
  const titles: Record<string, string> = texts(lang).rules;
  return titles[ruleId] ?? externalAlertName(ruleId) ?? ruleId;
}

/**
 * Where an alert stands against SMART, in words: the same name, another (`name`
 * writes it), none, or an alert from Alertmanager. `text` writes the
 * catalogue's own words (escaped, for HTML); plain by default.
 */
export function smartStanding(lang: Lang, ruleId: string, details: Facts, name: (smart: string) => string = (smart) => smart, text: (words: string) => string = (words) => words): string {
  const t = texts(lang);
  const smart = smartNameOf(ruleId, details);
  if (smart === undefined) return text(t.detailsFromOutside);
  if (smart === null) return text(t.detailsNotInSmart);
  return smart === ruleId ? text(t.detailsSameInSmart) : t.detailsInSmart(name(smart));
}

/** What a rule means for the client and what to do (null for alerts from outside, which bring their own words). */
export function ruleGuide(lang: Lang, ruleId: string): { impact: string; steps: readonly string[] } | null {
  const guides: Record<string, { impact: string; steps: readonly string[] }> = texts(lang).guides;
  return guides[ruleId] ?? null;
}

/** What went wrong, said in the person's language. */
export function describeError(error: InputError, lang: Lang): string {
  return say(lang, error.code, error.params);
}

function say<C extends ErrorCode>(lang: Lang, code: C, params: ErrorParams[C]): string {
  // Indexed by a code the compiler cannot narrow, the entry is a union of functions; each takes its own code's params.
  const text = texts(lang).errors[code] as (params: ErrorParams[C], describe: (nested: InputError) => string) => string;
  return text(params, (nested) => describeError(nested, lang));
}

/** An input error with its English wording, for the code that detects it (the command line shows that wording). */
export function inputError<C extends ErrorCode>(code: C, params: ErrorParams[C]): InputError<C> {
  return new InputError(code, params, englishOf(code, params));
}

export function notFound<C extends ErrorCode>(code: C, params: ErrorParams[C]): NotFoundError<C> {
  return new NotFoundError(code, params, englishOf(code, params));
}

function englishOf<C extends ErrorCode>(code: C, params: ErrorParams[C]): string {
  return say('en', code, params);
}
