import { and, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { createMetrics } from '../app/metrics.ts';
import { composeDigestForChannels } from '../bot/digest.ts';
import { signTakeLink, takeLinkKeyOf } from '../core/take-link.ts';
import { noteMailConfigured } from '../db/audience.ts';
import { enqueue, MAIL_DIGEST, undeliveredCriticalAlerts } from '../db/outbox.ts';
import { auditLog, incidents, outbox } from '../db/schema.ts';
import { getUser } from '../db/users.ts';
import { Dispatcher } from '../delivery/dispatcher.ts';
import { unpaced } from '../delivery/pacer.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { ingestReport } from '../intake/ingest.ts';
import { parseReport } from '../intake/parse-report.ts';
import { runMailFallback } from '../jobs/mail-fallback.ts';
import { runSweep } from '../jobs/sweep.ts';
import { MailDelivery } from '../mail/delivery.ts';
import { Mailer } from '../mail/mailer.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { addUser, setUserMail } from '../registry/users.ts';
import { botHarness } from './bot-helpers.ts';
import { dozorWithEnv } from './cli-helpers.ts';
import { silentLogger, testClock, testDb, type TestDb } from './helpers.ts';
import { closedPort, startSilentServer, startSmtpServer, type TestSmtpServer } from './smtp-helpers.ts';

/**
 * Alerts by mail through the outbox, against a real SMTP server in its own
 * process (STARTTLS, AUTH), the real bot with its API calls captured, and
 * the real HTTP server for the «Беру» link: the fallback when Telegram does
 * not deliver, a person's channel, the end of a mailed critical, a refused
 * address, a server that says «later», and the digest with its chart inline.
 */
describe('alerts by mail', () => {
  const KEY = takeLinkKeyOf('a secret key of this dozor');
  const FALLBACK = 3 * 60_000;
  let smtp: TestSmtpServer;
  let t: TestDb;
  let app: FastifyInstance;
  let base: string;
  let mailer: Mailer;
  const clock = testClock('2026-12-07T18:00:00Z');
  const ctx = () => ({ db: t.db, clock, actor: 'test' });

  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await smtp.close();
  });
  beforeEach(async () => {
    clock.set('2026-12-07T18:00:00Z');
    t = await testDb();
    // As the service says at its start when SMTP_URL is set.
    await noteMailConfigured(t.db, true, clock());
    app = buildHttpServer({
      db: t.db,
      clock,
      logger: silentLogger(),
      settings: DEFAULT_INCIDENT_SETTINGS,
      web: { displayTz: 'Europe/Moscow', morningHour: 9, takeLinkKey: KEY },
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    mailer = new Mailer({ url: smtp.url(), from: 'dozor <dozor@example.ru>', rejectUnauthorized: false });
  });
  afterEach(async () => {
    mailer.close();
    await app.close();
    await t.close();
  });

  const mailDispatcher = (sender: { send: Mailer['send'] } = mailer, stopGraceMs?: number) =>
    new Dispatcher({
      ...(stopGraceMs === undefined ? {} : { stopGraceMs }),
      db: t.db,
      channel: 'mail',
      delivery: new MailDelivery({
        db: t.db,
        mailer: sender,
        clock,
        logger: silentLogger(),
        settings: {
          displayTz: 'Europe/Moscow',
          runbookUrl: () => null,
          cabinetUrl: base,
          domain: 'example.ru',
          takeLink: (incidentId, personId) => `${base}/web/take?${signTakeLink(KEY, { incidentId, personId })}`,
        },
      }),
      clock,
      logger: silentLogger(),
      pacer: unpaced,
      retryBaseMs: 1000,
    });

  /** A manager with an address, a client whose alerts go to a group chat, one installation reporting. */
  async function fleet(email = 'ksenia@example.ru') {
    await addUser(ctx(), { telegramId: 2001, role: 'lead', name: 'Ирина Петрова' });
    await addUser(ctx(), { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова', leadId: 2001 });
    await addUser(ctx(), { telegramId: 9001, role: 'admin', name: 'Олег Админов' });
    await setUserMail(ctx(), 1001, { email });
    const client = await addClient(ctx(), { name: 'ООО «Ромашка»', managerId: 1001, chatId: -1001234 });
    const { installation } = await addInstallation(ctx(), { client: String(client.id), name: 'Сервер офиса', kind: 'local' });
    const report = (id: string, senselock: 'ok' | 'lost') =>
      ingestReport(t.db, DEFAULT_INCIDENT_SETTINGS, installation, parseReport(Buffer.from(`<report id="${id}"><senselock state="${senselock}"/></report>`), 'xml', { tz: 'Europe/Moscow' }), clock());
    return { client, installation, report };
  }

  const form = (link: string) => new URLSearchParams(new URL(link).search);
  const post = (fields: URLSearchParams) => fetch(`${base}/web/take`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() });

  it('a critical Telegram cannot deliver goes by mail to the manager once; the link in it takes it once; Telegram then says so', async () => {
    const { report } = await fleet();
    const harness = botHarness(t.db, clock);
    harness.setOutage(() => new Error('request to https://api.telegram.org failed: connect ETIMEDOUT'));
    const telegram = harness.dispatcher();
    await report('evening', 'lost');
    await telegram.runOnce();
    expect(harness.sent()).toHaveLength(1);

    // Not yet: Telegram gets EMAIL_FALLBACK_AFTER to deliver it.
    clock.advance(FALLBACK - 1000);
    expect(await runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK }, clock())).toEqual({ mailed: 0 });
    clock.advance(1000);
    expect(await runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK }, clock())).toEqual({ mailed: 1 });
    expect(await runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK }, clock())).toEqual({ mailed: 0 });
    const before = (await smtp.received()).length;
    expect(await mailDispatcher().runOnce()).toEqual({ sent: 1, failed: 0, withdrawn: 0 });

    const mails = (await smtp.received()).slice(before);
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.envelopeTo).toBe('ksenia@example.ru');
    expect(mail.subject).toBe('🔴 Ромашка · Сервер офиса: ключ SenseLock не виден');
    expect(mail.messageId).toBe('<incident-1@example.ru>');
    expect(mail.text).toContain('Критично.');
    expect(mail.text).toContain('Что делать');
    expect(mail.text).toMatch(/🙋 Беру \(взять в работу\): http:\/\/127\.0\.0\.1:\d+\/web\/take\?i=1&u=1001&s=/);
    expect(mail.text).toContain(`Открыть в кабинете: ${base}/web/incidents#incident-1`);
    expect(mail.text).toContain('Telegram не доставил это критичное оповещение вовремя, поэтому оно пришло и по почте.');
    expect(String(mail.html)).toContain('<b>ООО «Ромашка»</b>');
    const link = /href="([^"]+\/web\/take\?[^"]+)"/.exec(String(mail.html))![1]!.replaceAll('&amp;', '&');

    // Opening the link only asks (a mail scanner opening it takes nothing).
    const page = await fetch(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<strong>Ключ SenseLock не виден — ООО «Ромашка» · Сервер офиса</strong>');
    expect(html).toContain('Взять в работу?');
    expect(html).toContain('action="/web/take"');
    expect((await t.db.select().from(incidents))[0]!.status).toBe('open');

    // A link changed to another person's, or another incident's, takes nothing.
    const forged = form(link);
    forged.set('u', '2001');
    expect((await post(forged)).status).toBe(403);
    forged.set('u', '1001');
    forged.set('i', '2');
    expect((await post(forged)).status).toBe(403);

    const taken = await post(form(link));
    expect(taken.status).toBe(200);
    expect(await taken.text()).toContain('🛠 Взято в работу: Ключ SenseLock не виден — ООО «Ромашка» · Сервер офиса.');
    const again = await post(form(link));
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('Эта ссылка уже использована');
    const [incident] = await t.db.select().from(incidents);
    expect(incident).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'tg:1001' });
    const audit = await t.db.select().from(auditLog).where(eq(auditLog.action, 'incident.acknowledge'));
    expect(audit.map((a) => [a.actor, a.details])).toEqual([['tg:1001', { via: 'mail link' }]]);
    const refusedAgain = await t.db.select().from(auditLog).where(eq(auditLog.action, 'incident.acknowledge.refused'));
    expect(refusedAgain.map((a) => [a.actor, a.details])).toEqual([['tg:1001', { via: 'mail link', why: 'used' }]]);

    // Telegram is back: the group gets the alert, drawn as it stands now, saying it went by mail too; once.
    harness.setOutage(null);
    harness.clear();
    clock.advance(10 * 60_000);
    await telegram.runOnce();
    const sent = harness.sent().filter((c) => c.payload.chat_id === -1001234);
    expect(sent).toHaveLength(1);
    expect(String(sent[0]!.payload.text)).toContain('✉️ Отправлено и по почте.');
    expect(String(sent[0]!.payload.text)).toContain('🛠 В работе: Ксения Шабанова, с 21:03');

    // The end of a mailed critical: one short mail in its thread; nothing else goes by mail, ever twice.
    clock.advance(5 * 60_000);
    await report('fixed', 'ok');
    expect(await mailDispatcher().runOnce()).toEqual({ sent: 1, failed: 0, withdrawn: 0 });
    expect(await runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK }, clock())).toEqual({ mailed: 0 });
    const after = (await smtp.received()).slice(before);
    expect(after).toHaveLength(2);
    expect(after[1]!.subject).toBe('☑️ Решено: 🔴 Ромашка · Сервер офиса: ключ SenseLock не виден');
    expect(after[1]!.inReplyTo).toBe('<incident-1@example.ru>');
    expect(after[1]!.references).toBe('<incident-1@example.ru>');
    expect(after[1]!.text).toMatch(/ключ SenseLock снова виден/);
    // Over: the link has nothing left to take.
    expect((await post(form(link))).status).toBe(410);
  });

  it('a manager who blocked the bot (403) gets the critical by mail; a warning does not fall back', async () => {
    const { report } = await fleet();
    await t.db.update((await import('../db/schema.ts')).clients).set({ chatId: null });
    const harness = botHarness(t.db, clock);
    harness.failures.push({ method: 'sendMessage', chatId: 1001, error_code: 403, description: 'Forbidden: bot was blocked by the user', times: 100 });
    const telegram = harness.dispatcher();
    await report('1', 'lost');
    await telegram.runOnce();
    clock.advance(FALLBACK);
    expect(await runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK }, clock())).toEqual({ mailed: 1 });
    const before = (await smtp.received()).length;
    await mailDispatcher().runOnce();
    expect((await smtp.received()).slice(before).map((m) => [m.envelopeTo, m.subject])).toEqual([['ksenia@example.ru', '🔴 Ромашка · Сервер офиса: ключ SenseLock не виден']]);
    // The admins heard the chat is unreachable, as before mail existed; the alert waits there for the bot to be unblocked.
    const [opening] = await t.db.select().from(outbox).where(eq(outbox.kind, 'incident.opened'));
    expect(opening!.status).toBe('pending');

    // A warning Telegram cannot deliver waits for Telegram and the digest: no mail.
    const [critical] = await t.db.select().from(incidents);
    const [warning] = await t.db
      .insert(incidents)
      .values({ installationId: critical!.installationId, ruleId: 'KodeksXmlDailyUpdate', severity: 'warning', status: 'open', openedAt: clock(), details: {} })
      .returning();
    await enqueue(t.db, { kind: 'incident.opened', chatId: 1001, incidentId: warning!.id, payload: { severity: 'warning' } }, clock());
    clock.advance(FALLBACK * 2);
    expect(await runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK }, clock())).toEqual({ mailed: 0 });
  });

  it('a client group that no longer exists (400 «chat not found») gets its critical to the manager by mail, and the admins hear the chat is gone', async () => {
    const { report } = await fleet();
    const harness = botHarness(t.db, clock);
    harness.failures.push({ method: 'sendMessage', chatId: -1001234, error_code: 400, description: 'Bad Request: chat not found', times: 100 });
    const telegram = harness.dispatcher();
    await report('1', 'lost');
    await telegram.runOnce();
    const toAdmin = harness.sent().filter((c) => c.payload.chat_id === 9001);
    expect(toAdmin.map((c) => String(c.payload.text))).toEqual([
      '⚠️ Не могу доставить оповещения в чат -1001234: чат не найден. Оповещения ждут в очереди; проверьте, что бот не заблокирован и состоит в чате.',
    ]);
    clock.advance(FALLBACK - 1000);
    expect(await runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK }, clock())).toEqual({ mailed: 0 });
    clock.advance(1000);
    expect(await runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK }, clock())).toEqual({ mailed: 1 });
    const before = (await smtp.received()).length;
    await mailDispatcher().runOnce();
    const mails = (await smtp.received()).slice(before);
    expect(mails.map((m) => [m.envelopeTo, m.subject])).toEqual([['ksenia@example.ru', '🔴 Ромашка · Сервер офиса: ключ SenseLock не виден']]);
    expect(mails[0]!.text).toContain('Критично.');
    expect(mails[0]!.text).toContain('Telegram не доставил это критичное оповещение вовремя, поэтому оно пришло и по почте.');
    expect(mails[0]!.text).toMatch(/🙋 Беру \(взять в работу\): http:\/\/127\.0\.0\.1:\d+\/web\/take\?i=1&u=1001&s=/);
  });

  it('the end of a mailed critical is mailed once; a mailed warning ends without a mail', async () => {
    const { installation } = await fleet();
    await t.db.update((await import('../db/schema.ts')).clients).set({ chatId: null });
    await setUserMail(ctx(), 1001, { channel: 'email' });
    const send = (id: string, body: string) =>
      ingestReport(t.db, DEFAULT_INCIDENT_SETTINGS, installation, parseReport(Buffer.from(`<report id="${id}">${body}</report>`), 'xml', { tz: 'Europe/Moscow' }), clock());
    const before = (await smtp.received()).length;
    await send('1', '<kit daily-update="false"/>');
    clock.advance(60_000);
    await send('2', '<kit daily-update="false"/><senselock state="lost"/>');
    await mailDispatcher().runOnce();
    const alerts = (await smtp.received()).slice(before);
    expect(alerts.map((m) => m.subject).sort()).toEqual(['🔴 Ромашка · Сервер офиса: ключ SenseLock не виден', '🟡 Ромашка · Сервер офиса: ежедневное обновление или copybaseweb выключены'].sort());
    const critical = alerts.find((m) => m.subject!.startsWith('🔴'))!;

    // Both end: only the critical's end is mailed, once, in its thread.
    clock.advance(10 * 60_000);
    await send('3', '<kit daily-update="true"/><senselock state="ok"/>');
    expect((await t.db.select().from(incidents)).map((i) => i.status)).toEqual(['resolved', 'resolved']);
    await mailDispatcher().runOnce();
    clock.advance(60 * 60_000);
    await mailDispatcher().runOnce();
    const ends = (await smtp.received()).slice(before + alerts.length);
    expect(ends.map((m) => m.subject)).toEqual(['☑️ Решено: 🔴 Ромашка · Сервер офиса: ключ SenseLock не виден']);
    expect(ends[0]!.inReplyTo).toBe(critical.messageId);
    expect(await t.db.select().from(outbox).where(eq(outbox.kind, 'mail.resolved'))).toHaveLength(1);
  });

  it('forged «Беру» links from one address are refused, then answered 429; a genuine link still opens', async () => {
    const { report } = await fleet();
    await report('1', 'lost');
    const genuine = form(`${base}/web/take?${signTakeLink(KEY, { incidentId: 1, personId: 1001 })}`);
    const forged = new URLSearchParams(genuine);
    forged.set('s', 'A'.repeat(43));
    for (let i = 0; i < 20; i++) {
      const refused = i % 2 === 0 ? await post(forged) : await fetch(`${base}/web/take?${forged.toString()}`);
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('Ссылка повреждена или неверна.');
    }
    const limited = await post(forged);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.text()).toContain('Слишком много неверных ссылок с этого адреса. Подождите несколько минут и отправьте боту /web.');
    // The person whose link it is is not locked out by someone guessing.
    const page = await fetch(`${base}/web/take?${genuine.toString()}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Взять в работу?');
    // The window passes: a mangled link is told as such again.
    clock.advance(10 * 60_000 + 1000);
    expect((await post(forged)).status).toBe(403);
    expect((await t.db.select().from(incidents))[0]!.status).toBe('open');
  });

  it("an escalation Telegram cannot deliver goes to the lead by mail once, the link in it is the lead's, and Telegram then says so; a morning call too, a reminder never", async () => {
    const { report } = await fleet();
    await setUserMail(ctx(), 2001, { email: 'irina@example.ru' });
    const harness = botHarness(t.db, clock);
    // The group gets the alert; the lead has blocked the bot.
    harness.failures.push({ method: 'sendMessage', chatId: 2001, error_code: 403, description: 'Forbidden: bot was blocked by the user', times: 100 });
    const telegram = harness.dispatcher();
    await report('1', 'lost');
    await telegram.runOnce();
    expect(harness.sent().filter((c) => c.payload.chat_id === -1001234)).toHaveLength(1);
    const fallback = () => runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK }, clock());
    clock.advance(FALLBACK);
    expect(await fallback()).toEqual({ mailed: 0 });

    // Nobody took it for an hour: escalated to the lead, whose chat refuses.
    clock.advance(61 * 60_000 - FALLBACK);
    expect((await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS, logger: silentLogger() }, clock())).escalated).toBe(1);
    await telegram.runOnce();
    const [escalation] = await t.db.select().from(outbox).where(eq(outbox.kind, 'incident.escalated'));
    expect(escalation).toMatchObject({ chatId: 2001, status: 'pending', attempts: 1 });
    clock.advance(FALLBACK - 1000);
    expect(await fallback()).toEqual({ mailed: 0 });
    clock.advance(1000);
    expect(await fallback()).toEqual({ mailed: 1 });
    expect(await fallback()).toEqual({ mailed: 0 });
    const before = (await smtp.received()).length;
    expect(await mailDispatcher().runOnce()).toEqual({ sent: 1, failed: 0, withdrawn: 0 });
    const [mail, ...more] = (await smtp.received()).slice(before);
    expect(more).toEqual([]);
    expect(mail!.envelopeTo).toBe('irina@example.ru');
    expect(mail!.subject).toBe('🔴 Ромашка · Сервер офиса: ключ SenseLock не виден');
    expect(mail!.text).toContain('Telegram не доставил это критичное оповещение вовремя, поэтому оно пришло и по почте.');
    const link = /🙋 Беру \(взять в работу\): (\S+)/.exec(mail!.text ?? '')![1]!;
    expect(form(link).get('u')).toBe('2001');

    // A reminder calls nobody new: it never goes by mail. The morning call does, to whoever Telegram did not reach.
    const [incident] = await t.db.select().from(incidents);
    await enqueue(t.db, { kind: 'incident.reminder', chatId: 1001, incidentId: incident!.id, payload: { severity: 'critical' } }, clock());
    clock.advance(FALLBACK);
    expect(await fallback()).toEqual({ mailed: 0 });
    await enqueue(t.db, { kind: 'incident.wake', chatId: 1001, incidentId: incident!.id, payload: { severity: 'critical' } }, clock());
    clock.advance(FALLBACK);
    expect(await fallback()).toEqual({ mailed: 1 });
    expect((await t.db.select().from(outbox).where(eq(outbox.kind, 'mail.alert'))).map((row) => row.chatId)).toEqual([2001, 1001]);
    await t.db.delete(outbox).where(eq(outbox.kind, 'incident.wake'));
    await t.db.delete(outbox).where(eq(outbox.kind, 'incident.reminder'));

    // The lead unblocks the bot: the escalation comes, saying it went by mail too.
    harness.failures.length = 0;
    harness.clear();
    clock.advance(10 * 60_000);
    await telegram.runOnce();
    const toLead = harness.sent().filter((c) => c.payload.chat_id === 2001);
    expect(toLead).toHaveLength(1);
    expect(String(toLead[0]!.payload.text)).toContain('✉️ Отправлено и по почте.');

    // The link takes it, for the lead, once.
    expect((await post(form(link))).status).toBe(200);
    expect((await post(form(link))).status).toBe(409);
    expect((await t.db.select().from(incidents))[0]).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'tg:2001' });
  });

  it('works through any number of undelivered criticals, each looked at once: those nobody can be mailed about never hold up the rest', async () => {
    const { client } = await fleet();
    // Another client whose manager has no address: its alert is looked at once and left to Telegram.
    await addUser(ctx(), { telegramId: 1003, role: 'manager', name: 'Олег Безпочтов' });
    const other = await addClient(ctx(), { name: 'АО «Вектор»', managerId: 1003, chatId: -1009999 });
    const harness = botHarness(t.db, clock);
    harness.setOutage(() => new Error('connect ECONNREFUSED'));
    const lose = async (clientId: number, name: string) => {
      const { installation } = await addInstallation(ctx(), { client: String(clientId), name, kind: 'local' });
      await ingestReport(t.db, DEFAULT_INCIDENT_SETTINGS, installation, parseReport(Buffer.from(`<report id="${name}"><senselock state="lost"/></report>`), 'xml', { tz: 'Europe/Moscow' }), clock());
    };
    await lose(other.id, 'Сервер Вектора');
    for (let i = 1; i <= 5; i++) await lose(client.id, `Сервер ${i}`);
    await harness.dispatcher().runOnce();
    clock.advance(FALLBACK);
    // Two at a time: the first two rows read are Вектор's (nobody to mail) and one of Ромашка's; the rest follow.
    expect(await runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK, batch: 2 }, clock())).toEqual({ mailed: 5 });
    expect(await undeliveredCriticalAlerts(t.db, clock(), 100)).toEqual([]);
    expect(await runMailFallback({ db: t.db, logger: silentLogger(), afterMs: FALLBACK, batch: 2 }, clock())).toEqual({ mailed: 0 });
    const mails = (await t.db.select().from(outbox).where(eq(outbox.kind, 'mail.alert'))).map((row) => row.chatId);
    expect(mails).toEqual([1001, 1001, 1001, 1001, 1001]);
  });

  it('a sender the relay refuses (553 to MAIL FROM) is no fault of the address: tried again, nobody flagged', async () => {
    const relay = await startSmtpServer('refuse-sender');
    const refusing = new Mailer({ url: relay.url(), from: 'dozor@example.ru', rejectUnauthorized: false });
    try {
      await fleet();
      await enqueue(t.db, { kind: MAIL_DIGEST, chatId: 1001, incidentId: null, payload: { text: 'Сводка' } }, clock());
      expect(await mailDispatcher(refusing).runOnce()).toEqual({ sent: 0, failed: 1, withdrawn: 0 });
      const [row] = await t.db.select().from(outbox).where(eq(outbox.kind, MAIL_DIGEST));
      expect(row).toMatchObject({ status: 'pending', attempts: 1 });
      expect(row!.lastError).toMatch(/^the mail server refused the message or its sender at MAIL FROM \(check MAIL_FROM and what the server allows\): 553/);
      expect((await getUser(t.db, 1001))!.emailFailure).toBeNull();
      expect(await t.db.select().from(outbox).where(eq(outbox.kind, 'system.notice'))).toEqual([]);
    } finally {
      refusing.close();
      await relay.close();
    }
  });

  it('names from outside are text in the mail and on the link page, and the subject stays one line', async () => {
    await fleet();
    const hostile = 'Ромашка <img src=x onerror=alert(1)> & "Ко"';
    await t.db.update((await import('../db/schema.ts')).clients).set({ name: hostile, chatId: null });
    await setUserMail(ctx(), 1001, { channel: 'email' });
    const { installation } = await addInstallation(ctx(), { client: '1', name: 'Сервер <script>alert(2)</script>', kind: 'local' });
    await ingestReport(t.db, DEFAULT_INCIDENT_SETTINGS, installation, parseReport(Buffer.from('<report id="h"><senselock state="lost"/></report>'), 'xml', { tz: 'Europe/Moscow' }), clock());
    const before = (await smtp.received()).length;
    await mailDispatcher().runOnce();
    const [mail] = (await smtp.received()).slice(before);
    // The client as people say it (quotes dropped, cut at 40 characters): a subject is plain text, one line.
    expect(mail!.subject).toBe('🔴 Ромашка <img src=x onerror=alert(1)> &… · Сервер <script>alert(2)</script>: ключ SenseLock не виден');
    const html = String(mail!.html);
    expect(html).not.toMatch(/<img src=x|<script>/);
    expect(html).toContain('Ромашка &lt;img src=x onerror=alert(1)&gt; &amp; &quot;Ко&quot;');
    expect(html).toContain('Сервер &lt;script&gt;alert(2)&lt;/script&gt;');
    const link = /href="([^"]+\/web\/take\?[^"]+)"/.exec(html)![1]!.replaceAll('&amp;', '&');
    const page = await (await fetch(link)).text();
    expect(page).not.toMatch(/<img src=x|<script>alert/);
    expect(page).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
  });

  it('a link opened after the incident ended, or by a person who no longer answers for it, takes nothing', async () => {
    const { report } = await fleet();
    await report('1', 'lost');
    const link = `${base}/web/take?${signTakeLink(KEY, { incidentId: 1, personId: 1001 })}`;
    // The client went to another manager meanwhile.
    await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров' });
    await t.db.update((await import('../db/schema.ts')).clients).set({ managerId: 1002 });
    expect((await post(form(link))).status).toBe(403);
    const denied = await t.db.select().from(auditLog).where(eq(auditLog.action, 'incident.acknowledge.denied'));
    expect(denied).toHaveLength(1);
    await report('2', 'ok');
    const page = await fetch(link);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('инцидент уже решён');
    // The new manager's own link, used once the incident is over: refused, and on record.
    const late = await post(form(`${base}/web/take?${signTakeLink(KEY, { incidentId: 1, personId: 1002 })}`));
    expect(late.status).toBe(410);
    expect(await late.text()).toContain('инцидент уже решён');
    const refused = await t.db.select().from(auditLog).where(eq(auditLog.action, 'incident.acknowledge.refused'));
    expect(refused.map((a) => [a.actor, a.subjectType, a.subjectId, a.details])).toEqual([['tg:1002', 'incident', '1', { via: 'mail link', why: 'resolved' }]]);
    expect((await t.db.select().from(incidents))[0]).toMatchObject({ status: 'resolved', acknowledgedBy: null });
  });

  it("a person's channel: email instead of Telegram, or both", async () => {
    const { report } = await fleet();
    await t.db.update((await import('../db/schema.ts')).clients).set({ chatId: null });
    await setUserMail(ctx(), 1001, { channel: 'email' });
    await report('1', 'lost');
    const kinds = async () => (await t.db.select().from(outbox)).map((row) => `${row.kind} -> ${row.chatId}`);
    expect(await kinds()).toEqual(['mail.alert -> 1001']);

    await setUserMail(ctx(), 1001, { channel: 'both' });
    await report('2', 'ok');
    await t.db.delete(outbox);
    await report('3', 'lost');
    expect((await kinds()).sort()).toEqual(['incident.opened -> 1001', 'mail.alert -> 1001']);
    const before = (await smtp.received()).length;
    await mailDispatcher().runOnce();
    const [mail] = (await smtp.received()).slice(before);
    expect(mail!.subject).toBe('🔴 Ромашка · Сервер офиса: ключ SenseLock не виден');
    expect(mail!.text).toContain('🙋 Беру');
    expect(mail!.text).toContain('вам настроены оповещения по почте');
  });

  it('without a mail server, a person whose alerts are set to come by mail gets them in Telegram, digest and all: nothing is swallowed', async () => {
    const { report } = await fleet();
    await t.db.update((await import('../db/schema.ts')).clients).set({ chatId: null });
    await setUserMail(ctx(), 1001, { channel: 'email' });
    await setUserMail(ctx(), 2001, { email: 'irina@example.ru', channel: 'email' });
    // The service started without SMTP_URL.
    await noteMailConfigured(t.db, false, clock());
    await report('1', 'lost');
    expect((await t.db.select().from(outbox)).map((row) => `${row.kind} -> ${row.chatId}`)).toEqual(['incident.opened -> 1001']);
    const compose = composeDigestForChannels(t.db, { tz: 'Europe/Moscow', salesMinDays: 3 }, { mail: false });
    const digest = await compose((await getUser(t.db, 2001))!, { personal: false, day: '2026-12-07' }, clock());
    expect(digest.messages.map((m) => m.kind)).toEqual(['digest.text']);
  });

  it('an address the server refuses (5xx) is not retried, shows on the person, and the admins hear of it once; other addresses go on', async () => {
    await fleet('nobody@gone.example.ru');
    await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров' });
    await setUserMail(ctx(), 1002, { email: 'petr@example.ru' });
    for (const [personId, incidentId] of [
      [1001, null],
      [1001, null],
      [1002, null],
    ] as const) {
      await enqueue(t.db, { kind: MAIL_DIGEST, chatId: personId, incidentId, payload: { text: '<b>📋 Сводка на 7 декабря</b> · тест' } }, clock());
    }
    const before = (await smtp.received()).length;
    // The dispatcher as the service runs it, its totals read by /metrics.
    const dispatcher = mailDispatcher();
    dispatcher.start();
    const waiting = () => t.db.select().from(outbox).where(and(eq(outbox.kind, MAIL_DIGEST), eq(outbox.status, 'pending')));
    for (let i = 0; i < 500 && (await waiting()).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await dispatcher.stop();
    expect((await smtp.received()).slice(before).map((m) => m.envelopeTo)).toEqual(['petr@example.ru']);
    expect(await t.db.select().from(outbox).where(eq(outbox.kind, MAIL_DIGEST))).toEqual([expect.objectContaining({ chatId: 1002, status: 'sent' })]);
    // One mail went; the two the server refused are done with, and counted as such, not as sent.
    const metrics = await createMetrics(t.db, clock, { mailDeliveries: () => dispatcher.deliveries() }).metrics();
    expect(metrics).toContain('dozor_mail_deliveries_total{outcome="sent"} 1');
    expect(metrics).toContain('dozor_mail_deliveries_total{outcome="failed"} 0');
    expect(metrics).toContain('dozor_mail_deliveries_total{outcome="withdrawn"} 2');
    const person = await getUser(t.db, 1001);
    expect(person!.emailFailure).toMatch(/^the mail server refused the address|^the mail server refused it/);
    const notices = (await t.db.select().from(outbox).where(eq(outbox.kind, 'system.notice'))).map((row) => [row.chatId, (row.payload as { text: string }).text]);
    expect(notices).toHaveLength(1);
    expect(notices[0]![0]).toBe(9001);
    expect(notices[0]![1]).toMatch(/^✉️ Почтовый сервер не принимает адрес nobody@gone\.example\.ru \(Ксения Шабанова, id 1001\): .*550.*dozor user set 1001 --email <адрес>\.$/);

    const card = dozorWithEnv({}, t.path, 'user', 'show', '1001');
    expect(card.stdout).toMatch(/^E-mail: nobody@gone\.example\.ru — REFUSED by the mail server since 2026-12-07T18:00:00\.000Z: .*550/m);
    expect(dozorWithEnv({}, t.path, 'user', 'list').stdout).toContain('nobody@gone.example.ru (refused)');
    // A new address has not failed.
    await setUserMail(ctx(), 1001, { email: 'ksenia@example.ru' });
    expect((await getUser(t.db, 1001))!.emailFailure).toBeNull();
  });

  it('a server answering «later» (4xx) is tried again with backoff, and holds up nobody else', async () => {
    const later = await startSmtpServer('refuse-4xx-once');
    const laterMailer = new Mailer({ url: later.url(), from: 'dozor@example.ru', rejectUnauthorized: false });
    try {
      await fleet();
      await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров' });
      await setUserMail(ctx(), 1002, { email: 'petr@example.ru' });
      await enqueue(t.db, { kind: MAIL_DIGEST, chatId: 1001, incidentId: null, payload: { text: 'Сводка 1' } }, clock());
      await enqueue(t.db, { kind: MAIL_DIGEST, chatId: 1002, incidentId: null, payload: { text: 'Сводка 2' } }, clock());
      const dispatcher = mailDispatcher(laterMailer);
      const first = await dispatcher.runOnce();
      expect(first).toEqual({ sent: 1, failed: 1, withdrawn: 0 });
      const waiting = await t.db.select().from(outbox).where(and(eq(outbox.kind, MAIL_DIGEST), eq(outbox.status, 'pending')));
      expect(waiting).toHaveLength(1);
      expect(waiting[0]!.lastError).toMatch(/the mail server asked to try later: 451/);
      clock.advance(1000);
      expect(await dispatcher.runOnce()).toEqual({ sent: 1, failed: 0, withdrawn: 0 });
      expect((await later.received()).map((m) => m.envelopeTo).sort()).toEqual(['ksenia@example.ru', 'petr@example.ru']);
    } finally {
      laterMailer.close();
      await later.close();
    }
  });

  it('a mail server down, then hung, keeps the mail in the outbox, tried again with backoff, until it goes', async () => {
    await fleet();
    const silent = await startSilentServer();
    const down = new Mailer({ url: `smtp://dozor:secret@127.0.0.1:${await closedPort()}`, from: 'dozor@example.ru', rejectUnauthorized: false });
    const hung = new Mailer({ url: `smtp://dozor:secret@127.0.0.1:${silent.port}`, from: 'dozor@example.ru', rejectUnauthorized: false, timeoutMs: 300 });
    let server: Mailer = down;
    const dispatcher = mailDispatcher({ send: (mail) => server.send(mail) });
    const row = async () => (await t.db.select().from(outbox).where(eq(outbox.kind, MAIL_DIGEST)))[0]!;
    try {
      await enqueue(t.db, { kind: MAIL_DIGEST, chatId: 1001, incidentId: null, payload: { text: '<b>📋 Сводка на 7 декабря</b> · тест' } }, clock());
      expect(await dispatcher.runOnce()).toEqual({ sent: 0, failed: 1, withdrawn: 0 });
      expect(await row()).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: new Date(clock().getTime() + 1000) });
      expect((await row()).lastError).toMatch(/^the mail server cannot be reached/);

      // Not before its time; then the server accepts the connection and says nothing.
      server = hung;
      expect(await dispatcher.runOnce()).toEqual({ sent: 0, failed: 0, withdrawn: 0 });
      clock.advance(1000);
      expect(await dispatcher.runOnce()).toEqual({ sent: 0, failed: 1, withdrawn: 0 });
      expect(await row()).toMatchObject({ status: 'pending', attempts: 2, nextAttemptAt: new Date(clock().getTime() + 2000), lastError: 'the mail server did not answer in time' });

      // Back: it goes, once.
      server = mailer;
      const before = (await smtp.received()).length;
      clock.advance(2000);
      expect(await dispatcher.runOnce()).toEqual({ sent: 1, failed: 0, withdrawn: 0 });
      expect(await row()).toMatchObject({ status: 'sent' });
      const mails = (await smtp.received()).slice(before);
      expect(mails.map((m) => [m.envelopeTo, m.subject])).toEqual([['ksenia@example.ru', '📋 Сводка на 7 декабря · тест']]);
    } finally {
      down.close();
      hung.close();
      await silent.close();
    }
  });

  it('a stop while the mail server hangs loses nothing: the mail in flight stays in the outbox and goes at the next start', async () => {
    await fleet();
    const silent = await startSilentServer();
    const hung = new Mailer({ url: `smtp://127.0.0.1:${silent.port}`, from: 'dozor@example.ru', rejectUnauthorized: false, timeoutMs: 60_000 });
    try {
      await enqueue(t.db, { kind: MAIL_DIGEST, chatId: 1001, incidentId: null, payload: { text: 'Сводка' } }, clock());
      const stopping = mailDispatcher(hung, 100);
      stopping.start();
      while (silent.connections() === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const asked = Date.now();
      await stopping.stop();
      // The stop waits out its grace, not the mail server's timeout.
      expect(Date.now() - asked).toBeLessThan(5_000);
      const [row] = await t.db.select().from(outbox).where(eq(outbox.kind, MAIL_DIGEST));
      expect(row).toMatchObject({ status: 'pending', attempts: 0 });
      const before = (await smtp.received()).length;
      expect(await mailDispatcher().runOnce()).toEqual({ sent: 1, failed: 0, withdrawn: 0 });
      expect((await smtp.received()).slice(before).map((m) => m.envelopeTo)).toEqual(['ksenia@example.ru']);
    } finally {
      hung.close();
      await silent.close();
    }
  });

  it("a lead's digest follows their channel; by mail its chart is inline", async () => {
    await fleet();
    await setUserMail(ctx(), 2001, { email: 'irina@example.ru', channel: 'email' });
    const compose = composeDigestForChannels(t.db, { tz: 'Europe/Moscow', salesMinDays: 3 }, { mail: true });
    const byMail = await compose((await getUser(t.db, 2001))!, { personal: false, day: '2026-12-07' }, clock());
    expect(byMail.messages.map((m) => m.kind)).toEqual(['mail.digest']);
    await setUserMail(ctx(), 2001, { channel: 'both' });
    const both = await compose((await getUser(t.db, 2001))!, { personal: false, day: '2026-12-07' }, clock());
    expect(both.messages.map((m) => m.kind)).toEqual(['digest.text', 'mail.digest']);
    const telegramOnly = await compose((await getUser(t.db, 1001))!, { personal: true, day: '2026-12-07' }, clock());
    expect(telegramOnly.messages.map((m) => m.kind)).toEqual(['digest.text']);

    // A chart as the digest draws it: a PNG, inline in the mail by its Content-ID.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    const text = String((byMail.messages[0]!.payload as { text: string }).text);
    await enqueue(t.db, { kind: MAIL_DIGEST, chatId: 2001, incidentId: null, payload: { text, png: png.toString('base64'), caption: 'Инциденты за 30 дней' } }, clock());
    const before = (await smtp.received()).length;
    await mailDispatcher().runOnce();
    const [mail] = (await smtp.received()).slice(before);
    expect(mail!.envelopeTo).toBe('irina@example.ru');
    expect(mail!.subject).toMatch(/^📋 Сводка на /);
    expect(mail!.attachments).toHaveLength(1);
    expect(mail!.attachments[0]).toMatchObject({ contentType: 'image/png', cid: 'digest-chart@dozor', contentDisposition: 'inline' });
    expect(mail!.attachments[0]!.content.equals(png)).toBe(true);
    // mailparser shows an inline picture in place, as a mail client does: the cid became the picture itself.
    expect(String(mail!.html)).toContain(`<img src="data:image/png;base64,${png.toString('base64')}" alt="Инциденты за 30 дней"`);
  });
});
