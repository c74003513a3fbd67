import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import type { FieldCode, FieldProblem, Subject } from '../core/errors.ts';
import { UNSAFE_CHARS } from '../core/text.ts';
import { proxyAddressProblem, webAddressProblem, type WebAddressProblem } from '../core/web-address.ts';
import { inputError } from '../i18n/index.ts';
import { INSTALLATION_KINDS, USER_ROLES } from '../db/schema.ts';

/**
 * Field rules shared by the CLI, the CSV import and the bot's admin dialogues.
 * Each refusal is a field code (see `core/errors.ts`); the catalogues word it.
 */
const code = (value: FieldCode) => value;

/** A name is one line of visible text. */
const safeName = (value: string) => !UNSAFE_CHARS.test(value) && !/[\t\n\r]/.test(value);

export const displayName = (max: number) =>
  z
    .string({ error: code('required') })
    .trim()
    .min(1, { error: code('empty') })
    .max(max, { error: code('tooLong') })
    .refine(safeName, { error: code('controlChars') });

export const telegramUserId = z.coerce
  .number({ error: code('telegramUserId') })
  .int({ error: code('telegramUserId') })
  .positive({ error: code('telegramUserId') })
  .max(Number.MAX_SAFE_INTEGER, { error: code('telegramIdTooLarge') });

export const telegramChatId = z.coerce
  .number({ error: code('telegramChatId') })
  .int({ error: code('telegramChatId') })
  .refine((id) => id !== 0 && Math.abs(id) <= Number.MAX_SAFE_INTEGER, { error: code('telegramChatId') });

export const role = z.enum(USER_ROLES, { error: code('role') });
export const kind = z.enum(INSTALLATION_KINDS, { error: code('kind') });

/** ИНН: 10 digits for organisations, 12 for individual entrepreneurs. */
export const inn = z
  .string()
  .trim()
  .regex(/^(\d{10}|\d{12})$/, { error: code('inn') });

export const hostName = z
  .string()
  .trim()
  .toLowerCase()
  .refine(
    (host) => {
      const ascii = domainToASCII(host);
      return ascii.length > 0 && ascii.length <= 253 && /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(ascii);
    },
    { error: code('hostName') },
  );

export const ipAddress = z
  .string()
  .trim()
  .refine((ip) => isIP(ip) !== 0, { error: code('ipAddress') });

const ADDRESS_CODES = { notUrl: 'webUrl', unsafe: 'urlUnsafe', credentials: 'urlCredentials' } as const satisfies Record<WebAddressProblem, FieldCode>;

/** An http(s) address safe to write into a script and hand to curl (core/web-address.ts). */
export const webUrl = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const problem = webAddressProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: code(ADDRESS_CODES[problem]) });
  });

export const timeZone = z
  .string()
  .trim()
  .refine((tz) => IANAZone.isValidZone(tz), { error: code('timeZone') });

/** The base name an installation's files are uploaded under with a fleet token (SMART's `<CLIENT>`): Latin, matched regardless of case. */
export const UPLOAD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const uploadName = z.string().trim().regex(UPLOAD_NAME, { error: code('uploadName') });

/** A proxy as curl takes it: host:port, optionally written as an http:// address; no user name or password. */
export const hostPort = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const problem = proxyAddressProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: code(problem === 'credentials' ? 'urlCredentials' : 'hostPort') });
  });

/** A setting written into a script: one line of text, no control characters. */
export const scriptSetting = (max: number) =>
  z
    .string()
    .min(1, { error: code('empty') })
    .max(max, { error: code('tooLong') })
    .refine((value) => !UNSAFE_CHARS.test(value) && !/[\0\t\n\r]/.test(value), { error: code('controlChars') });

const FIELD_CODES = new Set<string>([
  'required', 'empty', 'tooLong', 'controlChars', 'telegramUserId', 'telegramIdTooLarge', 'telegramChatId',
  'role', 'kind', 'inn', 'hostName', 'ipAddress', 'webUrl', 'timeZone', 'uploadName', 'hostPort', 'urlUnsafe', 'urlCredentials',
] satisfies FieldCode[]);

/** Validate `input`, or throw an InputError listing every field that is wrong. */
export function validate<T extends z.ZodType>(schema: T, input: unknown, subject: Subject): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue): FieldProblem => {
    const field = issue.path.map(String).join('.');
    // A value of the wrong type altogether (a number where text goes) is refused like a missing one.
    const fieldCode = FIELD_CODES.has(issue.message) ? (issue.message as FieldCode) : 'required';
    return issue.code === 'too_big' ? { field, code: fieldCode, max: Number(issue.maximum) } : { field, code: fieldCode };
  });
  throw inputError('invalid', { subject, problems });
}
