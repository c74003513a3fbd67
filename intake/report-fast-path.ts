import { LICMAN_STATES, SENSELOCK_STATES, SERVER_STATES, SERVICE_ACCOUNTS, SERVICE_STATES } from '../core/report.ts';
import { UNSAFE_CHARS } from '../core/text.ts';
import { MAX_DATABASES, MAX_ERROR_CODES, type IncomingReport } from './report-schema.ts';
import { attributeKey } from './attribute-keys.ts';
import { scanPlainXml } from './xml-plain.ts';

/**
 * The common case of an XML report read without the schema: every value a
 * string the schema would take as it is. This reads exactly what
 * `incomingReportSchema` gives for such a report, in one pass and without
 * its machinery (a fifth of reading a report); anything else (a value out of
 * range, a word it does not know, an element given twice, JSON's typed
 * values) gets `null`, and the schema decides, with its words for what is
 * wrong. test/report-fast-path.test.ts holds the two to the same answers.
 */
export function readCommonReport(candidate: unknown): IncomingReport | null {
  if (!isRecord(candidate)) return null;
  const report: Record<string, unknown> = {};
  for (const key in ROOT) {
    const value = candidate[key];
    if (value === undefined) continue;
    const read = typeof value === 'string' ? ROOT[key]!(value) : NO;
    if (read === NO) return null;
    report[key] = read;
  }
  for (const name in SECTIONS) {
    const value = candidate[name];
    if (value === undefined) continue;
    const read = readFields(value, SECTIONS[name]!);
    if (read === NO) return null;
    report[name] = read;
  }
  const databases = candidate.database;
  if (databases !== undefined) {
    const list = Array.isArray(databases) ? databases : [databases];
    if (list.length > MAX_DATABASES) return null;
    const read: unknown[] = [];
    for (const item of list) {
      // A database has a name, always.
      if (!isRecord(item) || item.name === undefined) return null;
      const database = readFields(item, DATABASE);
      if (database === NO) return null;
      read.push(database);
    }
    report.database = read;
  }
  return report as IncomingReport;
}

/** Not the common case: the schema decides. */
const NO = Symbol('the schema decides');
type Reader = (value: string) => unknown;

const WHOLE = /^\s*\d+\s*$/;
const NOT_EMPTY = /\S/;
const VERSION = /^\s*\d{1,6}(\.\d{1,9}){0,5}\s*$/;
const HOST = /^[A-Za-z0-9._:[\]-]+$/;

const count =
  (max: number): Reader =>
  (value) => {
    if (!WHOLE.test(value)) return NO;
    const n = Number(value);
    return n <= max ? n : NO;
  };

const bool: Reader = (value) => (value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : NO);

const oneOf = (values: readonly string[]): Reader => {
  const known = new Set(values);
  return (value) => {
    const word = value.trim().toLowerCase();
    return known.has(word) ? word : NO;
  };
};

const text =
  (max: number, pattern?: RegExp): Reader =>
  (value) =>
    value.length <= max && !UNSAFE_CHARS.test(value) && (!pattern || pattern.test(value)) ? value : NO;

const dateText = text(40, NOT_EMPTY);

const errorCodes: Reader = (value) => {
  const codes = value.split(/[\s,;]+/).filter((code) => code !== '');
  if (codes.length > MAX_ERROR_CODES) return NO;
  const read = count(999_999);
  const numbers: number[] = [];
  for (const code of codes) {
    const n = read(code);
    if (n === NO) return NO;
    numbers.push(n as number);
  }
  return numbers;
};

const ROOT: Record<string, Reader> = { version: count(1_000), id: text(200, NOT_EMPTY), generatedAt: dateText };

