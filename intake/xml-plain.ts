/**
 * A reader for the XML agents actually send: an optional declaration, then
 * elements with quoted attributes and nothing but whitespace between them.
 * It calls `open` for each start tag, as a streaming parser would, and
 * returns true when it read the whole document; on anything else it stops
 * and returns false, and the caller reads the document again with the full
 * parser (saxes), which gives the same events for what this one reads and
 * judges the rest (entities, comments, text, CDATA, DOCTYPE, non-ASCII
 * names, line breaks inside values, every error and its message).
 *
 * What it vouches for is exactly what saxes accepts with the same result:
 * ASCII names without a colon, values without `<`, `&`, control characters
 * (saxes turns tab and line breaks in a value into spaces) or U+FFFE/U+FFFF,
 * no attribute twice, tags that close in order, nesting under `maxDepth`.
 * A test holds the two to the same events over generated documents.
 */

/** XML's whitespace: narrower than `\s`, which also matches no-break spaces and line separators. */
const S = '[ \\t\\r\\n]';
const NAME = '[A-Za-z_][A-Za-z0-9._-]*';
const DECLARATION = new RegExp(
  `<\\?xml${S}+version${S}*=${S}*(?:"1\\.0"|'1\\.0')(?:${S}+encoding${S}*=${S}*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?(?:${S}+standalone${S}*=${S}*(?:"(?:yes|no)"|'(?:yes|no)'))?${S}*\\?>`,
  'y',
);
const SPACE = new RegExp(`${S}*`, 'y');
const OPEN = new RegExp(`<(${NAME})`, 'y');
const VALUE_CHARS = '[^<&\\x00-\\x1F\\uFFFE\\uFFFF';
const ATTRIBUTE = new RegExp(`${S}+(${NAME})${S}*=${S}*(?:"(${VALUE_CHARS}"]*)"|'(${VALUE_CHARS}']*)')`, 'y');
const TAG_END = new RegExp(`${S}*(/?)>`, 'y');
const CLOSE = new RegExp(`</(${NAME})${S}*>`, 'y');

const LESS_THAN = 0x3c;
const SLASH = 0x2f;

export function readPlainXml(xml: string, maxDepth: number, open: (name: string, attributes: Record<string, string>, depth: number) => void): boolean {
  let at = 0;
  DECLARATION.lastIndex = 0;
  if (DECLARATION.test(xml)) at = DECLARATION.lastIndex;
  const stack: string[] = [];
  let rootClosed = false;
  for (;;) {
    SPACE.lastIndex = at;
    SPACE.test(xml);
    at = SPACE.lastIndex;
    if (at === xml.length) return rootClosed;
    // Text, or anything after the root element, is the full parser's to judge.
    if (xml.charCodeAt(at) !== LESS_THAN || rootClosed) return false;
    if (xml.charCodeAt(at + 1) === SLASH) {
      CLOSE.lastIndex = at;
      const close = CLOSE.exec(xml);
      if (!close || close[1] !== stack.pop()) return false;
      at = CLOSE.lastIndex;
      rootClosed = stack.length === 0;
      continue;
    }
    OPEN.lastIndex = at;
    const start = OPEN.exec(xml);
    if (!start) return false;
    const name = start[1]!;
    at = OPEN.lastIndex;
    const attributes = Object.create(null) as Record<string, string>;
    for (;;) {
      ATTRIBUTE.lastIndex = at;
      const attribute = ATTRIBUTE.exec(xml);
      if (!attribute) break;
      const attributeName = attribute[1]!;
      if (attributes[attributeName] !== undefined) return false;
      attributes[attributeName] = attribute[2] ?? attribute[3]!;
      at = ATTRIBUTE.lastIndex;
    }
    TAG_END.lastIndex = at;
    const end = TAG_END.exec(xml);
    if (!end) return false;
    at = TAG_END.lastIndex;
    if (stack.length + 1 > maxDepth) return false;
    open(name, attributes, stack.length + 1);
    if (end[1] === '/') rootClosed = stack.length === 0;
    else stack.push(name);
  }
}
