import { LICMAN_STATES, SENSELOCK_STATES, SERVER_STATES, SERVICE_ACCOUNTS, SERVICE_STATES } from '../core/report.ts';
import { UNSAFE_CHARS } from '../core/text.ts';
import { MAX_DATABASES, MAX_ERROR_CODES, type IncomingReport } from './report-schema.ts';

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
