import { describe, expect, it } from 'vitest';
import { readCommonReport, readCommonXml } from '../intake/report-fast-path.ts';
import { incomingReportSchema } from '../intake/report-schema.ts';
import { parseReport, xmlToCandidate } from '../intake/parse-report.ts';
import { healthyFacts, reportXml } from '../tools/agents/report-xml.ts';
import { SAMPLE_XML } from './helpers.ts';

/**
 * The reports read without the schema (intake/report-fast-path.ts) must read
 * exactly as the schema reads them, and every report the schema refuses must
 * be left to it: candidates as the XML reader makes them (strings, lists for
 * elements given twice, prototype-less objects), built from the fields the
 * schema knows and values at and past every edge, compared one by one.
 */
const FIELDS: Record<string, string[]> = {
  '': ['version', 'id', 'generatedAt'],
  shell: ['version'],
  update: ['number', 'operapDate'],
  service: ['state', 'account'],
  senselock: ['state'],
  kit: ['assembled', 'dailyUpdate', 'copybaseweb'],
  storage: ['path', 'reachable'],
  license: ['limit', 'peak', 'exhausted'],
  seats: ['licensed', 'used', 'refused'],
  licman: ['host', 'port', 'state'],
  server: ['state', 'message'],
  database: ['name', 'update', 'licenseExpires', 'errors'],
};

const VALUES = [
  '', ' ', '0', '1', '01', ' 7 ', '7.5', '-1', '1e3', '+3', '0x10', '999999', '1000000', '1000001', '65535', '65536', '1000', '1001',
  '1000000000', '1000000001', '99999999999999999999', 'true', 'false', 'TRUE', 'True', ' true', 'yes', 'running', ' Running ', 'STOPPED', 'user',
  'system', 'ok', 'OK', 'lost', 'absent', 'maintenance', 'need-support', 'unreachable', 'warning', 'not-started', '6.4.3.59', ' 6.4.3.59 ', '6.4.3.59.1.2.3',
  '1234567.1', '2023-02-15', '2023-02-15T09:12:00+03:00', 'kodeks-db.local', '10.0.0.5', '[::1]', 'host name', '4111 696', '4111,696;  7', '4111 x',
  `${'1 '.repeat(100)}`, `${'1 '.repeat(101)}`, 'Кодекс', '\\\\nas\\kodeks', 'a\u0000b', 'a\u202eb', 'a\u200bb', '\ufeffx', 'x'.repeat(40), 'x'.repeat(41),
  'x'.repeat(200), 'x'.repeat(201), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(500), 'x'.repeat(501), 'x'.repeat(1000), 'x'.repeat(1001), '\t\n',
];

/** Values each field takes, by its name (some fields share a name and not their words: those go to the schema too). */
const FITTING: Record<string, string[]> = {
  version: ['1', '2', ' 3 '],
  id: ['r-1', ' r 2 ', 'Отчёт'],
  generatedAt: ['2023-02-15T09:12:00+03:00', '15.02.2023 09:12:00'],
  number: ['2251', '0'],
  operapDate: ['2023-02-14'],
  'service.state': ['running', ' Stopped '],
  'senselock.state': ['ok', 'lost', 'ABSENT'],
  'licman.state': ['ok', 'unreachable'],
  'server.state': ['ok', 'maintenance', 'need-support', 'warning', 'not-started'],
  'shell.version': ['6.4.3.59', ' 6.4 '],
  'update.update': ['1'],
  account: ['user', 'System'],
  assembled: ['true', 'false', '1', '0'],
  dailyUpdate: ['true', '0'],
  copybaseweb: ['1', 'false'],
  path: ['\\\\nas\\kodeks', 'D:\\Kodeks'],
  reachable: ['true', 'false'],
  limit: ['10', '0'],
  peak: ['5', ' 10 '],
  exhausted: ['3'],
  licensed: ['25'],
  used: ['20'],
  refused: ['0'],
  host: ['licman.local', '10.0.0.5'],
  port: ['8080', '65535'],
  message: ['', 'Техническое обслуживание'],
  name: ['Кодекс: Нормы', 'db1'],
  update: ['2251'],
  licenseExpires: ['2027-01-31'],
  errors: ['4111 696', '', '7'],
};

