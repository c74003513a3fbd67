import { defuse } from '../core/text.ts';

/**
 * Every string from outside goes through this before it reaches Telegram's
 * HTML parse mode; control characters and reordering marks (U+202E) show as �.
 */
export function escapeHtml(text: string | number | null | undefined): string {
  return defuse(String(text ?? ''))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** The same message without markup, for the rare case Telegram refuses our HTML. */
export function htmlToPlain(html: string): string {
  return html
    .replace(/<a href="([^"]*)">([^<]*)<\/a>/g, '$2 ($1)')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

/** Telegram's limit for a message text. */
export const MAX_MESSAGE_LENGTH = 4096;

export function fitMessage(html: string): string {
  if (html.length <= MAX_MESSAGE_LENGTH) return html;
  // Cut at a line boundary so no tag is left open (every tag we emit opens and closes on one line).
  const cut = html.lastIndexOf('\n', MAX_MESSAGE_LENGTH - 2);
  return `${html.slice(0, cut > 0 ? cut : MAX_MESSAGE_LENGTH - 2)}\n…`;
}
