import { hash, randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { SaxesParser } from 'saxes';
import type { z } from 'zod';
import { utcDateMs } from '../core/calendar.ts';
import { InputError } from '../core/errors.ts';
import type { AgentReport, ReportFacts } from '../core/report.ts';
import { incomingReportSchema, MAX_DATABASES, type IncomingReport } from './report-schema.ts';
import { readCommonReport, readCommonXml } from './report-fast-path.ts';
import { readPlainXml } from './xml-plain.ts';
import { attributeKey, attributeName } from './attribute-keys.ts';

export type ReportFormat = 'xml' | 'json';

export interface ParseOptions {
  /** The `charset` of the Content-Type header, if any. */
  charset?: string;
  /** Time zone for dates that carry no offset. */
  tz: string;
}

const EARLIEST = Date.UTC(1990, 0, 1);
/**
 * Dates after this are nonsense. A date merely ahead of our clock is not
 * refused: the agent's clock may be right and ours wrong (a report refused
 * for that would be lost); state ordering does not trust such dates.
 */
const LATEST = Date.UTC(2100, 0, 1);

/** Turn a request body into a report, or throw an InputError that names what is wrong. */
export function parseReport(body: Buffer, format: ReportFormat, options: ParseOptions): AgentReport {
  const text = decode(body, format, options.charset);
  // What agents send is read straight into the report's shape; anything else goes the long way below.
  const direct = format === 'xml' ? readCommonXml(text, MAX_XML_DEPTH) : null;
  if (direct) return toReport(direct, body, format, options);
  const candidate = format === 'xml' ? xmlToCandidate(text) : jsonToCandidate(text);
  // An XML report of plain values is read directly; anything else is the schema's to judge and explain.
  const common = format === 'xml' ? readCommonReport(candidate) : null;
  if (common) return toReport(common, body, format, options);
  const parsed = incomingReportSchema.safeParse(candidate);
  if (!parsed.success) throw reportError(describeIssues(parsed.error.issues, format));
  return toReport(parsed.data, body, format, options);
}

/** A report that cannot be read: the agent is told why, in English. */
function reportError(reason: string): InputError {
  return new InputError('report', { reason }, reason);
}

// ---------------------------------------------------------------- decoding

const ENCODINGS: Record<string, string> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'windows-1251': 'windows-1251',
  cp1251: 'windows-1251',
};

function decode(body: Buffer, format: ReportFormat, charset: string | undefined): string {
  let label = charset?.toLowerCase();
  if (!label && format === 'xml') {
    // The declaration is ASCII in every encoding we accept, so it can be read before decoding.
    const declaration = /^(?:\uFEFF|\xEF\xBB\xBF)?<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(
      body.subarray(0, 200).toString('latin1'),
    );
    label = declaration?.[1]?.toLowerCase();
  }
  const encoding = ENCODINGS[label ?? 'utf-8'];
  if (!encoding) throw reportError(`unsupported character encoding "${label}": send UTF-8 (or windows-1251)`);
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    throw reportError(`the body is not valid ${encoding.toUpperCase()} text`);
  }
}

// ---------------------------------------------------------------- XML

/** Reports are two levels deep; deeper elements are tolerated (newer agents) but not without end. */
const MAX_XML_DEPTH = 32;
/** What the report element carries as attributes rather than child elements. */
const REPORT_ATTRIBUTES = new Set(['version', 'id', 'generatedAt']);
/** Second-level elements the schema reads; any other is skipped without being collected, however many there are. */
const KNOWN_ELEMENTS = new Set(Object.keys(incomingReportSchema.shape).filter((key) => !REPORT_ATTRIBUTES.has(key)));
/** A known element given twice is already wrong (the schema says so by name): more copies are not collected. */
const MAX_COPIES = 2;
/** Elements a report repeats, with how many copies are collected (one more than the schema takes, so it says "more than"). */
const REPEATED: Record<string, number> = { database: MAX_DATABASES + 1 };

