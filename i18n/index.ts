import { InputError, NotFoundError, type ErrorCode, type ErrorParams } from '../core/errors.ts';
import { en } from './en.ts';
import type { Lang } from './plural.ts';
import { ru, type Catalogue, type ErrorTexts, type KnownRuleId } from './ru.ts';

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

/** A rule's title in a language; rules from outside (Alertmanager) keep their own name. */
export function ruleTitle(lang: Lang, ruleId: string): string {
  const titles: Record<string, string> = texts(lang).rules;
  return titles[ruleId] ?? ruleId;
}

/** What went wrong, said in the person's language. */
export function describeError(error: InputError, lang: Lang): string {
  const say = texts(lang).errors[error.code] as ErrorTexts[ErrorCode] as (params: unknown, describe: (e: InputError) => string) => string;
  return say(error.params, (nested) => describeError(nested, lang));
}

/** An input error with its English wording, for the code that detects it (the command line shows that wording). */
export function inputError<C extends ErrorCode>(code: C, params: ErrorParams[C]): InputError<C> {
  return new InputError(code, params, englishOf(code, params));
}

export function notFound<C extends ErrorCode>(code: C, params: ErrorParams[C]): NotFoundError<C> {
  return new NotFoundError(code, params, englishOf(code, params));
}

function englishOf<C extends ErrorCode>(code: C, params: ErrorParams[C]): string {
  return describeError(new InputError(code, params, code), 'en');
}
