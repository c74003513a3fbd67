import { DateTime } from 'luxon';
import { z } from 'zod';
import { SENSELOCK_STATES, type DatabaseFacts, type ReportFacts, type SenselockState } from './report.ts';
import { isVersion } from './versions.ts';

/**
 * The sysinfo's schema is not published, so what dozor reads from it is a
 * mapping from element paths to state fields, kept in a file a distributor
 * can complete from a real sysinfo (`dozor sysinfo inspect`). A path names
 * elements from the document's root, `/` between them, `*` for any one
 * element; it ends in an element (its text) or in `@name` (an attribute):
 * `sysinfo/server/version` or `sysinfo/server/@version`.
 */
export const SYSINFO_FIELDS = [
  'generatedAt',
  'shellVersion',
  'updateNumber',
  'operapDate',
  'senselockState',
  'licenseLimit',
  'licensePeak',
  'seatsUsed',
  'databaseName',
  'databaseUpdate',
  'databaseLicenseExpires',
  'databaseErrors',
] as const;
/** Fields read per database: each value belongs to the `databaseElement` it was found in. */
export const DATABASE_FIELDS = ['databaseName', 'databaseUpdate', 'databaseLicenseExpires', 'databaseErrors'] as const satisfies readonly SysinfoField[];
export type SysinfoField = (typeof SYSINFO_FIELDS)[number];

/** What each field is and how its value is read, for `dozor sysinfo inspect` and the mapping file's readers. */
export const SYSINFO_FIELD_MEANINGS: Record<SysinfoField, string> = {
  generatedAt: 'when the Kodeks server made the sysinfo (date and time; the first value)',
  shellVersion: 'версия ПК: the first value holding a version such as 6.4.5.127',
  updateNumber: 'номер обновления: the first whole number',
  operapDate: 'the last оперативное пополнение: the latest of all dates found (one per operap file, say)',
  senselockState: 'the SenseLock key: the first value, translated by senselockStates',
  licenseLimit: 'online licence limit (concurrent users): the first whole number',
  licensePeak: 'peak concurrent users: the first whole number',
  seatsUsed: 'seats in use: the first whole number',
  databaseName: 'a database\'s name, inside databaseElement (one database per element)',
  databaseUpdate: 'its update number: the first whole number inside the element',
  databaseLicenseExpires: 'the last day of its licence: the first date inside the element',
  databaseErrors: 'its Kodeks error codes: every whole number inside the element (one per value, or several separated by spaces or commas)',
};

const PATH_SEGMENT = /^(\*|[\p{L}_][\p{L}\p{N}_.:-]*)$/u;

/** A path as the mapping file writes it, checked; the reason when it is not one. */
export function checkMappingPath(path: string): string | null {
  const segments = path.split('/');
  const last = segments.at(-1)!;
  const elements = last.startsWith('@') ? segments.slice(0, -1) : segments;
  if (elements.length === 0) return 'names no element';
  if (last.startsWith('@') && !PATH_SEGMENT.test(last.slice(1))) return `"${last}" is not an attribute name`;
  const bad = elements.find((segment) => !PATH_SEGMENT.test(segment));
  return bad === undefined ? null : `"${bad}" is not an element name (or *)`;
}

const mappingPath = z.string().superRefine((path, ctx) => {
  const problem = checkMappingPath(path);
  if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(path)} ${problem}` });
});

/**
 * A database field's path in full: one that does not start with the
 * databaseElement's own path is inside it (`@name`, `license/@till`), as
 * docs/sysinfo.md says the fields lie; the full form (`sysinfo/bases/base/@name`), or
 * the element itself, is kept as written.
 */
export function fullDatabasePath(databaseElement: string, path: string): string {
  return path === databaseElement || path.startsWith(`${databaseElement}/`) ? path : `${databaseElement}/${path}`;
}

/** A database field's path, full or relative to databaseElement: checked as it will be read, inside some element. */
const databasePath = z.string().superRefine((path, ctx) => {
  const problem = checkMappingPath(`element/${path}`);
  if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(path)} ${problem}` });
});
const isDatabaseField = (field: SysinfoField) => (DATABASE_FIELDS as readonly SysinfoField[]).includes(field);

