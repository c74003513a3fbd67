import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { InputError } from '../core/errors.ts';
import { INSTALLATION_KINDS, USER_ROLES } from '../db/schema.ts';

/** Field rules shared by the CLI, the CSV import and (later) the bot's admin dialogues. */

const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;

export const displayName = (max: number) =>
  z
    .string({ error: 'is required' })
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` })
    .regex(NO_CONTROL_CHARS, { error: 'must not contain control characters' });

export const telegramUserId = z.coerce
  .number({ error: 'expected a Telegram user id (a positive number)' })
  .int({ error: 'expected a Telegram user id (a positive whole number)' })
  .positive({ error: 'expected a Telegram user id (a positive number)' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'is too large for a Telegram id' });

export const telegramChatId = z.coerce
  .number({ error: 'expected a Telegram chat id such as -1001234567890' })
  .int({ error: 'expected a Telegram chat id such as -1001234567890' })
  .refine((id) => id !== 0 && Math.abs(id) <= Number.MAX_SAFE_INTEGER, {
    error: 'expected a Telegram chat id such as -1001234567890',
  });

export const role = z.enum(USER_ROLES, { error: `expected one of ${USER_ROLES.join(', ')}` });
export const kind = z.enum(INSTALLATION_KINDS, { error: `expected one of ${INSTALLATION_KINDS.join(', ')}` });

/** ИНН: 10 digits for organisations, 12 for individual entrepreneurs. */
export const inn = z
  .string()
  .trim()
  .regex(/^(\d{10}|\d{12})$/, { error: 'expected an INN of 10 or 12 digits' });

export const hostName = z
  .string()
  .trim()
  .toLowerCase()
  .refine(
    (host) => {
      const ascii = domainToASCII(host);
      return ascii.length > 0 && ascii.length <= 253 && /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(ascii);
    },
    { error: 'expected a host name such as romashka.example.ru' },
  );

export const ipAddress = z
  .string()
  .trim()
  .refine((ip) => isIP(ip) !== 0, { error: 'expected an IPv4 or IPv6 address such as 10.1.2.3' });

export const webUrl = z
  .string()
  .trim()
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
      } catch {
        return false;
      }
    },
    { error: 'expected an http:// or https:// address' },
  );

export const timeZone = z
  .string()
  .trim()
  .refine((tz) => IANAZone.isValidZone(tz), { error: 'expected an IANA time zone such as Europe/Moscow' });

/** Validate `input`, or throw an InputError listing every field that is wrong. */
export function validate<T extends z.ZodType>(schema: T, input: unknown, subject: string): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.map(String).join('.');
    return field ? `${field}: ${issue.message}` : issue.message;
  });
  throw new InputError(`invalid ${subject}: ${problems.join('; ')}`);
}
