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
