import { z } from 'zod';
import { LICMAN_STATES, SENSELOCK_STATES, SERVER_STATES, SERVICE_ACCOUNTS, SERVICE_STATES } from '../core/report.ts';
import { UNSAFE_CHARS } from '../core/text.ts';

/**
 * The report as it arrives, before dates are read in the installation's time
 * zone. XML gives every value as a string, JSON gives typed values; both are
 * accepted for every field. Unknown keys are dropped, so newer agents do not
 * break older servers. `null` (JSON) means "not reported", like a missing key.
 */

/** A value as an error message shows it: short, whatever it is (a huge array or an object with its own `toString` included). */
const shown = (input: unknown): string => {
  if (typeof input === 'string') return JSON.stringify(input.slice(0, 80));
  if (Array.isArray(input)) return `a list of ${input.length}`;
  if (input === null) return 'null';
  if (typeof input === 'object') return 'an object';
  return String(input).slice(0, 80);
};

const bool = z.union(
  [z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')],
  { error: (issue) => `expected true or false, got ${shown(issue.input)}` },
);

const count = (max: number) =>
  z.union(
    [z.number(), z.string().regex(/^\s*\d+\s*$/).transform(Number)],
    { error: (issue) => `expected a whole number, got ${shown(issue.input)}` },
  ).pipe(
    z
      .number()
      .int({ error: (issue) => `expected a whole number, got ${shown(issue.input)}` })
      .min(0, { error: (issue) => `expected 0 or more, got ${shown(issue.input)}` })
      .max(max, { error: (issue) => `expected at most ${max}, got ${shown(issue.input)}` }),
  );

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
    z.enum(values, { error: (issue) => `expected one of ${values.join(', ')}, got ${shown(issue.input)}` }),
  );

const text = (max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : `expected text, got ${shown(issue.input)}`) })
    .max(max, { error: `longer than ${max} characters` })
    // Control characters and invisible reordering marks have no business in a report and would garble or disguise messages.
    .refine((value) => !UNSAFE_CHARS.test(value), { error: 'contains control characters or invisible formatting marks' });

const dateText = text(40).regex(/\S/, { error: 'is empty' });

const section = <T extends z.ZodRawShape>(shape: T) =>
  z
    .object(shape, {
      error: (issue) =>
        Array.isArray(issue.input) ? 'appears more than once' : `expected an element/object, got ${shown(issue.input)}`,
    })
    .nullish();

const opt = <T extends z.ZodType>(schema: T) => schema.nullish();

/** The most databases one report lists (a large server has a few dozen). */
export const MAX_DATABASES = 500;
export const MAX_ERROR_CODES = 100;

/** Kodeks error codes: "4111 696" (spaces or commas between) in XML, a list of numbers or such a string in JSON. */
const errorCodes = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(/[\s,;]+/).filter((code) => code !== '') : v),
  z
    .array(count(999_999), { error: (issue) => `expected error codes such as "4111 696", got ${shown(issue.input)}` })
    .max(MAX_ERROR_CODES, { error: `more than ${MAX_ERROR_CODES} error codes` }),
);

/** An element that may be given many times (XML) or a list (JSON); one given once is a list of one. */
const repeated = <T extends z.ZodType>(item: T, max: number) =>
  z.preprocess(
    (v) => (v === null || v === undefined || Array.isArray(v) ? v : [v]),
    z.array(item).max(max, { error: `more than ${max} given` }).nullish(),
  );

const database = z.object(
  {
    name: text(200).regex(/\S/, { error: 'is empty' }),
    update: opt(count(1_000_000_000)),
    licenseExpires: opt(dateText),
    errors: opt(errorCodes),
  },
  { error: (issue) => `expected an element/object, got ${shown(issue.input)}` },
);

/** A licence manager's address: a host name or an IP address, as the server has it configured. */
const licmanHost = text(255).regex(/^[A-Za-z0-9._:[\]-]+$/, { error: (issue) => `expected a host name or IP address, got ${shown(issue.input)}` });

export const incomingReportSchema = z.object(
  {
    version: opt(count(1_000)),
    id: opt(text(200).regex(/\S/, { error: 'is empty' })),
    generatedAt: opt(dateText),
    shell: section({
      version: opt(
        text(40).regex(/^\s*\d{1,6}(\.\d{1,9}){0,5}\s*$/, {
          error: (issue) => `expected a version such as 6.4.3.59, got ${shown(issue.input)}`,
        }),
      ),
    }),
    update: section({ number: opt(count(1_000_000_000)), operapDate: opt(dateText) }),
    service: section({ state: opt(oneOf(SERVICE_STATES)), account: opt(oneOf(SERVICE_ACCOUNTS)) }),
    senselock: section({ state: opt(oneOf(SENSELOCK_STATES)) }),
    kit: section({ assembled: opt(bool), dailyUpdate: opt(bool), copybaseweb: opt(bool) }),
    storage: section({ path: opt(text(1_000)), reachable: opt(bool) }),
    license: section({ limit: opt(count(1_000_000)), peak: opt(count(1_000_000)), exhausted: opt(count(1_000_000)) }),
    seats: section({ licensed: opt(count(1_000_000)), used: opt(count(1_000_000)), refused: opt(count(1_000_000)) }),
    database: repeated(database, MAX_DATABASES),
    licman: section({ host: opt(licmanHost), port: opt(count(65_535)), state: opt(oneOf(LICMAN_STATES)) }),
    server: section({ state: opt(oneOf(SERVER_STATES)), message: opt(text(500)) }),
  },
  { error: (issue) => `expected a report object, got ${shown(issue.input)}` },
);

export type IncomingReport = z.infer<typeof incomingReportSchema>;
