import { describe, expect, it } from 'vitest';
import { ConfigError, databasePassword, parseConfig } from '../app/config.ts';

describe('configuration', () => {
  it('has defaults for everything', () => {
    expect(parseConfig({})).toEqual({
      DATABASE_PATH: './data/dozor.sqlite',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: 8080,
      LOG_LEVEL: 'info',
      DISPLAY_TZ: 'Europe/Moscow',
      CHECK_CRON: '* * * * *',
      REMIND_EVERY: 4 * 3_600_000,
      ESCALATE_AFTER: 3_600_000,
      ADMIN_IDS: [],
      ALERT_GROUP_WINDOW: 30_000,
      MORNING_HOUR: 9,
      QUIET_HOURS: { from: 1320, to: 480 },
      DIGEST_CRON: '0 9 * * *',
      DIGEST_TZ: 'Europe/Moscow',
      DIGEST_MAX_DELAY: 6 * 3_600_000,
      SALES_SIGNAL_DAYS: 3,
      PROBE_CRON: '* * * * *',
      PROBE_TIMEOUT: 5_000,
      PROBE_CONCURRENCY: 20,
      PROBE_FAILURES: 2,
      PROBE_HTTP_UP: '200-399,401',
      PROBE_GROUP_MIN: 3,
      PROBE_HISTORY: 7 * 86_400_000,
      DATABASE_POOL_SIZE: 10,
      SMTP_TLS_REJECT_UNAUTHORIZED: 'true',
      EMAIL_FALLBACK_AFTER: 180_000,
      DB_BUSY_TIMEOUT: 5_000,
      HTTP_REQUEST_TIMEOUT: 30_000,
      LEASE_TTL: 15_000,
      HTTP_KEEP_ALIVE_TIMEOUT: 75_000,
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: 64,
      TRUST_PROXY: 'false',
      REPORT_RETENTION: 90 * 86_400_000,
      UPLOAD_MAX_BYTES: 64 * 1024 * 1024,
      UPLOAD_MIN_RATE: 32 * 1024,
      UPLOAD_KEEP: 5,
      UPLOAD_RETENTION: 30 * 86_400_000,
      UPLOAD_MIN_FREE: 1024 ** 3,
      UPLOAD_DAILY_QUOTA: 1024 ** 3,
      UPLOAD_FLEET_DAILY_QUOTA: 20 * 1024 ** 3,
      UPLOAD_UNMATCHED_DAYS: 30,
      PULL_EVERY: 15 * 60_000,
      PULL_ALLOW_PRIVATE: [],
      WEB_SESSION_MAX: 7 * 86_400_000,
      FLAP_HOLD: 60_000,
      WORK_HOURS: { from: 9 * 60, to: 18 * 60 },
      WAKE_AT: 7 * 60 + 30,
      MASS_EVENT_MIN: 30,
      PRUNE_CRON: '30 3 * * *',
      OUTBOX_RETRY_BASE: 2_000,
      OUTBOX_RETRY_MAX: 300_000,
    });
  });

  it('reads working hours and the morning call', () => {
    expect(parseConfig({ WORK_HOURS: '08:30-17:30', WAKE_AT: '7:00' })).toMatchObject({ WORK_HOURS: { from: 510, to: 1050 }, WAKE_AT: 420 });
    expect(() => parseConfig({ WAKE_AT: '25:00' })).toThrowError(/WAKE_AT: expected a time of day such as 07:30/);
    expect(parseConfig({ WAKE_AT: 'off' }).WAKE_AT).toBeNull();
  });

  it('checks probe settings', () => {
    expect(() => parseConfig({ PROBE_HTTP_UP: 'ok' })).toThrowError(/PROBE_HTTP_UP: expected HTTP statuses and ranges/);
    expect(() => parseConfig({ PROBE_CONCURRENCY: '0' })).toThrowError(/PROBE_CONCURRENCY: expected a number of probes at once, at least 1/);
  });

  it('reads the Telegram settings', () => {
    const config = parseConfig({
      BOT_TOKEN: '123456789:AAHfakefakefakefakefakefakefake',
      ADMIN_IDS: '111, 222;333',
      RUNBOOK_BASE_URL: 'https://dozor.example.ru/runbooks',
      WEBHOOK_URL: 'https://dozor.example.ru/telegram',
    });
    expect(config).toMatchObject({ ADMIN_IDS: [111, 222, 333], RUNBOOK_BASE_URL: 'https://dozor.example.ru/runbooks/' });
    expect(() => parseConfig({ BOT_TOKEN: 'secret' })).toThrowError(/BOT_TOKEN: expected a bot token from @BotFather/);
    expect(() => parseConfig({ ADMIN_IDS: 'anna' })).toThrowError(/ADMIN_IDS: expected Telegram user ids/);
  });

  it('reads durations and cron expressions', () => {
    const config = parseConfig({ REMIND_EVERY: '2h30m', ESCALATE_AFTER: '15m', CHECK_CRON: '*/5 * * * *' });
    expect(config).toMatchObject({ REMIND_EVERY: 9_000_000, ESCALATE_AFTER: 900_000, CHECK_CRON: '*/5 * * * *' });
    expect(() => parseConfig({ REMIND_EVERY: 'often' })).toThrowError(/REMIND_EVERY: expected a duration such as 30m, 4h or 1d/);
    expect(parseConfig({ HTTP_KEEP_ALIVE_TIMEOUT: '90s' }).HTTP_KEEP_ALIVE_TIMEOUT).toBe(90_000);
    expect(() => parseConfig({ HTTP_KEEP_ALIVE_TIMEOUT: '75' })).toThrowError(/HTTP_KEEP_ALIVE_TIMEOUT: expected a duration such as 30m, 4h or 1d \(got "75"\)/);
    expect(() => parseConfig({ CHECK_CRON: 'every minute' })).toThrowError(/CHECK_CRON: expected a cron expression/);
  });

  it('reads sizes in bytes or binary units', () => {
    expect(parseConfig({ UPLOAD_MAX_BYTES: '20MiB' }).UPLOAD_MAX_BYTES).toBe(20 * 1024 * 1024);
    expect(parseConfig({ UPLOAD_MAX_BYTES: '512k' }).UPLOAD_MAX_BYTES).toBe(512 * 1024);
    expect(parseConfig({ UPLOAD_MAX_BYTES: '1000' }).UPLOAD_MAX_BYTES).toBe(1000);
    expect(() => parseConfig({ UPLOAD_MAX_BYTES: 'lots' })).toThrowError(/UPLOAD_MAX_BYTES: expected a size such as 64MiB/);
    expect(() => parseConfig({ UPLOAD_MAX_BYTES: '0' })).toThrowError(/UPLOAD_MAX_BYTES/);
  });

  it('reads the variables', () => {
    const config = parseConfig({ DATABASE_PATH: '/var/lib/dozor/db.sqlite', HTTP_PORT: '9000', DISPLAY_TZ: 'Asia/Omsk' });
    expect(config).toMatchObject({ DATABASE_PATH: '/var/lib/dozor/db.sqlite', HTTP_PORT: 9000, DISPLAY_TZ: 'Asia/Omsk' });
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ HTTP_PORT: '' }).HTTP_PORT).toBe(8080);
  });

  it('names the variable, the expected form and the value it got', () => {
    expect(() => parseConfig({ HTTP_PORT: 'eighty', DISPLAY_TZ: 'Moscow' })).toThrowError(ConfigError);
    try {
      parseConfig({ HTTP_PORT: 'eighty', DISPLAY_TZ: 'Moscow' });
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toMatch(/HTTP_PORT: expected a port number \(got "eighty"\)/);
      expect(message).toMatch(/DISPLAY_TZ: expected an IANA time zone such as Europe\/Moscow \(got "Moscow"\)/);
    }
  });

  it('never repeats a secret\'s value, only what is wrong with it', () => {
    const secrets = { BOT_TOKEN: 'secret-bot-token-value', METRICS_TOKEN: 'short', ALERTMANAGER_TOKEN: 'tiny', WEBHOOK_SECRET: 'has spaces in it' };
    let message = '';
    try {
      parseConfig(secrets);
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of Object.keys(secrets)) expect(message).toContain(`${name}: `);
    for (const value of Object.values(secrets)) expect(message).not.toContain(value);
    expect(message).toContain('its value is not shown: it is a secret');
  });

  it('on PostgreSQL, refuses what each instance would make its own (SECRET_KEY, WEBHOOK_SECRET) and a per-machine uploads folder, never showing the password', () => {
    const url = 'postgres://dozor:pa55word-in-url@db.example.ru:5432/dozor';
    let message = '';
    try {
      parseConfig({ DATABASE_URL: url, WEBHOOK_URL: 'https://dozor.example.ru/telegram' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/SECRET_KEY: must be set when DATABASE_URL is: .*openssl rand -base64 32/);
    expect(message).toMatch(/WEBHOOK_SECRET: must be set when DATABASE_URL and WEBHOOK_URL are/);
    expect(message).toMatch(/DATA_DIR: must be set when DATABASE_URL is: .*every instance must mount/);
    expect(message).not.toContain('pa55word-in-url');
    const config = parseConfig({ DATABASE_URL: url, SECRET_KEY: 'k'.repeat(32), DATA_DIR: '/srv/dozor/files', DATABASE_POOL_SIZE: '20' });
    expect(config).toMatchObject({ DATABASE_URL: url, DATABASE_POOL_SIZE: 20 });
    expect(databasePassword(url)).toBe('pa55word-in-url');
    expect(() => parseConfig({ DATABASE_URL: 'mysql://db/dozor' })).toThrowError(/DATABASE_URL: expected a PostgreSQL address such as postgres:\/\/dozor:password@/);
  });

  it('rejects a port out of range', () => {
    expect(() => parseConfig({ HTTP_PORT: '70000' })).toThrowError(/HTTP_PORT: expected a port number 0-65535/);
  });
});