/**
 * Read the report element's attributes and each known child element's
 * attributes in one pass: of the plain reader for what agents send
 * (intake/xml-plain.ts), else of a strict (well-formedness checking)
 * streaming parser; no document tree is built, and the work grows with the body, never
 * faster. Text, deeper elements and unknown elements are ignored, so newer
 * agents may add them; a known element given twice becomes a list, which the
 * schema refuses by name.
 */
export function xmlToCandidate(xml: string): unknown {
  // What agents send is read without the full parser; anything else, and every error, is saxes's.
  const plain = new CandidateBuilder();
  if (readPlainXml(xml, MAX_XML_DEPTH, (name, attributes, depth) => plain.open(name, attributes, depth))) return plain.finish();
  return xmlToCandidateWithSaxes(xml);
}

/** The same, always with the full parser: for the test that holds the plain reader to it. */
export function xmlToCandidateWithSaxes(xml: string): unknown {
  const parser = new SaxesParser();
  // Refused as soon as the parser meets one (entities are declared only inside it, so none is ever expanded);
  // the same words inside a comment or CDATA are text, not a declaration.
  parser.on('doctype', () => {
    throw reportError('DOCTYPE and entity declarations are not allowed in reports');
  });
  const builder = new CandidateBuilder();
  let depth = 0;
  parser.on('error', (err) => {
    throw reportError(`malformed XML at line ${parser.line}, column ${parser.column + 1}: ${err.message.replace(/^\d+:\d+: /, '')}`);
  });
  parser.on('opentag', (tag) => {
    if (++depth > MAX_XML_DEPTH) throw reportError(`elements are nested more than ${MAX_XML_DEPTH} deep (line ${parser.line}); a report is flat`);
    builder.open(tag.name, tag.attributes, depth);
  });
  parser.on('closetag', () => {
    depth--;
  });
  parser.write(xml).close();
  return builder.finish();
}

/** The candidate for the schema, from the start tags of a document in order. */
class CandidateBuilder {
  private candidate: Record<string, unknown> | null = null;
  private rootName: string | null = null;

  open(name: string, attributes: Record<string, string>, depth: number): void {
    const candidate = this.candidate;
    if (depth === 1) {
      this.rootName = name;
      this.candidate = attributesOf(name, attributes);
    } else if (depth === 2 && candidate && KNOWN_ELEMENTS.has(name)) {
      const existing = candidate[name];
      if (existing === undefined) candidate[name] = attributesOf(name, attributes);
      else if (!Array.isArray(existing)) candidate[name] = [existing, attributesOf(name, attributes)];
      else if (existing.length < (REPEATED[name] ?? MAX_COPIES)) existing.push(attributesOf(name, attributes));
    }
  }

  finish(): Record<string, unknown> {
    if (this.rootName !== 'report') throw reportError(`the root element must be <report>, got <${this.rootName ?? 'nothing'}>`);
    return this.candidate ?? {};
  }
}

/**
 * Attribute names become the schema's keys (`generated-at` → `generatedAt`);
 * the object has no prototype to pollute. Both spellings of one name in one
 * element (`daily-update` and `dailyUpdate`) are refused: neither may silently win.
 */
function attributesOf(element: string, attributes: Record<string, string>): Record<string, unknown> {
  const result: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const name in attributes) {
    const key = attributeKey(name);
    if (key in result) {
      const earlier = Object.keys(attributes).find((other) => other !== name && attributeKey(other) === key)!;
      throw reportError(`<${element}>: ${earlier} and ${name} are the same attribute; give it once`);
    }
    result[key] = attributes[name];
  }
  return result;
}

// ---------------------------------------------------------------- JSON