/** A deterministic stream of numbers in [0, 1): the same cases on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const bare = (entries: Record<string, unknown>) => Object.assign(Object.create(null) as Record<string, unknown>, entries);

/** A candidate with every element, each field given one of VALUES (or left out), now and then an element twice or odd in shape. */
function candidate(next: () => number): Record<string, unknown> {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const element = (fields: string[], name = '') => {
    const attributes = bare({});
    // Mostly a value that field takes (a report as agents send it), now and then any value at all.
    for (const field of fields) if (next() < 0.7) attributes[field] = next() < 0.985 ? pick(FITTING[`${name}.${field}`] ?? FITTING[field] ?? ['x']) : pick(VALUES);
    if (next() < 0.05) attributes.unknownAttribute = pick(VALUES);
    return attributes;
  };
  const report = element(FIELDS['']!);
  for (const [name, fields] of Object.entries(FIELDS)) {
    if (name === '' || next() < 0.2) continue;
    const roll = next();
    if (name === 'database') {
      const n = roll < 0.02 ? 501 : 1 + Math.floor(next() * 3);
      const list = Array.from({ length: n }, () => element(fields, name));
      report.database = n === 1 && next() < 0.5 ? list[0] : list;
    } else if (roll < 0.03) report[name] = [element(fields, name), element(fields, name)];
    else if (roll < 0.04) report[name] = pick(VALUES);
    else report[name] = element(fields, name);
  }
  if (next() < 0.03) report.unknownElement = element(['x']);
  return report;
}

function agree(input: unknown): 'fast' | 'schema' {
  const fast = readCommonReport(input);
  const parsed = incomingReportSchema.safeParse(input);
  if (fast === null) return 'schema';
  expect(parsed.success, JSON.stringify(input)).toBe(true);
  expect(fast, JSON.stringify(input)).toEqual(parsed.data);
  return 'fast';
}

describe('reading a common report without the schema', () => {
  it('reads 20,000 generated candidates exactly as the schema does, and leaves it every one it refuses', () => {
    const next = random(31);
    const counts = { fast: 0, schema: 0 };
    for (let i = 0; i < 20_000; i++) counts[agree(candidate(next))]++;
    // Both ways are exercised: a test where everything fell back would prove nothing.
    expect(counts.fast).toBeGreaterThan(1_000);
    expect(counts.schema).toBeGreaterThan(1_000);
  });

  it('reads every field with every edge value as the schema does, the rest of the report being one it takes', () => {
    const base = (): Record<string, unknown> => {
      const report = bare({});
      for (const [name, fields] of Object.entries(FIELDS)) {
        const attributes = name === '' ? report : bare({});
        for (const field of fields) attributes[field] = (FITTING[`${name}.${field}`] ?? FITTING[field] ?? ['x'])[0]!;
        if (name !== '') report[name] = attributes;
      }
      return report;
    };
    expect(agree(base())).toBe('fast');
    const counts = { fast: 0, schema: 0 };
    for (const [name, fields] of Object.entries(FIELDS)) {
      for (const field of fields) {
        for (const value of VALUES) {
          const report = base();
          ((name === '' ? report : report[name]) as Record<string, unknown>)[field] = value;
          counts[agree(report)]++;
        }
      }
    }
    expect(counts.fast).toBeGreaterThan(500);
    expect(counts.schema).toBeGreaterThan(500);
  });

  it('takes the reports agents send (the benchmark load, the sample), and hands JSON-typed and odd values to the schema', () => {
    expect(readCommonReport(bare({ id: 'r1', shell: bare({ version: '6.4.3.59' }), kit: bare({ assembled: 'true' }) }))).toEqual({ id: 'r1', shell: { version: '6.4.3.59' }, kit: { assembled: true } });
    expect(agree(bare({ version: 1 }))).toBe('schema');
    expect(agree(bare({ kit: bare({ assembled: true }) }))).toBe('schema');
    expect(agree(bare({ kit: null }))).toBe('schema');
    expect(agree([])).toBe('schema');
    expect(agree(bare({ database: bare({ update: '5' }) }))).toBe('schema');
    const body = Buffer.from(reportXml('agent-1', { ...healthyFacts(), licensePeak: 5 }));
    const report = parseReport(body, 'xml', { tz: 'Europe/Moscow' });
    expect(report.facts).toMatchObject({ senselockState: 'ok', licensePeak: 5 });
  });
});

