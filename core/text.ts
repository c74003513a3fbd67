/**
 * Characters no name, path or label from outside may carry into a message:
 * C0 and C1 controls (tab and line breaks aside) and the invisible marks that
 * reorder text (U+202E shows «Ромашка» as something else) or hide in it.
 * Joiners (U+200C, U+200D) stay: emoji and some scripts are made with them.
 */
export const UNSAFE_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u;
/** The same, for replacing every occurrence. */
export const UNSAFE_CHARS_GLOBAL = new RegExp(UNSAFE_CHARS.source, 'gu');

/** The text with every unsafe character replaced by U+FFFD, so it shows that something was there. */
export function defuse(text: string): string {
  return text.replace(UNSAFE_CHARS_GLOBAL, '\ufffd');
}

/** Legal forms a manager leaves out when naming a client («ООО», «АО», «ИП»…), lower-case. */
export const LEGAL_FORMS: ReadonlySet<string> = new Set([
  'ооо', 'оао', 'зао', 'пао', 'ао', 'нао', 'ип', 'нко', 'ано', 'гуп', 'муп', 'фгуп', 'фгбу', 'гбу', 'мбу', 'ооо.', 'ooo', 'llc', 'ltd', 'inc',
]);

/**
 * A client's name as people say it, short enough for a button: without its
 * legal form and quotes («ООО «Ромашка»» → «Ромашка»), clipped with «…» past
 * `max` characters. A name that is nothing but a legal form stays as it is.
 */
export function shortClientName(name: string, max = 18): string {
  const words = name.replace(/[«»"„“”]/g, ' ').split(/\s+/).filter(Boolean);
  const kept = words.filter((word) => !LEGAL_FORMS.has(word.toLowerCase()));
  return clip((kept.length > 0 ? kept : words).join(' ') || name.trim(), max);
}

/** The text cut to `max` characters, ending in «…» when cut (a button's label, say). */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}

/** The text with its first letter in lower case, unless it starts an abbreviation («ПК», «NAS»): for words that follow a comma or a colon. */
export function lowerFirst(text: string): string {
  const [first = '', second = ''] = text;
  return second && second === second.toUpperCase() && second !== second.toLowerCase() ? text : first.toLowerCase() + text.slice(first.length);
}