export const sysinfoMappingSchema = z
  .object({
    about: z.string().optional(),
    /** The element that holds one database (its name, licence term, errors): `sysinfo/bases/base`, say. */
    databaseElement: mappingPath.optional(),
    fields: z.strictObject(
      Object.fromEntries(SYSINFO_FIELDS.map((field) => [field, z.array(isDatabaseField(field) ? databasePath : mappingPath).max(50).default([])])) as Record<
        SysinfoField,
        z.ZodDefault<z.ZodArray<typeof mappingPath>>
      >,
    ),
    /** The values that mean each SenseLock state, compared without regard to case or surrounding spaces. */
    senselockStates: z.strictObject(Object.fromEntries(SENSELOCK_STATES.map((state) => [state, z.array(z.string().min(1)).default([])])) as Record<SenselockState, z.ZodDefault<z.ZodArray<z.ZodString>>>).default({ ok: [], lost: [], absent: [] }),
  })
  .strict()
  .superRefine((mapping, ctx) => {
    // A database's values are told apart by the element they sit in: their paths lie inside it.
    for (const field of DATABASE_FIELDS) {
      if (mapping.fields[field].length > 0 && !mapping.databaseElement) ctx.addIssue({ code: 'custom', path: ['fields', field], message: 'needs databaseElement, the element that holds one database' });
    }
  })
  // From here on every path is written in full: the reader, inspect and reparse see one form.
  .transform((mapping) => {
    const element = mapping.databaseElement;
    if (!element) return mapping;
    const fields = { ...mapping.fields };
    for (const field of DATABASE_FIELDS) fields[field] = fields[field].map((path) => fullDatabasePath(element, path));
    return { ...mapping, fields };
  });

export type SysinfoMapping = z.output<typeof sysinfoMappingSchema>;

/** Whether a mapping reads licence end dates at all (a database is only one with a name). */
export const readsLicenceDates = (mapping: SysinfoMapping) => mapping.fields.databaseLicenseExpires.length > 0 && mapping.fields.databaseName.length > 0;

/** A mapping that reads nothing: the document need not be opened at all. */
export const isEmptyMapping = (mapping: SysinfoMapping) => SYSINFO_FIELDS.every((field) => mapping.fields[field].length === 0);

const MAX_CACHED_PATHS = 50_000;

/** Element and attribute paths as the reader meets them (`a/b/c`, `a/b/c/@x`), matched to the fields they feed. */
export class MappingMatcher {
  private readonly patterns: { field: SysinfoField; path: string; regex: RegExp }[];
  private readonly cache = new Map<string, readonly { field: SysinfoField; path: string }[]>();
  private readonly database: RegExp | null;

  constructor(mapping: SysinfoMapping) {
    this.patterns = SYSINFO_FIELDS.flatMap((field) => mapping.fields[field].map((path) => ({ field, path, regex: pathPattern(path) })));
    this.database = mapping.databaseElement ? pathPattern(mapping.databaseElement) : null;
  }

  /** Whether an element path is the one that holds a database (each such element is one database). */
  isDatabase(path: string): boolean {
    return this.database?.test(path) ?? false;
  }

  /** The fields a path feeds (cached: a document repeats a few hundred distinct paths many times). */
  match(path: string): readonly { field: SysinfoField; path: string }[] {
    let found = this.cache.get(path);
    if (found === undefined) {
      found = this.patterns.filter((pattern) => pattern.regex.test(path)).map(({ field, path: mapped }) => ({ field, path: mapped }));
      // Documents from outside could name paths without end: the cache starts over rather than grow.
      if (this.cache.size >= MAX_CACHED_PATHS) this.cache.clear();
      this.cache.set(path, found);
    }
    return found;
  }
}

function pathPattern(path: string): RegExp {
  return new RegExp(`^${path.split('/').map((segment) => (segment === '*' ? '[^/@]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`);
}