function jsonToCandidate(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch (err) {
    throw reportError(`malformed JSON: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------- validation messages

function describeIssues(issues: readonly z.core.$ZodIssue[], format: ReportFormat): string {
  const shown = issues.slice(0, 3).map((issue) => `${fieldName(issue.path, format)}: ${issue.message}`);
  if (issues.length > 3) shown.push(`and ${issues.length - 3} more`);
  return `invalid report: ${shown.join('; ')}`;
}

function fieldName(path: readonly PropertyKey[], format: ReportFormat): string {
  const names = path.map(String);
  if (format === 'json') return names.join('.') || 'the document';
  const [first, second, third] = names;
  if (first === undefined) return 'the document';
  // A repeated element is named with its place among its kind: <database license-expires> #3.
  if (second !== undefined && /^\d+$/.test(second)) return `<${first}${third === undefined ? '' : ` ${attributeName(third)}`}> #${Number(second) + 1}`;
  if (['version', 'id', 'generatedAt'].includes(first)) return `<report ${attributeName(first)}>`;
  return second === undefined ? `<${first}>` : `<${first} ${attributeName(second)}>`;
}

// ---------------------------------------------------------------- to the domain

/** The names a report's own dates go by in messages, by format: worked out once, not for every report. */
const DATE_FIELDS: Record<ReportFormat, { operapDate: string; generatedAt: string }> = {
  xml: { operapDate: fieldName(['update', 'operapDate'], 'xml'), generatedAt: fieldName(['generatedAt'], 'xml') },
  json: { operapDate: fieldName(['update', 'operapDate'], 'json'), generatedAt: fieldName(['generatedAt'], 'json') },
};

function setFact<K extends keyof ReportFacts>(facts: ReportFacts, key: K, value: ReportFacts[K] | null | undefined): void {
  if (value !== null && value !== undefined) facts[key] = value;
}

function toReport(input: IncomingReport, body: Buffer, format: ReportFormat, options: ParseOptions): AgentReport {
  const facts: ReportFacts = {};

  setFact(facts, 'shellVersion', input.shell?.version?.trim());
  setFact(facts, 'updateNumber', input.update?.number);
  if (input.update?.operapDate != null) {
    setFact(facts, 'operapDate', readDate(input.update.operapDate, DATE_FIELDS[format].operapDate, options));
  }
  setFact(facts, 'serviceState', input.service?.state);
  setFact(facts, 'serviceAccount', input.service?.account);
  setFact(facts, 'senselockState', input.senselock?.state);
  setFact(facts, 'kitAssembled', input.kit?.assembled);
  setFact(facts, 'dailyUpdate', input.kit?.dailyUpdate);
  setFact(facts, 'copybaseweb', input.kit?.copybaseweb);
  setFact(facts, 'storagePath', input.storage?.path);
  setFact(facts, 'storageReachable', input.storage?.reachable);
  setFact(facts, 'licenseLimit', input.license?.limit);
  setFact(facts, 'licensePeak', input.license?.peak);
  setFact(facts, 'licenseExhausted', input.license?.exhausted);
  // <seats> says the same as <license> in the words of the issue that brought it; it wins when both are given.
  setFact(facts, 'licenseLimit', input.seats?.licensed);
  setFact(facts, 'licenseExhausted', input.seats?.refused);
  setFact(facts, 'seatsUsed', input.seats?.used);
  // Seats in use are a peak at least: they feed the sales signals when no peak is reported.
  if (facts.licensePeak === undefined) setFact(facts, 'licensePeak', input.seats?.used);
  if (input.database) {
    facts.databases = input.database.map((db, i) => ({
      name: db.name.trim(),
      ...(db.update != null ? { updateNumber: db.update } : {}),
      ...(db.licenseExpires != null ? { licenseExpires: readDate(db.licenseExpires, fieldName(['database', String(i), 'licenseExpires'], format), options) } : {}),
      errors: [...new Set(db.errors ?? [])],
    }));
  }
  setFact(facts, 'licmanHost', input.licman?.host?.trim());
  setFact(facts, 'licmanPort', input.licman?.port);
  setFact(facts, 'licmanState', input.licman?.state);
  setFact(facts, 'serverState', input.server?.state);
  // A server element without a message clears the one an earlier report gave.
  if (input.server) setFact(facts, 'serverMessage', input.server.message?.trim() ?? '');

  const generatedAt = input.generatedAt == null ? null : readInstant(input.generatedAt, DATE_FIELDS[format].generatedAt, options);

  return {
    // Without an id every arrival counts, even with the same content: the agent has no way to say "this is a repeat".
    reportId: input.id?.trim() ?? `auto:${randomUUID()}`,
    contentHash: hash('sha256', body, 'hex').slice(0, 32),
    formatVersion: input.version ?? 1,
    generatedAt,
    facts,
  };
}

/** A full ISO 8601 time with an offset needs no time-zone rules: the common case, read without luxon. */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
/** The time of day in any accepted form, and a numeric offset at the end. */
const TIME_OF_DAY = /(?:T|\s)(\d{1,2}):(\d{2})(?::(\d{2}))?/;
const OFFSET = /([+-])(\d{2}):?(\d{2})$/;
/** Real offsets run from −12:00 to +14:00. */
const MAX_OFFSET_MINUTES = 14 * 60;

function readInstant(value: string, field: string, options: ParseOptions): Date {
  const trimmed = value.trim();
  checkClockFields(trimmed, field);
  if (ISO_WITH_OFFSET.test(trimmed)) {
    const ms = Date.parse(trimmed);
    if (!Number.isNaN(ms)) {
      checkRange(ms, field);
      return new Date(ms);
    }
  }
  return readDateTime(trimmed, field, options).toJSDate();
}

/**
 * Parsers are lenient where a report must not be: 24:00 is read as the next
 * day (2099-12-31T24:00 would become 2100) and an offset of +99:99 is taken.
 * Hours run 0–23, minutes and seconds 0–59, offsets up to ±14:00.
 */
function checkClockFields(value: string, field: string): void {
  const time = TIME_OF_DAY.exec(value);
  if (time && (Number(time[1]) > 23 || Number(time[2]) > 59 || Number(time[3] ?? 0) > 59)) {
    throw reportError(`invalid report: ${field}: ${JSON.stringify(time[0].slice(1))} is not a time of day (00:00 to 23:59:59)`);
  }
  const offset = time ? OFFSET.exec(value.slice(time.index + time[0].length)) : null;
  if (offset && (Number(offset[3]) > 59 || Number(offset[2]) * 60 + Number(offset[3]) > MAX_OFFSET_MINUTES)) {
    throw reportError(`invalid report: ${field}: the offset ${offset[0]} is not a time zone's (−12:00 to +14:00)`);
  }
}

function readDateTime(value: string, field: string, options: ParseOptions): DateTime {
  const trimmed = value.trim();
  checkClockFields(trimmed, field);
  const zone = { zone: options.tz, setZone: true };
  let parsed = DateTime.fromISO(trimmed, zone);
  if (!parsed.isValid) parsed = DateTime.fromSQL(trimmed, zone);
  if (!parsed.isValid) parsed = DateTime.fromFormat(trimmed, 'dd.MM.yyyy HH:mm:ss', zone);
  if (!parsed.isValid) parsed = DateTime.fromFormat(trimmed, 'dd.MM.yyyy', zone);
  if (!parsed.isValid) {
    throw reportError(`invalid report: ${field}: expected a date such as 2023-02-15T09:12:00+03:00, got ${JSON.stringify(trimmed)}`);
  }
  checkRange(parsed.toMillis(), field);
  return parsed;
}

function readDate(value: string, field: string, options: ParseOptions): string {
  const trimmed = value.trim();
  const plain = utcDateMs(trimmed);
  if (plain !== null) {
    checkRange(plain, field);
    return trimmed;
  }
  return readDateTime(trimmed, field, options).toISODate() as string;
}

function checkRange(ms: number, field: string): void {
  if (ms < EARLIEST) throw reportError(`invalid report: ${field}: ${isoDay(ms)} is before 1990`);
  if (ms >= LATEST) throw reportError(`invalid report: ${field}: ${isoDay(ms)} is after 2100`);
}

/** The UTC day of a moment, its year always in four digits (toISOString gives ±YYYYYY far out). */
function isoDay(ms: number): string {
  const date = new Date(ms);
  return `${String(date.getUTCFullYear()).padStart(4, '0')}-${String(date.getUTCMonth() + 1).padStart(2, '0')}-${String(date.getUTCDate()).padStart(2, '0')}`;
}
