/**
 * Telegram's HTML parse mode, checked the way Telegram does: only its tags,
 * every tag closed in order, only the four named entities and numeric ones.
 * Returns null when the text is fine, else Telegram's error description.
 */
const ALLOWED = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);
const ENTITIES = new Set(['lt', 'gt', 'amp', 'quot']);

export function checkTelegramHtml(text: string): string | null {
  const open: string[] = [];
  const bytes = (index: number) => Buffer.byteLength(text.slice(0, index));
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '&') {
      const match = /^&(#x[0-9a-f]+|#\d+|[a-z]+);/i.exec(text.slice(i, i + 12));
      if (!match || (!match[1]!.startsWith('#') && !ENTITIES.has(match[1]!.toLowerCase()))) {
        return `Bad Request: can't parse entities: Unsupported entity at byte offset ${bytes(i)}`;
      }
      i += match[0].length - 1;
    } else if (c === '<') {
      const end = text.indexOf('>', i);
      if (end < 0) return `Bad Request: can't parse entities: Unclosed start tag at byte offset ${bytes(i)}`;
      const body = text.slice(i + 1, end);
      const closing = body.startsWith('/');
      const name = (closing ? body.slice(1) : body).split(/\s/)[0]!.toLowerCase();
      if (!ALLOWED.has(name)) {
        return `Bad Request: can't parse entities: Unsupported start tag "${name}" at byte offset ${bytes(i)}`;
      }
      if (closing) {
        const expected = open.pop();
        if (expected !== name) {
          return `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "${expected ?? name}"`;
        }
      } else if (!body.endsWith('/')) {
        open.push(name);
      }
      i = end;
    } else if (c === '>') {
      // A bare ">" is tolerated by Telegram.
    }
  }
  if (open.length > 0) return `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "${open[open.length - 1]}"`;
  return null;
}
