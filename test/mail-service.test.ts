import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.ts';
import { closeDatabase } from '../db/open.ts';
import { outbox } from '../db/schema.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { addUser, setUserMail } from '../registry/users.ts';
import { TelegramStandIn } from '../tools/standin/telegram.ts';
import { tempDir } from './helpers.ts';
import { serviceDatabase, startServiceProcess, type ServiceDatabase, type ServiceProcess } from './process-helpers.ts';
import { watchStandIn } from './russian-words.ts';
import { startSilentServer, startSmtpServer } from './smtp-helpers.ts';

const TOKEN = '123456789:STANDIN-token-for-the-mail-service';
const PASSWORD = 'Tr0ub4dor-and-3-mail';

/** Wait (in real time: the service is another process) until the service has logged a line with this message. */
async function logged(service: ServiceProcess, msg: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    for (const line of service.log) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.msg === msg) return entry;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the service never logged «${msg}»:\n${service.log.join('\n')}`);
}

/**
 * Mail in the service as `npm start` runs it: at start it asks the mail
 * server once and says in its log, in words, whether mail can go, never
 * with the password; and a mail server that hangs holds up no Telegram alert.
 */
describe('mail in the running service', () => {
  const dir = tempDir();
  let database: ServiceDatabase;
  let agentToken: string;
  let standIn: TelegramStandIn;

  beforeAll(async () => {
    standIn = await TelegramStandIn.start({ token: TOKEN });
    watchStandIn(standIn);
    database = await serviceDatabase(dir.path);
    const db = await database.open();
    try {
      const ctx = { db, clock: systemClock, actor: 'test' };
      await addUser(ctx, { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова' });
      // Her alerts come in Telegram and by mail; the client has no group of its own.
      await setUserMail(ctx, 1001, { email: 'ksenia@example.ru', channel: 'both' });
      const client = await addClient(ctx, { name: 'ООО «Ромашка»', managerId: 1001 });
      agentToken = (await addInstallation(ctx, { client: String(client.id), name: 'Сервер офиса', kind: 'local' })).token;
    } finally {
      await closeDatabase(db);
    }
  });
  afterAll(async () => {
    await standIn.close();
    await database.drop();
    dir.cleanup();
  });

  it('says at start whether the mail server takes its login, in words, and never writes the password', async () => {
    const smtp = await startSmtpServer('ok', { password: PASSWORD });
    const mailEnv = (url: string) => ({ ...database.env, BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: standIn.url, SMTP_URL: url, MAIL_FROM: 'dozor <dozor@example.ru>', SMTP_TLS_REJECT_UNAUTHORIZED: 'false' });
    try {
      const good = await startServiceProcess(mailEnv(smtp.url()));
      try {
        const entry = await logged(good, 'the mail server answers and accepts the login: mail can be sent');
        expect(entry.server).toBe(`127.0.0.1:${smtp.port}`);
      } finally {
        expect(await good.stop()).toBe(0);
      }
      expect(good.log.join('\n') + good.stderr()).not.toContain(PASSWORD);

      const wrong = 'Wr0ng-pass-for-dozor';
      const refused = await startServiceProcess(mailEnv(smtp.url(wrong)));
      try {
        const entry = await logged(refused, 'mail cannot be sent: the mail server check failed (dozor mail test <address> tries again)');
        expect(entry.server).toBe(`127.0.0.1:${smtp.port}`);
        expect(entry.reason).toMatch(/^the mail server refused the login \(check the user and password in SMTP_URL\): 535 /);
      } finally {
        expect(await refused.stop()).toBe(0);
      }
      const said = refused.log.join('\n') + refused.stderr();
      expect(said).not.toContain(wrong);
      expect(said).not.toContain(encodeURIComponent(wrong));
      // Nothing was sent either way.
      expect(await smtp.received()).toEqual([]);
    } finally {
      await smtp.close();
    }
  }, 60_000);

  it('delivers a Telegram alert at once while the mail server accepts the connection and never answers', async () => {
    const silent = await startSilentServer();
    const service = await startServiceProcess({
      ...database.env,
      BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: standIn.url,
      SMTP_URL: `smtp://dozor:${PASSWORD}@127.0.0.1:${silent.port}`,
      MAIL_FROM: 'dozor <dozor@example.ru>',
      ALERT_GROUP_WINDOW: '1s',
    });
    try {
      // The start-up check is stuck on the mail server already.
      for (let i = 0; i < 200 && silent.connections() === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(silent.connections()).toBeGreaterThan(0);

      const lostAt = Date.now();
      const posted = await fetch(`${service.url}/api/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/xml' },
        body: '<report id="hung-mail"><senselock state="lost"/></report>',
      });
      expect(posted.status).toBe(202);
      for (let i = 0; i < 200 && standIn.sentTo(1001).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const sent = standIn.sentTo(1001);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.text).toContain('Ключ SenseLock не виден');
      expect(sent[0]!.text).toContain('🏢 <b>ООО «Ромашка»</b> · Сервер офиса');
      // Well within the 30 s the mailer waits for an answer: Telegram did not queue behind mail.
      expect(Date.now() - lostAt).toBeLessThan(10_000);

      // Meanwhile her mail is in flight to the hung server, and still waits in the outbox.
      for (let i = 0; i < 200 && silent.connections() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(silent.connections()).toBeGreaterThanOrEqual(2);
      const db = await database.open();
      try {
        const mails = await db.select().from(outbox).where(eq(outbox.kind, 'mail.alert'));
        expect(mails.map((row) => [row.chatId, row.status])).toEqual([[1001, 'pending']]);
      } finally {
        await closeDatabase(db);
      }
      // A stop does not wait out the mail server's silence either: not the mail in flight, not the start-up check.
      const asked = Date.now();
      expect(await service.stop()).toBe(0);
      expect(Date.now() - asked).toBeLessThan(8_000);
      expect(service.log.some((line) => line.includes('the mail server had not answered the start-up check when the service stopped'))).toBe(true);
      expect(service.log.some((line) => line.includes('dozor stopped'))).toBe(true);
    } finally {
      await service.stop();
      await silent.close();
    }
  }, 60_000);
});