/** A value found at a mapped path. */
export interface FoundValue {
  path: string;
  value: string;
  /** Which database element it was found in (counted through the whole file), for database fields. */
  database?: number;
}

/** Something in a stored sysinfo that could not be read, as data: each reader says it in its own words. */
export type ReadingProblem =
  /** The file would not open at all. */
  | { kind: 'unopenable'; error: string }
  /** One document in it could not be read (the reader's English reason). */
  | { kind: 'document'; name: string; error: string }
  | { kind: 'noXml' }
  /** A value at a mapped path that is not what its field holds. */
  | { kind: 'value'; field: SysinfoField; value: string; path: string }
  | { kind: 'noMapping' };

/** What reading a stored sysinfo gave, kept with the upload: the fields read, and what could not be read. */
export interface UploadReading {
  /** Fields read, with their values as read. */
  fields: Partial<Record<SysinfoField, string>>;
  /** Documents that could not be read, and values that could not be read as their field (plain English text in readings stored before 0.15). */
  problems: (ReadingProblem | string)[];
}

export interface SysinfoFacts {
  facts: ReportFacts;
  /** When the Kodeks server made it, if the mapping says where that is written. */
  generatedAt: Date | null;
  /** What each field was read as, and from where (for `inspect`). */
  extracted: { field: SysinfoField; value: string; path: string }[];
  /** Values found that could not be read as their field (said, never guessed). */
  unreadable: { field: SysinfoField; value: string; path: string }[];
}

const DATE_FORMATS = ['dd.MM.yyyy HH:mm:ss', 'dd.MM.yyyy HH:mm', 'dd.MM.yyyy'];

function readDateTime(value: string, tz: string): DateTime | null {
  const text = value.trim();
  const zone = { zone: tz };
  let parsed = DateTime.fromISO(text, zone);
  if (!parsed.isValid) parsed = DateTime.fromSQL(text, zone);
  for (const format of DATE_FORMATS) if (!parsed.isValid) parsed = DateTime.fromFormat(text, format, zone);
  return parsed.isValid && parsed.year >= 1990 && parsed.year < 2100 ? parsed : null;
}

function readWhole(value: string): number | null {
  const match = /^\s*(\d{1,9})\b/.exec(value);
  return match ? Number(match[1]) : null;
}

function readVersion(value: string): string | null {
  const match = /\d+(?:\.\d+){1,3}/.exec(value);
  return match && isVersion(match[0]) ? match[0] : null;
}