/** A value as an XML attribute holds it (entities where XML needs them, which the plain reader leaves to saxes). */
const escaped = (value: string) =>
  value.replace(/[&<"\u0000-\u001f]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '"' ? '&quot;' : `&#x${c.charCodeAt(0).toString(16)};`));

/**
 * A candidate written as an agent would write it: attribute names mostly in
 * the XML's spelling, sometimes in the key's, now and then in both; an
 * element given as a string becomes a root attribute of its name, a list
 * becomes the element repeated.
 */
function candidateXml(input: Record<string, unknown>, next: () => number): string {
  const attributes = (fields: Record<string, unknown>) =>
    Object.entries(fields)
      .filter(([, value]) => typeof value === 'string')
      .map(([key, value]) => {
        const xmlName = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
        const roll = next();
        const names = roll < 0.8 ? [xmlName] : roll < 0.97 || xmlName === key ? [key] : [xmlName, key];
        return names.map((name) => ` ${name}="${escaped(value as string)}"`).join('');
      })
      .join('');
  const children = Object.entries(input)
    .filter(([, value]) => typeof value === 'object' && value !== null)
    .flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((fields) => `  <${name}${attributes(fields as Record<string, unknown>)}/>`));
  return `<?xml version="1.0" encoding="UTF-8"?>\n<report${attributes(input)}>\n${children.join('\n')}\n</report>\n`;
}

function agreeXml(xml: string): 'fast' | 'long' {
  const direct = readCommonXml(xml, 32);
  if (direct === null) return 'long';
  let long: unknown;
  try {
    long = readCommonReport(xmlToCandidate(xml));
  } catch (err) {
    throw new Error(`read in one pass, refused the long way (${(err as Error).message}): ${xml}`, { cause: err });
  }
  expect(direct, xml).toEqual(long);
  return 'fast';
}

describe('reading a common XML report in one pass', () => {
  it('reads 20,000 generated reports as the XML reader and the fast path read them together, and gives the long way every other', () => {
    const next = random(37);
    const counts = { fast: 0, long: 0 };
    for (let i = 0; i < 20_000; i++) counts[agreeXml(candidateXml(candidate(next), next))]++;
    expect(counts.fast).toBeGreaterThan(1_000);
    expect(counts.long).toBeGreaterThan(1_000);
  });

  it('reads the reports agents send in one pass', () => {
    for (const xml of [SAMPLE_XML, reportXml('agent-1', { ...healthyFacts(), licensePeak: 5 })]) expect(agreeXml(xml)).toBe('fast');
  });

  it('leaves the long way what the candidate would mix or refuse: a root attribute named like an element, an element twice, two spellings, a nameless database, a foreign root', () => {
    const long = [
      '<report shell="x"><shell version="6.4"/></report>',
      '<report database="x"/>',
      '<report><kit assembled="true"/><kit assembled="false"/></report>',
      '<report><kit daily-update="true" dailyUpdate="true"/></report>',
      '<report><kit extra-thing="1" extraThing="1"/></report>',
      '<report><database update="5"/></report>',
      '<reports><kit assembled="true"/></reports>',
      `<report>${'<database name="d"/>'.repeat(501)}</report>`,
      '<report><kit assembled="maybe"/></report>',
    ];
    for (const xml of long) expect(readCommonXml(xml, 32), xml).toBeNull();
    // What the one pass ignores the candidate ignores too: unknown elements and attributes, deeper elements, more databases within the limit.
    const taken = '<report id="r" unknown="1" __proto__="x"><kit assembled="true" constructor="y"><kit assembled="false"/></kit><extra a="1"/><database name="a"/><database name="b" update="3"/></report>';
    expect(agreeXml(taken)).toBe('fast');
    expect(readCommonXml(taken, 32)).toEqual({ id: 'r', kit: { assembled: true }, database: [{ name: 'a' }, { name: 'b', update: 3 }] });
  });
});
