import { dirname, resolve } from 'node:path';
import { config as loadDotenv } from 'dotenv';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import { parseSubnetList } from '../core/subnets.ts';
import { webAddressProblem } from '../core/web-address.ts';
import { mailAddress } from '../core/mail-address.ts';
import { parseQuietWindow, type QuietWindow } from '../core/quiet-hours.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import type { ClockWatch } from '../core/clock-watch.ts';
import { isValidCron } from '../jobs/scheduler.ts';
import type { WorkingHours } from '../core/working-hours.ts';

/**
 * Every setting comes from the environment (or a `.env` file next to where the
 * service starts). Each variable is documented in the README with its default.
 */
const timeZone = z
  .string()
  .refine((tz) => IANAZone.isValidZone(tz), { error: 'expected an IANA time zone such as Europe/Moscow' });

const cronExpression = z
  .string()
  .trim()
  .refine((expression) => isValidCron(expression), { error: 'expected a cron expression such as "* * * * *"' });

const duration = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30m, 4h or 1d' });
    return z.NEVER;
  }
});

/** A duration, or 0 for none. */
const durationOrNone = z.string().transform((text, ctx) => {
  if (/^\s*0\s*[smhd]?\s*$/.test(text)) return 0;
  try {
    return parseDuration(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30s or 2m, or 0 for none' });
    return z.NEVER;
  }
});

const url = (what: string) =>
  z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          const parsed = new URL(value);
          return parsed.protocol === 'https:' || parsed.protocol === 'http:';
        } catch {
          return false;
        }
      },
      { error: `expected ${what}` },
    );