/** Turn the values found at mapped paths into state facts, in the installation's time zone for dates without an offset. */
export function factsFromSysinfo(mapping: SysinfoMapping, found: Partial<Record<SysinfoField, FoundValue[]>>, tz: string): SysinfoFacts {
  const result: SysinfoFacts = { facts: {}, generatedAt: null, extracted: [], unreadable: [] };
  const first = <T>(field: SysinfoField, read: (value: string) => T | null): { value: T; from: FoundValue } | null => {
    for (const candidate of found[field] ?? []) {
      const value = read(candidate.value);
      if (value !== null) return { value, from: candidate };
      result.unreadable.push({ field, value: candidate.value, path: candidate.path });
    }
    return null;
  };
  const note = (field: SysinfoField, value: string | number, from: FoundValue) => result.extracted.push({ field, value: String(value), path: from.path });

  const generated = first('generatedAt', (value) => readDateTime(value, tz));
  if (generated) {
    result.generatedAt = generated.value.toJSDate();
    note('generatedAt', generated.value.toISO()!, generated.from);
  }
  const version = first('shellVersion', readVersion);
  if (version) {
    result.facts.shellVersion = version.value;
    note('shellVersion', version.value, version.from);
  }
  for (const [field, key] of [
    ['updateNumber', 'updateNumber'],
    ['licenseLimit', 'licenseLimit'],
    ['licensePeak', 'licensePeak'],
    ['seatsUsed', 'seatsUsed'],
  ] as const) {
    const number = first(field, readWhole);
    if (number) {
      result.facts[key] = number.value;
      note(field, number.value, number.from);
    }
  }
  // Each operap file has its date: the last operap is the latest of them.
  let latest: { date: string; from: FoundValue } | null = null;
  for (const candidate of found.operapDate ?? []) {
    const date = readDateTime(candidate.value, tz)?.toISODate() ?? null;
    if (date === null) result.unreadable.push({ field: 'operapDate', value: candidate.value, path: candidate.path });
    else if (!latest || date > latest.date) latest = { date, from: candidate };
  }
  if (latest) {
    result.facts.operapDate = latest.date;
    note('operapDate', latest.date, latest.from);
  }
  const databases = databasesFrom(found, tz, (field, from) => result.unreadable.push({ field, value: from.value, path: from.path }));
  if (databases.length > 0) {
    result.facts.databases = databases;
    note('databaseName', databases.map((db) => db.name).join('; '), found.databaseName![0]!);
    // Each database field that gave a value is said too, per database, as the state takes it (inspect and reparse show the same).
    const perDatabase = (field: SysinfoField, read: (db: DatabaseFacts) => string | null) => {
      const values = databases.flatMap((db) => {
        const value = read(db);
        return value === null ? [] : [`${db.name}: ${value}`];
      });
      const from = found[field]?.find((value) => value.database !== undefined);
      if (values.length > 0 && from) note(field, values.join('; '), from);
    };
    perDatabase('databaseUpdate', (db) => (db.updateNumber === undefined ? null : String(db.updateNumber)));
    perDatabase('databaseLicenseExpires', (db) => db.licenseExpires ?? null);
    perDatabase('databaseErrors', (db) => (db.errors.length > 0 ? db.errors.join(', ') : null));
  }
  const states = new Map(SENSELOCK_STATES.flatMap((state) => mapping.senselockStates[state].map((text) => [text.trim().toLowerCase(), state] as const)));
  const senselock = first('senselockState', (value) => states.get(value.trim().toLowerCase()) ?? null);
  if (senselock) {
    result.facts.senselockState = senselock.value;
    note('senselockState', senselock.value, senselock.from);
  }
  return result;
}

/**
 * The databases a sysinfo lists: the values of the database fields grouped by
 * the element they were found in. An element without a name is no database;
 * a value that cannot be read as its field is said, never guessed.
 */
function databasesFrom(
  found: Partial<Record<SysinfoField, FoundValue[]>>,
  tz: string,
  unreadable: (field: SysinfoField, from: FoundValue) => void,
): DatabaseFacts[] {
  const byElement = new Map<number, DatabaseFacts & { named: boolean }>();
  const of = (value: FoundValue) => {
    let db = byElement.get(value.database!);
    if (!db) byElement.set(value.database!, (db = { name: '', errors: [], named: false }));
    return db;
  };
  const each = (field: SysinfoField, read: (db: DatabaseFacts & { named: boolean }, value: FoundValue) => boolean) => {
    for (const value of found[field] ?? []) if (value.database !== undefined && !read(of(value), value)) unreadable(field, value);
  };
  each('databaseName', (db, { value }) => {
    if (!db.named && value.trim()) Object.assign(db, { name: value.trim().slice(0, 200), named: true });
    return value.trim() !== '';
  });
  each('databaseUpdate', (db, { value }) => {
    const number = readWhole(value);
    if (number !== null && db.updateNumber === undefined) db.updateNumber = number;
    return number !== null;
  });
  each('databaseLicenseExpires', (db, { value }) => {
    const date = readDateTime(value, tz)?.toISODate() ?? null;
    if (date !== null && db.licenseExpires === undefined) db.licenseExpires = date;
    return date !== null;
  });
  each('databaseErrors', (db, { value }) => {
    const codes = value.split(/[\s,;]+/).filter((code) => code !== '');
    if (codes.length === 0 || !codes.every((code) => /^\d{1,6}$/.test(code))) return false;
    for (const code of codes.map(Number)) if (!db.errors.includes(code) && db.errors.length < 100) db.errors.push(code);
    return true;
  });
  return [...byElement.values()].filter((db) => db.named).map(({ named: _named, ...db }) => db);
}
