import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../core/clock.ts';
import { closeDatabase } from '../db/open.ts';
import { enqueue, MAIL_DIGEST } from '../db/outbox.ts';
import { incidents, outbox } from '../db/schema.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { addUser, setUserMail } from '../registry/users.ts';
import { TelegramStandIn } from '../tools/standin/telegram.ts';
import { tempDir } from './helpers.ts';
import { serviceDatabase, startServiceProcess, type ServiceDatabase } from './process-helpers.ts';
import { watchStandIn } from './russian-words.ts';
import { closedPort, startSmtpServer, type TestSmtpServer } from './smtp-helpers.ts';

const GROUP = -1001777;
const TOKEN = '123456789:STANDIN-token-for-the-mail-fallback';
const FALLBACK_MS = 5_000;

/**
 * The fallback story, the whole process as `npm start` runs it: the Bot API
 * cannot be reached when a client's key is lost, so the manager's mail
 * arrives within EMAIL_FALLBACK_AFTER plus a minute; the «Беру» link in it
 * takes the alert; once the Bot API is back, the client's group gets the
 * alert drawn as it stands (taken, and sent by mail too); nothing is doubled.
 */
describe('an alert Telegram cannot deliver reaches the manager by mail', () => {
  const dir = tempDir();
  let database: ServiceDatabase;
  let smtp: TestSmtpServer;
  let agentToken: string;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    database = await serviceDatabase(dir.path);
    const db = await database.open();
    const ctx = { db, clock: systemClock, actor: 'test' };
    await addUser(ctx, { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова' });
    await setUserMail(ctx, 1001, { email: 'ksenia@example.ru' });
    const client = await addClient(ctx, { name: 'ООО «Ромашка»', managerId: 1001, chatId: GROUP });
    agentToken = (await addInstallation(ctx, { client: String(client.id), name: 'Сервер офиса', kind: 'local' })).token;
    await closeDatabase(db);
  });
  afterAll(async () => {
    await smtp.close();
    await database.drop();
    dir.cleanup();
  });

  it('mails the manager in time, the link takes it once, and Telegram shows it when it is back', async () => {
    // Nothing listens where the Bot API should be, until the stand-in starts there later.
    const apiPort = await closedPort();
    const httpPort = await closedPort();
    const service = await startServiceProcess({
      ...database.env,
      BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: `http://127.0.0.1:${apiPort}`,
      HTTP_PORT: String(httpPort),
      PUBLIC_URL: `http://127.0.0.1:${httpPort}`,
      SMTP_URL: smtp.url(),
      MAIL_FROM: 'dozor <dozor@example.ru>',
      SMTP_TLS_REJECT_UNAUTHORIZED: 'false',
      EMAIL_FALLBACK_AFTER: `${FALLBACK_MS / 1000}s`,
      OUTBOX_RETRY_BASE: '1s',
      OUTBOX_RETRY_MAX: '2s',
      ALERT_GROUP_WINDOW: '1s',
    });
    let standIn: TelegramStandIn | undefined;
    try {
      const lostAt = Date.now();
      const posted = await fetch(`${service.url}/api/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/xml' },
        body: '<report id="evening"><senselock state="lost"/></report>',
      });
      expect(posted.status).toBe(202);

      // The mail comes by itself: the fallback looks every 15 seconds.
      let mails = await smtp.received();
      for (let i = 0; i < 300 && mails.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        mails = await smtp.received();
      }
      expect(mails).toHaveLength(1);
      const arrivedAfter = Date.now() - lostAt;
      expect(arrivedAfter).toBeGreaterThanOrEqual(FALLBACK_MS);
      expect(arrivedAfter).toBeLessThan(FALLBACK_MS + 60_000);
      const [mail] = mails;
      expect(mail!.envelopeTo).toBe('ksenia@example.ru');
      expect(mail!.subject).toBe('🔴 Ромашка · Сервер офиса: ключ SenseLock не виден');
      expect(service.log.some((line) => line.includes('a critical alert Telegram has not delivered goes by mail'))).toBe(true);

      const link = /🙋 Беру \(взять в работу\): (\S+)/.exec(mail!.text ?? '')![1]!;
      expect(link.startsWith(`http://127.0.0.1:${httpPort}/web/take?`)).toBe(true);
      expect((await fetch(link)).status).toBe(200);
      const fields = new URL(link).searchParams.toString();
      const take = () => fetch(`http://127.0.0.1:${httpPort}/web/take`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields });
      expect((await take()).status).toBe(200);
      expect((await take()).status).toBe(409);

      // The Bot API is back: the group gets the alert once, drawn as it stands now.
      standIn = await TelegramStandIn.start({ token: TOKEN, port: apiPort });
      watchStandIn(standIn);
      for (let i = 0; i < 200 && standIn.sentTo(GROUP).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      const sent = standIn.sentTo(GROUP);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.text).toContain('Ключ SenseLock не виден');
      expect(sent[0]!.text).toContain('🛠 В работе: Ксения Шабанова');
      expect(sent[0]!.text).toContain('✉️ Отправлено и по почте.');

      const db = await database.open();
      try {
        const [incident] = await db.select().from(incidents);
        expect(incident).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'tg:1001' });
        // Nothing doubled: one alert mail was ever written, and the Telegram alert went once.
        expect(await db.select().from(outbox).where(eq(outbox.kind, 'mail.alert'))).toHaveLength(1);
        // The row is marked sent once Telegram's answer is back, a moment after the stand-in has the message.
        const openings = () => db.select().from(outbox).where(eq(outbox.kind, 'incident.opened'));
        let alerts = await openings();
        for (let i = 0; i < 100 && alerts.some((row) => row.status !== 'sent'); i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          alerts = await openings();
        }
        expect(alerts.map((row) => row.status)).toEqual(['sent']);
      } finally {
        await closeDatabase(db);
      }
      expect(await smtp.received()).toHaveLength(1);
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(metrics).toContain('dozor_mail_deliveries_total{outcome="sent"} 1');
      expect(await service.stop()).toBe(0);

      // Started again without SMTP_URL: a mail still queued cannot go, and is taken out rather than left to wait for ever.
      const before = await database.open();
      try {
        await enqueue(before, { kind: MAIL_DIGEST, chatId: 1001, incidentId: null, payload: { text: 'Сводка' } }, new Date());
      } finally {
        await closeDatabase(before);
      }
      const withoutMail = await startServiceProcess({ ...database.env, BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: standIn.url });
      try {
        expect(withoutMail.log.some((line) => line.includes('cannot go without it: taken out of the outbox') && line.includes('"mails":1'))).toBe(true);
      } finally {
        expect(await withoutMail.stop()).toBe(0);
      }
      const after = await database.open();
      try {
        expect(await after.select().from(outbox).where(eq(outbox.kind, MAIL_DIGEST))).toEqual([]);
      } finally {
        await closeDatabase(after);
      }
    } finally {
      await service.stop();
      await standIn?.close();
    }
    // The fallback looks every 15 seconds, and the service starts twice: on a busy machine that is more than the usual 30 s.
  }, 120_000);
});