/** What is wrong with a MAIL_FROM: an address alone, or a plain name and the address in angle brackets. */
function mailFromProblem(value: string): string | null {
  const named = /^([^<>"\r\n]{1,100}?)\s*<([^<>]+)>$/.exec(value);
  return mailAddress(named ? named[2]! : value) === null ? 'not an address' : null;
}

const idList = z.string().transform((text, ctx) => {
  const ids = text.split(/[\s,;]+/).filter(Boolean);
  if (!ids.every((id) => /^\d{1,15}$/.test(id))) {
    ctx.addIssue({ code: 'custom', message: 'expected Telegram user ids separated by commas, such as 111111111,222222222' });
    return z.NEVER;
  }
  return ids.map(Number);
});

const positiveInt = (what: string, max: number) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what} (a whole number)` })
    .min(1, { error: `expected ${what}, at least 1` })
    .max(max, { error: `expected ${what}, at most ${max}` });

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** A size such as 64MiB, 500K or 1048576 (binary units: a megabyte here is 1024 × 1024 bytes). */
const byteSize = z.string().transform((text, ctx) => {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? BYTE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) <= 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a size such as 64MiB, 500KiB or a number of bytes' });
    return z.NEVER;
  }
  return Number(match[1]) * unit;
});

const quietWindow = z.string().transform((text, ctx) => {
  try {
    return parseQuietWindow(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a time window such as 22:00-08:00 (equal ends: none)' });
    return z.NEVER;
  }
});

/** Words to find on a page: a regular expression, matched in any case. */
const pageWords = z.string().transform((text, ctx) => {
  try {
    return new RegExp(text, 'iu');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `expected a regular expression such as "техническ\\w+ работ": ${(err as Error).message}` });
    return z.NEVER;
  }
});

/** A time of day, HH:MM, as minutes after midnight; `off` as null. */
const timeOfDayOrOff = z.string().transform((text, ctx): number | null => {
  if (text.trim().toLowerCase() === 'off') return null;
  const match = /^\s*(\d{1,2}):(\d{2})\s*$/.exec(text);
  if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) {
    ctx.addIssue({ code: 'custom', message: 'expected a time of day such as 07:30, or off' });
    return z.NEVER;
  }
  return Number(match[1]) * 60 + Number(match[2]);
});

const schema = z.object({
  DATABASE_PATH: z.string().trim().min(1, { error: 'expected a file path' }).default('./data/dozor.sqlite'),
  /** PostgreSQL in place of the SQLite file at DATABASE_PATH: what several instances share. */
  DATABASE_URL: z
    .string()
    .trim()
    .refine((value) => /^postgres(ql)?:\/\/[^\s]+$/.test(value) && URL.canParse(value), { error: 'expected a PostgreSQL address such as postgres://dozor:password@db.example.ru:5432/dozor' })
    .optional(),
  /** Connections one instance keeps to PostgreSQL at most. */
  DATABASE_POOL_SIZE: positiveInt('a number of connections', 1000).default(10),
  /** This instance's name among several (in /healthz, /metrics and the logs); host:pid by default. */
  INSTANCE_NAME: z
    .string()
    .trim()
    .regex(/^[\w.:@-]{1,100}$/, { error: 'expected up to 100 letters, digits and . : @ _ -, such as dozor-a' })
    .optional(),
  /** How long a role (sending, polling) stays with an instance that stopped renewing it: another takes over within this plus a third of it. */
  LEASE_TTL: duration.refine((ms) => ms >= 1_000, { error: 'expected at least 1s, such as 15s' }).default(15_000),
  HTTP_HOST: z.string().trim().min(1, { error: 'expected a host name or address' }).default('127.0.0.1'),
  HTTP_PORT: z.coerce
    .number({ error: 'expected a port number' })
    .int({ error: 'expected a whole port number' })
    .min(0, { error: 'expected a port number 0-65535' })
    .max(65535, { error: 'expected a port number 0-65535' })
    .default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DISPLAY_TZ: timeZone.default('Europe/Moscow'),
  CHECK_CRON: cronExpression.default('* * * * *'),
  REMIND_EVERY: duration.default(4 * 3_600_000),
  ESCALATE_AFTER: duration.default(60 * 60_000),
  /** A warning that opens and clears within this long is never sent (criticals go at once). */
  FLAP_HOLD: durationOrNone.default(60_000),
  BOT_TOKEN: z
    .string()
    .trim()
    .regex(/^\d+:[A-Za-z0-9_-]{20,}$/, { error: 'expected a bot token from @BotFather, such as 123456789:AAH…' })
    .optional(),
  TELEGRAM_API_ROOT: url('the address of a Bot API server, such as http://127.0.0.1:8081').optional(),
  WEBHOOK_URL: url('the public https:// address Telegram should post updates to').optional(),
  WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,256}$/, { error: 'expected 1-256 characters A-Z, a-z, 0-9, _ or -' })
    .optional(),
  ADMIN_IDS: idList.default([]),
  RUNBOOK_BASE_URL: url('an http(s) address under which <RuleId>.md runbook pages live')
    .transform((base) => (base.endsWith('/') ? base : `${base}/`))
    .optional(),
  ALERT_GROUP_WINDOW: duration.default(30_000),
  MASS_EVENT_MIN: positiveInt('a number of installations', 100_000).default(30),
  QUIET_HOURS: quietWindow.default({ from: 22 * 60, to: 8 * 60 } satisfies QuietWindow),
  /** The distributor's working hours, Monday to Friday (DISPLAY_TZ). */
  WORK_HOURS: quietWindow.default({ from: 9 * 60, to: 18 * 60 } satisfies QuietWindow),
  /** When a critical incident of the night nobody took is sent again, before work starts (`off`: never). */
  WAKE_AT: timeOfDayOrOff.default(7 * 60 + 30),
  DIGEST_CRON: cronExpression.default('0 9 * * *'),
  DIGEST_TZ: timeZone.default('Europe/Moscow'),
  DIGEST_MAX_DELAY: duration.default(6 * 3_600_000),
  SALES_SIGNAL_DAYS: z.coerce
    .number({ error: 'expected a number of days 1-7' })
    .int({ error: 'expected a number of days 1-7' })
    .min(1, { error: 'expected a number of days 1-7' })
    .max(7, { error: 'expected a number of days 1-7' })
    .default(3),
  PROBE_CRON: cronExpression.default('* * * * *'),
  PROBE_TIMEOUT: duration.default(5_000),
  PROBE_CONCURRENCY: positiveInt('a number of probes at once', 1000).default(20),
  PROBE_FAILURES: positiveInt('a number of failed rounds', 100).default(2),
  PROBE_HTTP_UP: z
    .string()
    .regex(/^\s*\d{3}(-\d{3})?(\s*,\s*\d{3}(-\d{3})?)*\s*$/, { error: 'expected HTTP statuses and ranges such as 200-399,401' })
    .default('200-399,401'),
  PROBE_GROUP_MIN: positiveInt('a number of installations', 10_000).default(3),
  /** Words on a main page that say the server is in maintenance (a regular expression, any case); a 503 says it anyway. */
  PROBE_MAINTENANCE_TEXT: pageWords.optional(),
  /** Words on a main page that say the server needs a specialist (a regular expression, any case). */
  PROBE_NEED_SUPPORT_TEXT: pageWords.optional(),
  PROBE_HISTORY: duration.default(7 * 86_400_000),
  METRICS_TOKEN: z.string().min(16, { error: 'expected at least 16 characters' }).optional(),
  ALERTMANAGER_TOKEN: z.string().min(16, { error: 'expected at least 16 characters' }).optional(),
  /** Seals the secrets dozor keeps to use again (metrics passwords); changing it makes them unreadable. */
  SECRET_KEY: z.string().min(32, { error: 'expected at least 32 characters, e.g. from: openssl rand -base64 32' }).optional(),
  PULL_EVERY: duration.default(15 * 60_000),
  /** Addresses a metrics pull may reach although they are refused by default (loopback, link-local, metadata…): subnets, comma separated. */
  PULL_ALLOW_PRIVATE: z
    .string()
    .transform((text, ctx) => {
      try {
        return parseSubnetList(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected addresses or subnets such as 127.0.0.1/32 or 169.254.0.0/16, separated by commas' });
        return z.NEVER;
      }
    })
    .default([]),
  /** The mail server alerts and digests go through: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465. */
  SMTP_URL: z
    .string()
    .trim()
    .refine((value) => /^smtps?:\/\/[^\s]+$/.test(value) && URL.canParse(value) && new URL(value).hostname !== '', {
      error: 'expected a mail server address such as smtp://user:password@mail.example.ru:587 or smtps://mail.example.ru:465',
    })
    .optional(),
  /** The sender of dozor's mail: an address, or «Name <address>». */
  MAIL_FROM: z
    .string()
    .trim()
    .refine((value) => mailFromProblem(value) === null, { error: 'expected an address such as dozor@example.ru or "dozor <dozor@example.ru>"' })
    .optional(),
  /** Only `false` accepts a mail server's certificate that cannot be verified (a self-signed one); say it on purpose. */
  SMTP_TLS_REJECT_UNAUTHORIZED: z.enum(['true', 'false'], { error: 'expected true or false' }).default('true'),
  /** A critical alert not delivered in Telegram within this long goes by mail. */
  EMAIL_FALLBACK_AFTER: duration.default(3 * 60_000),
  DB_BUSY_TIMEOUT: duration.default(5_000),
  HTTP_REQUEST_TIMEOUT: duration.default(30_000),
  /** An idle connection between requests is kept this long: above a balancer's own idle timeout (nginx's 60 s). */
  HTTP_KEEP_ALIVE_TIMEOUT: duration.default(75_000),
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: z.coerce
    .number({ error: 'expected a number of connections (0: no limit)' })
    .int({ error: 'expected a whole number of connections (0: no limit)' })
    .min(0, { error: 'expected 0 or more connections' })
    .default(64),
  TRUST_PROXY: z
    .string()
    .trim()
    .regex(/^(true|false|[0-9a-fA-F.:/,\s]+)$/, { error: 'expected true, false, or proxy addresses/subnets separated by commas' })
    .default('false'),
  REPORT_RETENTION: duration.default(90 * 86_400_000),
  /** A cabinet session ends this long after it opened, however busy. */
  WEB_SESSION_MAX: duration.default(7 * 86_400_000),
  /** The address agents and people reach this service at, written into agent scripts. */
  PUBLIC_URL: url('an http:// or https:// address such as https://dozor.example.ru')
    // It is written into agent scripts and handed to curl there.
    .refine((value) => webAddressProblem(value) === null, { error: 'expected an address without quotes, spaces, backslashes, the characters ` $ % ; or a user name and password' })
    .optional(),
  /** Where uploaded files are kept; beside the database when not set. */
  DATA_DIR: z.string().trim().min(1, { error: 'expected a folder path' }).optional(),
  UPLOAD_MAX_BYTES: byteSize.default(64 * 1024 * 1024),
  /** Bytes a second: an upload's body may take as long as UPLOAD_MAX_BYTES takes at this rate, while it keeps moving. */
  UPLOAD_MIN_RATE: byteSize.default(32 * 1024),
  /** A sysinfo mapping of the distributor's own, in place of the one that ships (intake/sysinfo-mapping.json). */
  SYSINFO_MAPPING: z.string().trim().min(1, { error: 'expected the path of a mapping file' }).optional(),
  UPLOAD_KEEP: positiveInt('a number of files', 1000).default(5),
  /** Uploads stop while the disk of DATA_DIR has less free than this, so agents' reports keep being stored. */
  UPLOAD_MIN_FREE: byteSize.default(1024 ** 3),
  /** What one installation's files may come to in any 24 hours. */
  UPLOAD_DAILY_QUOTA: byteSize.default(1024 ** 3),
  /** What may come under one fleet upload token in any 24 hours, whatever the names. */
  UPLOAD_FLEET_DAILY_QUOTA: byteSize.default(20 * 1024 ** 3),
  /** Files under a name no installation has are removed this many days after they came. */
  UPLOAD_UNMATCHED_DAYS: positiveInt('a number of days', 3650).default(30),
  UPLOAD_RETENTION: duration.default(30 * 86_400_000),
  PRUNE_CRON: cronExpression.default('30 3 * * *'),
  OUTBOX_RETRY_BASE: duration.default(2_000),
  OUTBOX_RETRY_MAX: duration.default(5 * 60_000),
  MORNING_HOUR: z.coerce
    .number({ error: 'expected an hour 0-23' })
    .int({ error: 'expected an hour 0-23' })
    .min(0, { error: 'expected an hour 0-23' })
    .max(23, { error: 'expected an hour 0-23' })
    .default(9),
}).superRefine((config, ctx) => {
  if (config.SMTP_URL !== undefined && config.MAIL_FROM === undefined) {
    ctx.addIssue({ code: 'custom', path: ['MAIL_FROM'], message: 'must be set when SMTP_URL is: the sender of dozor\'s mail, such as dozor@example.ru' });
  }
  if (config.DATABASE_URL === undefined) return;
  // Instances that share a database must share what they sign and check with, or one refuses what another gave out.
  if (config.SECRET_KEY === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['SECRET_KEY'],
      message: 'must be set when DATABASE_URL is: without it each instance makes its own at start, and links or passwords one instance sealed are refused by the others (make one with: openssl rand -base64 32, and give every instance the same)',
    });
  }
  if (config.WEBHOOK_URL !== undefined && config.WEBHOOK_SECRET === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['WEBHOOK_SECRET'],
      message: 'must be set when DATABASE_URL and WEBHOOK_URL are: without it each instance makes its own, and updates Telegram sends with one are refused by the others',
    });
  }
  if (config.DATA_DIR === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['DATA_DIR'],
      message: 'must be set when DATABASE_URL is: the folder uploaded files are kept in, which every instance must mount (there is no database file to keep them beside)',
    });
  }
});

