import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../app/config.ts';
import { mailAddress } from '../core/mail-address.ts';
import { Mailer, MailFailure } from '../mail/mailer.ts';
import { dozorWithEnv } from './cli-helpers.ts';
import { testClock, testDb, type TestDb } from './helpers.ts';
import { botHarness } from './bot-helpers.ts';
import { closedPort, startSilentServer, startSmtpServer, type TestSmtpServer } from './smtp-helpers.ts';
import { addUser, setUserMail } from '../registry/users.ts';
import { getUser } from '../db/users.ts';
import { auditLog } from '../db/schema.ts';
import { incidentView } from './incident-views.ts';
import { renderMailAlert, renderMailResolved } from '../mail/alert.ts';

/**
 * Mail against a real SMTP server in its own process (smtp-server, STARTTLS
 * on a self-signed certificate, AUTH): the test message of `dozor mail test`
 * as it arrives, parsed with mailparser; a refused login, a certificate not
 * trusted, a server down, one that never answers, 4xx and 5xx answers, each
 * said in words, with the password nowhere in what is printed.
 */
describe('mail', () => {
  let smtp: TestSmtpServer;
  let t: TestDb;
  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await smtp.close();
  });

  const env = (url: string, extra: Record<string, string> = {}) => ({ SMTP_URL: url, MAIL_FROM: 'dozor <dozor@example.ru>', SMTP_TLS_REJECT_UNAUTHORIZED: 'false', ...extra });

  it('dozor mail test sends through STARTTLS and AUTH, and prints what the server answered', async () => {
    t = await testDb();
    const result = dozorWithEnv(env(smtp.url()), t.path, 'mail', 'test', 'ksenia@example.ru');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Sent to ksenia@example\.ru through 127\.0\.0\.1:\d+\. The server answered: 250 Ok: queued as test-\d+\n$/);
    const [mail] = (await smtp.received()).slice(-1);
    expect(mail!.envelopeTo).toBe('ksenia@example.ru');
    expect(mail!.from?.value).toEqual([{ name: 'dozor', address: 'dozor@example.ru' }]);
    expect(mail!.subject).toBe('dozor: проверка почты');
    expect(mail!.text).toContain('Это проверочное письмо dozor.');
    await t.close();
  });

  it('says in words why mail cannot go, never printing the password', async () => {
    t = await testDb();
    const refused = dozorWithEnv(env(smtp.url('wrong-password-123')), t.path, 'mail', 'test', 'ksenia@example.ru');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^dozor: mail not sent: the mail server refused the login \(check the user and password in SMTP_URL\)/);
    expect(refused.stderr + refused.stdout).not.toContain('wrong-password-123');

    const untrusted = dozorWithEnv(env(smtp.url(), { SMTP_TLS_REJECT_UNAUTHORIZED: 'true' }), t.path, 'mail', 'test', 'ksenia@example.ru');
    expect(untrusted.status).toBe(1);
    expect(untrusted.stderr).toMatch(/certificate is not trusted or TLS failed .*SMTP_TLS_REJECT_UNAUTHORIZED=false accepts a self-signed one/);

    const down = dozorWithEnv(env(`smtp://dozor:secret@127.0.0.1:${await closedPort()}`), t.path, 'mail', 'test', 'ksenia@example.ru');
    expect(down.stderr).toMatch(/^dozor: mail not sent: the mail server cannot be reached/);

    const notSet = dozorWithEnv({}, t.path, 'mail', 'test', 'ksenia@example.ru');
    expect(notSet.stderr).toMatch(/SMTP_URL and MAIL_FROM are not set/);
    const badAddress = dozorWithEnv(env(smtp.url()), t.path, 'mail', 'test', 'ksenia@example.ru\r\nBcc: all@example.ru');
    expect(badAddress.stderr).toMatch(/не адрес электронной почты|is not an e-mail address/);
    expect((await smtp.received()).map((m) => m.envelopeTo)).not.toContain('all@example.ru');
    await t.close();
  });

  it('smtps:// speaks TLS from the first byte, as port 465 does, and checks the certificate as STARTTLS does', async () => {
    const tls = await startSmtpServer('ok', { secure: true });
    t = await testDb();
    try {
      expect(tls.url()).toMatch(/^smtps:\/\//);
      const sent = dozorWithEnv(env(tls.url()), t.path, 'mail', 'test', 'ksenia@example.ru');
      expect(sent.stderr).toBe('');
      expect(sent.status).toBe(0);
      expect(sent.stdout).toBe(`Sent to ksenia@example.ru through 127.0.0.1:${tls.port}. The server answered: 250 Ok: queued as test-1\n`);
      const [mail, ...more] = await tls.received();
      expect(more).toEqual([]);
      expect(mail!.envelopeTo).toBe('ksenia@example.ru');
      expect(mail!.subject).toBe('dozor: проверка почты');
      expect(mail!.text).toContain('Это проверочное письмо dozor.');

      const untrusted = dozorWithEnv(env(tls.url(), { SMTP_TLS_REJECT_UNAUTHORIZED: 'true' }), t.path, 'mail', 'test', 'ksenia@example.ru');
      expect(untrusted.status).toBe(1);
      expect(untrusted.stderr).toMatch(/^dozor: mail not sent: the mail server's certificate is not trusted or TLS failed .*SMTP_TLS_REJECT_UNAUTHORIZED=false accepts a self-signed one/);
      const refused = dozorWithEnv(env(tls.url('not-the-Passw0rd')), t.path, 'mail', 'test', 'ksenia@example.ru');
      expect(refused.stderr).toMatch(/^dozor: mail not sent: the mail server refused the login/);
      expect(refused.stderr + refused.stdout).not.toContain('not-the-Passw0rd');
      expect(await tls.received()).toHaveLength(1);
    } finally {
      await tls.close();
      await t.close();
    }
  });

  it('tells a server that never answers, 4xx («later») and 5xx («not this address») apart', async () => {
    const silent = await startSilentServer();
    try {
      const hung = new Mailer({ url: `smtp://127.0.0.1:${silent.port}`, from: 'dozor@example.ru', rejectUnauthorized: false, timeoutMs: 300 });
      const failure = await hung.send({ to: 'a@example.ru', subject: 's', text: 't' }).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(MailFailure);
      expect(failure).toMatchObject({ kind: 'timeout', retryable: true });
      hung.close();
    } finally {
      await silent.close();
    }

    const later = await startSmtpServer('refuse-4xx-once');
    const never = await startSmtpServer('refuse-5xx');
    try {
      const mailer = new Mailer({ url: later.url(), from: 'dozor@example.ru', rejectUnauthorized: false });
      const first = await mailer.send({ to: 'a@example.ru', subject: 'Ромашка', text: 'x' }).catch((err: unknown) => err);
      expect(first).toMatchObject({ kind: 'temporary', retryable: true, code: 451 });
      await expect(mailer.send({ to: 'a@example.ru', subject: 'Ромашка', text: 'x' })).resolves.toMatchObject({ response: expect.stringMatching(/^250 /) });
      expect(await later.received()).toHaveLength(1);
      mailer.close();

      const refusing = new Mailer({ url: never.url(), from: 'dozor@example.ru', rejectUnauthorized: false });
      const refusal = await refusing.send({ to: 'gone@example.ru', subject: 's', text: 't' }).catch((err: unknown) => err);
      expect(refusal).toMatchObject({ kind: 'address', retryable: false, code: 550 });
      refusing.close();
    } finally {
      await later.close();
      await never.close();
    }
  });

  it('keeps a subject to one line, whatever a name brings', async () => {
    const mailer = new Mailer({ url: smtp.url(), from: 'dozor@example.ru', rejectUnauthorized: false });
    await mailer.send({ to: 'a@example.ru', subject: 'ООО «Ромашка»\r\nBcc: all@example.ru', text: 'x' });
    mailer.close();
    const [mail] = (await smtp.received()).slice(-1);
    expect(mail!.subject).toBe('ООО «Ромашка» Bcc: all@example.ru');
    expect(mail!.bcc).toBeUndefined();
    expect(mail!.envelopeTo).toBe('a@example.ru');
  });

  it('an alert by mail: a subject to triage from the inbox, the anatomy in HTML and text, names escaped, its end in the same thread', async () => {
    const view = incidentView(
      { id: 42, ruleId: 'KodeksXmlSensLockStatus', details: { state: 'lost' }, openedAt: new Date('2026-12-07T18:00:00Z') },
      { installationName: 'Сервер <офиса>', clientName: 'ООО «Ромашка» & <script>' },
    );
    const options = { lang: 'ru' as const, tz: 'Europe/Moscow', now: new Date('2026-12-07T18:05:00Z'), runbookUrl: () => null, cabinetUrl: 'https://dozor.example.ru', domain: 'example.ru' };
    const take = 'https://dozor.example.ru/web/take?i=42&u=1001&s=c2lnbmVk';
    const mailer = new Mailer({ url: smtp.url(), from: 'dozor <dozor@example.ru>', rejectUnauthorized: false });
    await mailer.send(renderMailAlert(view, 'ksenia@example.ru', { ...options, takeLink: take, why: 'fallback' }));
    await mailer.send(renderMailResolved({ ...view, incident: { ...view.incident, status: 'resolved', resolvedAt: new Date('2026-12-07T19:05:00Z') } }, 'ksenia@example.ru', { ...options, now: new Date('2026-12-07T19:06:00Z') }));
    mailer.close();
    const [alert, resolved] = (await smtp.received()).slice(-2);
    expect(alert!.subject).toBe('🔴 Ромашка & <script> · Сервер <офиса>: ключ SenseLock не виден');
    expect(alert!.messageId).toBe('<incident-42@example.ru>');
    expect(alert!.text).toContain('🔴 Ключ SenseLock не виден\n🏢 ООО «Ромашка» & <script> · Сервер <офиса>\nКритично. Без ключа ПК перестаёт открывать базы');
    expect(alert!.text).toContain('⏱ Началось сегодня в 21:00, длится 5 минут');
    expect(alert!.text).toContain('Что делать:\n1. Связаться с сисадмином клиента');
    expect(alert!.text).toContain('Открыть в кабинете: https://dozor.example.ru/web/incidents#incident-42');
    expect(alert!.text).toContain(`🙋 Беру (взять в работу): ${take}`);
    const html = String(alert!.html);
    expect(html).toContain('ООО «Ромашка» &amp; &lt;script&gt;');
    expect(html).not.toContain('<script>');
    // The HTML part, as a mail client shows it, has the same anatomy: how bad, since when, what to do, then the two links.
    expect(html).toContain('🔴 <b>Ключ SenseLock не виден</b><br>');
    expect(html).toContain('<b>Критично.</b> Без ключа ПК перестаёт открывать базы: пользователи не смогут работать.<br>');
    expect(html).toContain('⏱ Началось сегодня в 21:00, длится 5 минут<br>');
    expect(html).toContain('<b>Что делать:</b><br>\n1. Связаться с сисадмином клиента');
    expect(html).toMatch(/<a href="https:\/\/dozor\.example\.ru\/web\/take\?i=42&amp;u=1001&amp;s=c2lnbmVk" style="display: inline-block;[^"]*"><b>🙋 Беру<\/b><\/a> — взять в работу \(ссылка только для вас и только для этого оповещения\)/);
    expect(html).toContain('<a href="https://dozor.example.ru/web/incidents#incident-42">Открыть в кабинете</a>');
    expect(html).toContain('<small>Письмо от dozor: Telegram не доставил это критичное оповещение вовремя, поэтому оно пришло и по почте.</small>');
    // In that order, as in Telegram.
    const order = ['Ключ SenseLock не виден', 'Критично.', '⏱ Началось', 'Что делать:', '🙋 Беру', 'Открыть в кабинете'].map((part) => html.indexOf(part));
    expect(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!))).toBe(true);
    expect(resolved!.subject).toBe('☑️ Решено: 🔴 Ромашка & <script> · Сервер <офиса>: ключ SenseLock не виден');
    expect(resolved!.inReplyTo).toBe('<incident-42@example.ru>');
    expect(resolved!.references).toBe('<incident-42@example.ru>');
    expect(resolved!.text).toContain('ключ SenseLock снова виден, сегодня в 22:05; длилось 1 час 5 минут');
  });

  it('/email: a person gives their own address, and it is theirs once they send back the code mailed to it', async () => {
    t = await testDb();
    const clock = testClock('2026-12-07T09:00:00Z');
    const ctx = { db: t.db, clock, actor: 'test' };
    await addUser(ctx, { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова' });
    const mailer = new Mailer({ url: smtp.url(), from: 'dozor <dozor@example.ru>', rejectUnauthorized: false });
    const h = botHarness(t.db, clock, {}, { sendMail: async (mail) => void (await mailer.send(mail)) });
    const ksenia = { id: 1001, first_name: 'Ксения' };
    const said = () => String(h.lastSent('sendMessage')!.payload.text);
    try {
      await h.say(ksenia, '/email');
      expect(said()).toMatch(/^Адрес почты не указан/);
      await h.say(ksenia, '/email ksenia@example.ru');
      expect(said()).toBe('Код отправлен на ksenia@example.ru. Пришлите его сюда: /email 123456 (вместо 123456 — код из письма). Код действует 15 минут.');
      const [mail] = (await smtp.received()).slice(-1);
      expect(mail!.envelopeTo).toBe('ksenia@example.ru');
      expect(mail!.subject).toBe('dozor: код подтверждения адреса');
      const code = /\/email (\d{6})/.exec(String(mail!.text))![1]!;
      // Nothing is set before the code comes back; a wrong one is counted.
      expect((await getUser(t.db, 1001))!.email).toBeNull();
      const wrong = code === '000000' ? '111111' : '000000';
      await h.say(ksenia, `/email ${wrong}`);
      expect(said()).toBe('Код не подходит. Осталось попыток: 4.');
      await h.say(ksenia, `/email ${code}`);
      expect(said()).toBe('Адрес ksenia@example.ru подтверждён. Критичные оповещения, которые Telegram не доставит, придут туда.');
      expect(await getUser(t.db, 1001)).toMatchObject({ email: 'ksenia@example.ru', channel: 'telegram' });
      // A code works once.
      await h.say(ksenia, `/email ${code}`);
      expect(said()).toMatch(/^Кода, который ждёт подтверждения, нет/);
      await h.say(ksenia, '/email -');
      expect((await getUser(t.db, 1001))!.email).toBeNull();
      // An address that would add a header is refused before anything is mailed.
      const before = (await smtp.received()).length;
      await h.say(ksenia, '/email a@example.ru, b@example.ru');
      expect(said()).toMatch(/не адрес электронной почты/);
      expect(await smtp.received()).toHaveLength(before);
      // Five wrong codes end it.
      await h.say(ksenia, '/email ksenia@example.ru');
      for (let i = 0; i < 5; i++) await h.say(ksenia, `/email ${wrong}`);
      expect(said()).toBe('Слишком много неверных кодов: начните заново, /email адрес.');
      // The code expires.
      await h.say(ksenia, '/email ksenia@example.ru');
      clock.advance(16 * 60_000);
      const [again] = (await smtp.received()).slice(-1);
      await h.say(ksenia, `/email ${/\/email (\d{6})/.exec(String(again!.text))![1]!}`);
      expect(said()).toMatch(/^Кода, который ждёт подтверждения, нет \(или он истёк\)/);
      // Three codes within the hour were mailed (09:00 and twice since): a fourth waits until the first is an hour old.
      const mailed = (await smtp.received()).length;
      await h.say(ksenia, '/email ksenia@example.ru');
      expect(said()).toBe('За последний час коды уже отправлены трижды. Следующий можно запросить через 44 мин.');
      await h.say(ksenia, '/email other@example.ru');
      expect(said()).toBe('За последний час коды уже отправлены трижды. Следующий можно запросить через 44 мин.');
      expect(await smtp.received()).toHaveLength(mailed);
      clock.set('2026-12-07T10:00:01Z');
      await h.say(ksenia, '/email ksenia@example.ru');
      expect(said()).toMatch(/^Код отправлен на ksenia@example\.ru\./);
      expect(await smtp.received()).toHaveLength(mailed + 1);
    } finally {
      mailer.close();
      await t.close();
    }
  });

  it('/email says mail is not set up when there is no SMTP_URL', async () => {
    t = await testDb();
    const clock = testClock('2026-12-07T09:00:00Z');
    await addUser({ db: t.db, clock, actor: 'test' }, { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова' });
    const h = botHarness(t.db, clock);
    await h.say({ id: 1001, first_name: 'Ксения' }, '/email ksenia@example.ru');
    expect(String(h.lastSent('sendMessage')!.payload.text)).toBe('Почта в dozor не настроена (SMTP_URL): адрес указать пока нельзя. Скажите администратору.');
    await t.close();
  });

  it('takes one plain address and nothing that could start a header', () => {
    expect(mailAddress(' Ksenia@Example.RU ')).toBe('Ksenia@example.ru');
    for (const bad of ['', 'ksenia', 'a@b', 'a b@example.ru', 'a@example.ru\r\nBcc: x@example.ru', '"Ксения" <a@example.ru>', 'a@example.ru, b@example.ru', 'a..b@example.ru']) {
      expect(mailAddress(bad), bad).toBeNull();
    }
  });

  it('refuses a mail setup that cannot work, saying why and never echoing the password', () => {
    const attempt = (env: Record<string, string>) => {
      try {
        parseConfig(env);
        return null;
      } catch (err) {
        return err instanceof ConfigError ? err.message : String(err);
      }
    };
    expect(attempt({ SMTP_URL: 'smtp://dozor:hunter2-secret@mail.example.ru:587' })).toMatch(/MAIL_FROM.*must be set when SMTP_URL is/);
    expect(attempt({ SMTP_URL: 'http://mail.example.ru', MAIL_FROM: 'dozor@example.ru' })).toMatch(/SMTP_URL.*expected a mail server address/);
    expect(attempt({ SMTP_URL: 'smtp://mail.example.ru', MAIL_FROM: 'dozor@example.ru\r\nBcc: x@example.ru' })).toMatch(/MAIL_FROM/);
    expect(attempt({ SMTP_URL: 'smtp://dozor:hunter2-secret@mail.example.ru:587' })).not.toContain('hunter2-secret');
    expect(attempt({ SMTP_URL: 'smtps://dozor:p@mail.example.ru:465', MAIL_FROM: 'dozor <dozor@example.ru>' })).toBeNull();
    expect(parseConfig({}).EMAIL_FALLBACK_AFTER).toBe(180_000);
  });

  it('dozor user set gives a person an address and a channel; mail needs an address', async () => {
    t = await testDb();
    const ctx = { db: t.db, clock: () => new Date('2026-12-07T09:00:00Z'), actor: 'test' };
    await addUser(ctx, { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова' });
    await expect(setUserMail(ctx, 1001, { channel: 'email' })).rejects.toThrow(/needs an e-mail address|нужен адрес почты/);
    await expect(setUserMail(ctx, 1001, { email: 'k@example.ru\nBcc: x@example.ru' })).rejects.toThrow(/адрес электронной почты|e-mail address/);
    await setUserMail(ctx, 1001, { email: 'k@example.ru', channel: 'both' });
    expect(await getUser(t.db, 1001)).toMatchObject({ email: 'k@example.ru', channel: 'both' });
    // Without an address, alerts go back to Telegram.
    await setUserMail(ctx, 1001, { email: null });
    expect(await getUser(t.db, 1001)).toMatchObject({ email: null, channel: 'telegram' });
    const cli = dozorWithEnv({}, t.path, 'user', 'set', '1001', '--email', 'ksenia@example.ru', '--channel', 'email');
    expect(cli.stdout).toBe('Ксения Шабанова (1001): e-mail ksenia@example.ru; alerts and digest by e-mail.\n');
    expect(dozorWithEnv({}, t.path, 'user', 'list').stdout).toMatch(/EMAIL +ALERTS BY\n1001 +Ксения Шабанова +manager +yes +ksenia@example\.ru +email\n/);

    // A channel that is not one is refused in words, and nothing is written.
    const audited = async () => (await t.db.select().from(auditLog).where(eq(auditLog.action, 'user.mail'))).length;
    const before = await audited();
    const wrong = dozorWithEnv({}, t.path, 'user', 'set', '1001', '--channel', 'sms');
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toMatch(/^dozor: ("sms" is not a channel: telegram, email or both|«sms» — не канал: telegram, email или both)\n$/);
    expect(await getUser(t.db, 1001)).toMatchObject({ email: 'ksenia@example.ru', channel: 'email' });
    expect(await audited()).toBe(before);
    // --channel telegram: the address stays, alerts come in Telegram.
    const telegram = dozorWithEnv({}, t.path, 'user', 'set', '1001', '--channel', 'telegram');
    expect(telegram.stdout).toBe('Ксения Шабанова (1001): e-mail ksenia@example.ru; alerts and digest by Telegram.\n');
    expect(await getUser(t.db, 1001)).toMatchObject({ email: 'ksenia@example.ru', channel: 'telegram' });
    // --email - clears it, and a channel with mail then brings the alerts back to Telegram.
    dozorWithEnv({}, t.path, 'user', 'set', '1001', '--channel', 'both');
    const cleared = dozorWithEnv({}, t.path, 'user', 'set', '1001', '--email', '-');
    expect(cleared.stdout).toBe('Ксения Шабанова (1001): e-mail none; alerts and digest by Telegram.\n');
    expect(await getUser(t.db, 1001)).toMatchObject({ email: null, channel: 'telegram' });
    expect(dozorWithEnv({}, t.path, 'user', 'show', '1001').stdout).not.toContain('ksenia@example.ru');
    await t.close();
  });
});
