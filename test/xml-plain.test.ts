import fc from 'fast-check';
import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import { parseReport, xmlToCandidate, xmlToCandidateWithSaxes } from '../intake/parse-report.ts';
import { readPlainXml } from '../intake/xml-plain.ts';
import { readCommonReport, readCommonXml } from '../intake/report-fast-path.ts';
import { healthyFacts, reportXml } from '../tools/agents/report-xml.ts';
import { SAMPLE_XML } from './helpers.ts';

/**
 * The plain XML reader (intake/xml-plain.ts) must see what saxes sees in
 * every document it reads to the end, and leave every other to saxes: over
 * generated documents near and past each edge of what it reads, the start
 * tags it reports are saxes's, and the candidate or the error the intake
 * gets is the same whichever reader ran.
 */
type Outcome = { value: unknown } | { error: string };

function outcome(read: () => unknown): Outcome {
  try {
    return { value: read() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Start tags as saxes reports them, or null where saxes refuses the document. */
function saxesTags(xml: string): [string, Record<string, string>, number][] | null {
  const parser = new SaxesParser();
  const tags: [string, Record<string, string>, number][] = [];
  let depth = 0;
  let failed = false;
  parser.on('error', () => {
    failed = true;
  });
  parser.on('opentag', (tag) => tags.push([tag.name, { ...tag.attributes }, ++depth]));
  parser.on('closetag', () => depth--);
  try {
    parser.write(xml).close();
  } catch {
    failed = true;
  }
  return failed ? null : tags;
}

function plainTags(xml: string, maxDepth = 32): [string, Record<string, string>, number][] | null {
  const tags: [string, Record<string, string>, number][] = [];
  return readPlainXml(xml, maxDepth, (name, attributes, depth) => tags.push([name, { ...attributes }, depth])) ? tags : null;
}

/** Mostly what the plain reader reads, now and then what it leaves to saxes. */
const mostly = <T>(plain: T[], other: T[]) => fc.oneof({ arbitrary: fc.constantFrom(...plain), weight: 14 }, { arbitrary: fc.constantFrom(...other), weight: 1 });
const space = mostly(['', ' ', '\n', '\r\n', '\t', '  \n  '], ['\u00a0', '\u2028', '\u3000']);
const name = mostly(['report', 'shell', 'update', 'kit', 'database', 'seats', 'x', 'a.b', 'a-b', '_u', 'xml', 'A'], ['ns:kit', 'отчёт', '1a']);
const attributeName = mostly(
  ['id', 'version', 'generated-at', 'generatedAt', 'state', 'daily-update', 'dailyUpdate', 'name', '__proto__', 'constructor', 'a'],
  ['x:y', 'имя', '9'],
);
const value = mostly(
  ['', 'running', '2023-02-15T09:12:00+03:00', 'a > b', "it's", 'say "hi"', 'Кодекс', '\\\\nas\\kodeks', '\u0085', '\u2028', '😀', ' padded '],
  [
  'a &amp; b',
  '&#x41;',
  '&unknown;',
  'a\tb',
  'a\nb',
  'a\r\nb',
  'a\u0001b',
  'a\ufffeb',
  'a<b',
  ],
);
const quote = fc.constantFrom('"', "'");
const attribute = fc
  .tuple(attributeName, space, space, quote, value, fc.constantFrom(' ', '', '\n'))
  .map(([n, before, after, q, v, lead]) => `${lead}${n}${before}=${after}${q}${q === '"' ? v.replace(/"/g, "'") : v.replace(/'/g, '"')}${q}`);
const declaration = mostly(
  ['', '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-8"?>', "<?xml version='1.0' encoding='windows-1251' standalone='yes'?>", '<?xml  version = "1.0"  ?>'],
  [
  '<?xml version="1.1"?>',
  '<?xml encoding="UTF-8"?>',
  ' <?xml version="1.0"?>',
  '<?xml version="1.0" standalone="maybe"?>',
  ],
);
const between = mostly(['', '\n  '], ['text', '<!-- note -->', '<![CDATA[x]]>', '<?pi x?>', '&amp;', ']]>', '\u00a0']);

interface Element {
  name: string;
  attributes: string[];
  children: Element[];
  selfClosing: boolean;
  closeAs: string | null;
}
const element: fc.Arbitrary<Element> = fc.letrec<{ element: Element }>((tie) => ({
  element: fc.record({
    name,
    attributes: fc.array(attribute, { maxLength: 4 }),
    children: fc.oneof({ depthSize: 'small' }, fc.constant<Element[]>([]), fc.array(tie('element'), { maxLength: 3 })),
    selfClosing: fc.boolean(),
    closeAs: fc.option(fc.constantFrom('other', 'x ', 'report\n'), { freq: 20 }),
  }),
})).element;

function render(e: Element, gap: string, spaceBeforeEnd: string): string {
  const head = `<${e.name}${e.attributes.map((a) => ` ${a}`).join('')}${spaceBeforeEnd}`;
  if (e.selfClosing && e.children.length === 0) return `${head}/>`;
  return `${head}>${e.children.map((child) => `${gap}${render(child, gap, spaceBeforeEnd)}`).join('')}${gap}</${e.closeAs ?? e.name}>`;
}

const documents = fc
  .tuple(declaration, space, element, space, space, between, mostly([''], ['<report/>', 'tail', '<!-- end -->']))
  .map(([decl, lead, root, gap, end, text, after]) => {
    const body = render(root, gap, end);
    // Text or a comment in one place in some documents, a second root or trailing text in others.
    const withText = text ? body.replace(/>/, `>${text}`) : body;
    return `${decl}${lead}${withText}${gap}${after}`;
  });

describe('the plain XML reader', () => {
  it('reads what agents send, the sample and the generated reports, without saxes', () => {
    for (const xml of [SAMPLE_XML, reportXml('r-1', healthyFacts())]) {
      expect(plainTags(xml)).not.toBeNull();
      expect(plainTags(xml)).toEqual(saxesTags(xml));
    }
  });

  it('sees the start tags saxes sees in every document it reads, and reads none saxes refuses', () => {
    let read = 0;
    let total = 0;
    fc.assert(
      fc.property(documents, (xml) => {
        total++;
        const plain = plainTags(xml);
        if (plain === null) return;
        read++;
        expect(plain).toEqual(saxesTags(xml));
      }),
      { numRuns: 20_000, seed: 31 },
    );
    // Both sides of the edge are exercised: many documents read, many left to saxes.
    expect(read).toBeGreaterThan(total * 0.1);
    expect(read).toBeLessThan(total * 0.9);
  });

  it('gives the intake the same candidate, or the same error, as saxes alone', () => {
    fc.assert(
      fc.property(documents, (xml) => {
        expect(outcome(() => xmlToCandidate(xml))).toEqual(outcome(() => xmlToCandidateWithSaxes(xml)));
      }),
      { numRuns: 20_000, seed: 32 },
    );
  });

  it('reads in one pass only documents the long way reads to the same report', () => {
    let direct = 0;
    fc.assert(
      fc.property(documents, (xml) => {
        const report = readCommonXml(xml, 32);
        if (report === null) return;
        direct++;
        expect(outcome(() => readCommonReport(xmlToCandidate(xml)))).toEqual({ value: report });
      }),
      { numRuns: 20_000, seed: 33 },
    );
    expect(direct).toBeGreaterThan(100);
  });

  it('leaves nesting past the limit to saxes, which names the line', () => {
    const deep = `<report>${'<x>'.repeat(40)}${'</x>'.repeat(40)}</report>`;
    expect(plainTags(deep)).toBeNull();
    expect(outcome(() => xmlToCandidate(deep))).toEqual({ error: 'elements are nested more than 32 deep (line 1); a report is flat' });
    const justInside = `<report>${'<x>'.repeat(31)}${'</x>'.repeat(31)}</report>`;
    expect(plainTags(justInside)).toEqual(saxesTags(justInside));
  });

  it('reads a report the same whichever reader ran', () => {
    const options = { tz: 'Europe/Moscow' };
    const plain = parseReport(Buffer.from(SAMPLE_XML), 'xml', options);
    // A comment after the root is saxes's to read.
    const withComment = `${SAMPLE_XML}<!-- sent by hand -->`;
    expect(plainTags(withComment)).toBeNull();
    const bySaxes = parseReport(Buffer.from(withComment), 'xml', options);
    expect({ ...bySaxes, contentHash: plain.contentHash }).toEqual(plain);
  });
});