export type Config = z.infer<typeof schema>;

/** The password in DATABASE_URL, if any: kept out of every log line. */
export function databasePassword(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const password = new URL(url).password;
  return password === '' ? undefined : decodeURIComponent(password);
}

/** Where uploaded files are kept: DATA_DIR, else the database's folder. */
export function dataDirOf(config: Config): string {
  return config.DATA_DIR ?? dirname(resolve(config.DATABASE_PATH));
}

/** Said when the service is started without a bot token. */
export const MISSING_BOT_TOKEN = [
  'BOT_TOKEN is not set: dozor needs a Telegram bot to deliver alerts.',
  'Create one with @BotFather in Telegram (send /newbot), then put its token in the environment or in .env:',
  '  BOT_TOKEN=123456789:AAH...',
].join('\n');

/** Variables whose values are secrets. */
const SECRETS = new Set(['BOT_TOKEN', 'METRICS_TOKEN', 'ALERTMANAGER_TOKEN', 'WEBHOOK_SECRET', 'SECRET_KEY', 'DATABASE_URL', 'SMTP_URL']);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty variable (FOO=) means "not set", as it does in most tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    const value = env[name];
    // A secret's value is never repeated back: the message may end up in a log or on a screen.
    const shown = value === undefined ? '' : SECRETS.has(name) ? ` (its value is not shown: it is a secret)` : ` (got ${JSON.stringify(value)})`;
    return `  ${name}: ${issue.message}${shown}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

/** The environment with `.env` (if present in the working directory) loaded under it. */
export function loadEnv(): Record<string, string | undefined> {
  loadDotenv({ quiet: true });
  return process.env;
}

/** Working hours and the morning call as the configuration gives them (null: no morning call). */
export function workingHours(config: Config): WorkingHours | null {
  return config.WAKE_AT === null ? null : { tz: config.DISPLAY_TZ, hours: config.WORK_HOURS, wakeAt: config.WAKE_AT };
}

/** The lifecycle's settings as the configuration gives them. */
export function incidentSettings(config: Config, clockWatch?: ClockWatch): IncidentSettings {
  return {
    ...(clockWatch ? { clockWatch } : {}),
    remindEveryMs: config.REMIND_EVERY,
    escalateAfterMs: config.ESCALATE_AFTER,
    quietHours: { tz: config.DISPLAY_TZ, defaultWindow: config.QUIET_HOURS },
    flapHoldMs: config.FLAP_HOLD,
    massEvent: { min: config.MASS_EVENT_MIN, windowMs: config.ALERT_GROUP_WINDOW },
  };
}
