/**
 * A reader for the XML agents actually send: an optional declaration, then
 * elements with quoted attributes and nothing but whitespace between them.
 * It tells each start tag as a streaming parser would (`scanPlainXml` to a
 * sink, attribute by attribute; `readPlainXml` to `open`, with the tag's
 * attributes in one object), and returns true when it read the whole
 * document; on anything else it stops
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
const DECLARATION = new RegExp(
  `<\\?xml${S}+version${S}*=${S}*(?:"1\\.0"|'1\\.0')(?:${S}+encoding${S}*=${S}*(?:"[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?(?:${S}+standalone${S}*=${S}*(?:"(?:yes|no)"|'(?:yes|no)'))?${S}*\\?>`,
  'y',
);
const LESS_THAN = 0x3c;
const GREATER_THAN = 0x3e;
const SLASH = 0x2f;
const EQUALS = 0x3d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const AMPERSAND = 0x26;

/** XML's whitespace as the reader takes it: space, tab, carriage return, line feed. */
function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
}

/** `[A-Za-z_]`: a name's first character. */
function isNameStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f;
}

/** `[A-Za-z0-9._-]`: a name's other characters. */
function isNameChar(code: number): boolean {
  return isNameStart(code) || (code >= 0x30 && code <= 0x39) || code === 0x2e || code === 0x2d;
}

/** A character no value of the plain reader holds: `<`, `&`, a control character, U+FFFE or U+FFFF. */
function isRefusedInValue(code: number): boolean {
  return code < 0x20 || code === LESS_THAN || code === AMPERSAND || code === 0xfffe || code === 0xffff;
}

/** What the reader tells of a document as it reads it; any call answering false stops the reading (the document is left to the full parser). */
export interface PlainXmlSink {
  /** A start tag, before its attributes, with its depth (1 for the root). */
  start(name: string, depth: number): boolean;
  /** One attribute of the start tag being read; no name comes twice in one tag. */
  attribute(name: string, value: string): boolean;
  /** The start tag is whole (its attributes all told). */
  end(): boolean;
}

/**
 * The start tags of a document, as `readPlainXml` reads them, told to `sink`
 * as they come, attribute by attribute, with no object made per element: the
 * intake reads a report straight into its shape this way. What it tells is
 * worth something only when it returns true: it may have told part of a
 * document it then stops reading.
 *
 * The scan is by character codes, with no regular expression past the
 * declaration: a report is read for every agent's every report, and a
 * regular expression per name, attribute and tag cost more than the rest of
 * reading it.
 */
export function scanPlainXml(xml: string, maxDepth: number, sink: PlainXmlSink): boolean {
  const length = xml.length;
  let at = 0;
  DECLARATION.lastIndex = 0;
  if (DECLARATION.test(xml)) at = DECLARATION.lastIndex;
  const stack: string[] = [];
  const names: string[] = [];
  let rootClosed = false;
  for (;;) {
    while (at < length && isSpace(xml.charCodeAt(at))) at++;
    if (at === length) return rootClosed;
    // Text, or anything after the root element, is the full parser's to judge.
    if (xml.charCodeAt(at) !== LESS_THAN || rootClosed) return false;
    if (xml.charCodeAt(at + 1) === SLASH) {
      const nameEnd = nameEndAt(xml, at + 2);
      if (nameEnd < 0 || xml.slice(at + 2, nameEnd) !== stack.pop()) return false;
      at = nameEnd;
      while (at < length && isSpace(xml.charCodeAt(at))) at++;
      if (xml.charCodeAt(at) !== GREATER_THAN) return false;
      at++;
      rootClosed = stack.length === 0;
      continue;
    }
    const nameEnd = nameEndAt(xml, at + 1);
    if (nameEnd < 0 || stack.length + 1 > maxDepth) return false;
    const name = xml.slice(at + 1, nameEnd);
    if (!sink.start(name, stack.length + 1)) return false;
    at = nameEnd;
    names.length = 0;
    let selfClosing: boolean;
    for (;;) {
      const before = at;
      while (at < length && isSpace(xml.charCodeAt(at))) at++;
      const code = xml.charCodeAt(at);
      if (code === GREATER_THAN) {
        selfClosing = false;
        at++;
        break;
      }
      if (code === SLASH) {
        if (xml.charCodeAt(at + 1) !== GREATER_THAN) return false;
        selfClosing = true;
        at += 2;
        break;
      }
      // An attribute is set apart from what comes before it by whitespace.
      if (at === before) return false;
      const attributeEnd = nameEndAt(xml, at);
      if (attributeEnd < 0) return false;
      const attributeName = xml.slice(at, attributeEnd);
      at = attributeEnd;
      while (at < length && isSpace(xml.charCodeAt(at))) at++;
      if (xml.charCodeAt(at) !== EQUALS) return false;
      at++;
      while (at < length && isSpace(xml.charCodeAt(at))) at++;
      const quote = xml.charCodeAt(at);
      if (quote !== DOUBLE_QUOTE && quote !== SINGLE_QUOTE) return false;
      const valueStart = ++at;
      for (;;) {
        if (at === length) return false;
        const c = xml.charCodeAt(at);
        if (c === quote) break;
        if (isRefusedInValue(c)) return false;
        at++;
      }
      // A tag holds a few attributes: a list is quicker to search than a set is to make.
      if (names.includes(attributeName)) return false;
      names.push(attributeName);
      if (!sink.attribute(attributeName, xml.slice(valueStart, at))) return false;
      at++;
    }
    if (!sink.end()) return false;
    if (selfClosing) rootClosed = stack.length === 0;
    else stack.push(name);
  }
}

/** The start tags of a document, each with its attributes in one object (without a prototype), to `open`; true when it read the whole document. */
export function readPlainXml(xml: string, maxDepth: number, open: (name: string, attributes: Record<string, string>, depth: number) => void): boolean {
  let name = '';
  let depth = 0;
  let attributes = Object.create(null) as Record<string, string>;
  return scanPlainXml(xml, maxDepth, {
    start(tag, at) {
      name = tag;
      depth = at;
      attributes = Object.create(null) as Record<string, string>;
      return true;
    },
    attribute(attributeName, value) {
      attributes[attributeName] = value;
      return true;
    },
    end() {
      open(name, attributes, depth);
      return true;
    },
  });
}

/** Where the name starting at `at` ends, or -1 when no name starts there. */
function nameEndAt(xml: string, at: number): number {
  if (!isNameStart(xml.charCodeAt(at))) return -1;
  let end = at + 1;
  while (end < xml.length && isNameChar(xml.charCodeAt(end))) end++;
  return end;
}