const SECTIONS: Record<string, Record<string, Reader>> = {
  shell: { version: text(40, VERSION) },
  update: { number: count(1_000_000_000), operapDate: dateText },
  service: { state: oneOf(SERVICE_STATES), account: oneOf(SERVICE_ACCOUNTS) },
  senselock: { state: oneOf(SENSELOCK_STATES) },
  kit: { assembled: bool, dailyUpdate: bool, copybaseweb: bool },
  storage: { path: text(1_000), reachable: bool },
  license: { limit: count(1_000_000), peak: count(1_000_000), exhausted: count(1_000_000) },
  seats: { licensed: count(1_000_000), used: count(1_000_000), refused: count(1_000_000) },
  licman: { host: text(255, HOST), port: count(65_535), state: oneOf(LICMAN_STATES) },
  server: { state: oneOf(SERVER_STATES), message: text(500) },
};

const DATABASE: Record<string, Reader> = { name: text(200, NOT_EMPTY), update: count(1_000_000_000), licenseExpires: dateText, errors: errorCodes };

/** An element's attributes read by `fields` (those it does not know are left out, as the schema leaves them), or NO. */
function readFields(element: unknown, fields: Record<string, Reader>): Record<string, unknown> | typeof NO {
  // An element given twice is a list: the schema says so by name.
  if (!isRecord(element)) return NO;
  const read: Record<string, unknown> = {};
  for (const key in fields) {
    const value = element[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') return NO;
    const field = fields[key]!(value);
    if (field === NO) return NO;
    read[key] = field;
  }
  return read;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ROOT_READERS = new Map(Object.entries(ROOT));
const SECTION_READERS = new Map(Object.entries(SECTIONS).map(([name, fields]) => [name, new Map(Object.entries(fields))]));
const DATABASE_READERS = new Map(Object.entries(DATABASE));

/**
 * The same as `readCommonReport(xmlToCandidate(xml))`, in one pass over the
 * XML: each attribute the schema knows is read as the plain XML reader meets
 * it, with no object made per element and none walked again. Whatever would
 * not give that same report here (a document the plain reader leaves to
 * saxes, an element given twice, one attribute spelled two ways, a root
 * attribute named like an element, a value the schema words differently)
 * gives `null`, and the report is read the long way, with its messages.
 * test/report-fast-path.test.ts holds the two to the same answers.
 */
export function readCommonXml(xml: string, maxDepth: number): IncomingReport | null {
  const report: Record<string, unknown> = {};
  const databases: Record<string, unknown>[] = [];
  /** The fields of the element whose attributes are being read, or null for one the report ignores. */
  let readers: Map<string, Reader> | null = null;
  let element: Record<string, unknown> = report;
  let root = false;
  let database = false;
  /** The keys met in the element, in any spelling: two spellings of one are an error the long way. */
  const keys: string[] = [];
  const read = scanPlainXml(xml, maxDepth, {
    start(name, depth) {
      keys.length = 0;
      root = depth === 1;
      database = false;
      if (root) {
        readers = ROOT_READERS;
        element = report;
        return name === 'report';
      }
      if (depth !== 2) {
        readers = null;
        return true;
      }
      if (name === 'database') {
        if (databases.length === MAX_DATABASES) return false;
        database = true;
        readers = DATABASE_READERS;
        element = {};
        databases.push(element);
        return true;
      }
      readers = SECTION_READERS.get(name) ?? null;
      if (readers === null) return true;
      if (report[name] !== undefined) return false;
      element = {};
      report[name] = element;
      return true;
    },
    attribute(name, value) {
      if (readers === null) return true;
      const key = attributeKey(name);
      if (keys.includes(key)) return false;
      keys.push(key);
      // The long way puts the root's attributes and the elements in one object, where they would meet.
      if (root && (key === 'database' || SECTION_READERS.has(key))) return false;
      const reader = readers.get(key);
      if (reader === undefined) return true;
      const field = reader(value);
      if (field === NO) return false;
      element[key] = field;
      return true;
    },
    end() {
      // A database has a name, always.
      return !database || element.name !== undefined;
    },
  });
  if (!read) return null;
  if (databases.length > 0) report.database = databases;
  return report as IncomingReport;
}
