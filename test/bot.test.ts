import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { getAccessRequest } from '../db/access-requests.ts';
import { getIncident, listIncidentsWithNames } from '../db/incidents.ts';
import { auditLog, clients, installations, outbox, silences, telegramMessages } from '../db/schema.ts';
import { getUser, updateUser } from '../db/users.ts';
import { listClients } from '../db/clients.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { recordProbe } from '../db/probes.ts';
import { addUser, setUserActive } from '../registry/users.ts';
import { count, plural, formatSpan } from '../i18n/format.ts';
import { postReport, seedFleet, startIntake, testClock, testDb, type TestDb, type TestIntake } from './helpers.ts';
import { botHarness, buttonsOf, type Person } from './bot-helpers.ts';
import { writeTransaction } from '../db/transaction.ts';
import { closeDatabase } from '../db/open.ts';
import { onPostgres } from './pg-helpers.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { activeSilences, loadSubject, openIncident } from '../incidents/lifecycle.ts';
import { addSilence, removeSilence } from '../registry/silences.ts';
import { getClientStatus } from '../db/status.ts';
import { renderClientStatus } from '../bot/render/status.ts';
import { ru } from '../i18n/ru.ts';

const admin: Person = { id: 3001, first_name: 'Анна', last_name: 'Админова' };
const lead: Person = { id: 2001, first_name: 'Ирина' };
const manager: Person = { id: 1001, first_name: 'Ксения' };
const otherManager: Person = { id: 1002, first_name: 'Пётр' };
const stranger: Person = { id: 5555, first_name: 'Незнакомец', username: 'stranger' };
const english: Person = { id: 1003, first_name: 'John', language_code: 'en' };

describe('the Telegram bot', () => {
  const clock = testClock('2023-02-15T18:00:00Z');
  let t: TestDb;
  let intake: TestIntake;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  let h: ReturnType<typeof botHarness>;
  const ctx = (actor = 'test') => ({ db: t.db, clock, actor });
  let seq = 0;
  const report = (body: string, token = fleet.token) => postReport(intake.url, `<report id="b${++seq}">${body}</report>`, { token });
  const texts = () => h.calls.filter((c) => c.method === 'sendMessage').map((c) => String(c.payload.text));

  beforeEach(async () => {
    clock.set('2023-02-15T18:00:00Z');
    t = await testDb();
    fleet = await seedFleet(ctx());
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна Админова' });
    await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров' });
    await addUser(ctx(), { telegramId: 1003, role: 'manager', name: 'John Smith', leadId: 2001 });
    const vector = await addClient(ctx(), { name: 'АО «Вектор»', inn: '7801234567', managerId: 1002 });
    await addInstallation(ctx(), { client: String(vector.id), name: 'Облако', kind: 'cloud', host: 'vector.cloud.example' });
    await addClient(ctx(), { name: 'ООО «Ромашка-Юг»', managerId: 1002 });
    intake = await startIntake(t.db, clock);
    h = botHarness(t.db, clock);
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  describe('staff access', () => {
    it('refuses an unknown user and tells them how to ask', async () => {
      await h.say(stranger, '/status Ромашка');
      expect(texts()).toEqual(['Нет доступа. Отправьте /start, чтобы запросить его.']);
    });

    it('ignores strangers in groups', async () => {
      await h.say(stranger, '/status Ромашка', -100777);
      expect(h.calls).toEqual([]);
    });

    it('/start tells a stranger their id and sends the request to every admin with buttons', async () => {
      await h.say(stranger, '/start');
      const [toAdmin, toStranger] = h.sent();
      expect(toAdmin!.payload.chat_id).toBe(3001);
      expect(String(toAdmin!.payload.text)).toContain('Незнакомец (@stranger)');
      expect(buttonsOf(toAdmin).map((b) => b.data)).toEqual(['req:manager:5555', 'req:lead:5555', 'req:refuse:5555']);
      expect(toStranger!.payload.chat_id).toBe(5555);
      expect(String(toStranger!.payload.text)).toContain('<code>5555</code>');
      expect((await getAccessRequest(t.db, 5555))?.status).toBe('pending');
    });

    it('approval by an admin makes a manager and greets them; a second press says it is decided', async () => {
      await h.say(stranger, '/start');
      h.clear();
      await h.press(admin, 'req:manager:5555', { chatId: 3001, messageId: 1 });
      expect(await getUser(t.db, 5555)).toMatchObject({ role: 'manager', name: 'Незнакомец', active: true });
      expect(h.sent().map((c) => c.payload.chat_id)).toEqual([5555]);
      expect(String(h.lastSent('answerCallbackQuery')!.payload.text)).toContain('Одобрено как «менеджер»');
      await h.press(admin, 'req:lead:5555', { chatId: 3001, messageId: 1 });
      expect(String(h.lastSent('answerCallbackQuery')!.payload.text)).toBe('Решение по этому запросу уже принято.');
      expect((await getUser(t.db, 5555))!.role).toBe('manager');
    });

    it('only admins decide on access, whatever the button says', async () => {
      await h.say(stranger, '/start');
      await h.press(manager, 'req:lead:5555', { chatId: 1001, messageId: 1 });
      expect(await getUser(t.db, 5555)).toBeUndefined();
      expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ text: 'Это только для администраторов.', show_alert: true });
      expect(await t.db.select().from(auditLog).where(eq(auditLog.action, 'access.decide.denied'))).toHaveLength(1);
    });

    it('a disabled user is cut off at once', async () => {
      await setUserActive(ctx('cli:root'), 1001, false);
      await h.say(manager, '/status Ромашка');
      expect(texts()).toEqual(['Ваш доступ отключён.']);
    });
  });

  describe('/status', () => {
    beforeEach(async () => {
      await report('<shell version="6.4.3.59"/><update number="2251" operap-date="2023-02-14"/><service state="running" account="user"/><senselock state="ok"/><storage path="\\\\nas\\kodeks" reachable="true"/><kit assembled="true" daily-update="true" copybaseweb="true"/>');
      clock.advance(5 * 60_000);
    });

    it('answers an exact name with the card, verdict first', async () => {
      await h.say(manager, '/status ООО «Ромашка»');
      const card = texts()[0]!;
      expect(card.split('\n')).toEqual([
        '🏢 <b>ООО «Ромашка»</b> · ИНН 7701234567',
        'Менеджер: Ксения Шабанова',
        '',
        '🖥 <b>Сервер офиса</b> — ✅ Всё в порядке',
        // What is fine, one short line per area: the card is read on a phone.
        '✅ Отчёт 5 минут назад',
        '✅ ПК 6.4.3.59, служба работает',
        '✅ Ключ на месте',
        '✅ Операп вчера, обновление №2251, хранилище доступно, комплект собран, обновления включены',
        '🌐 romashka.example.ru · 10.1.2.3',
      ]);
    });

    it('names the installation\'s upload name beside its own, escaped, in Russian and English', async () => {
      await t.db.update(installations).set({ uploadName: 'ROMASHKA' }).where(eq(installations.id, fleet.installation.id));
      await h.say(manager, '/status ООО «Ромашка»');
      expect(texts()[0]!.split('\n')[3]).toBe('🖥 <b>Сервер офиса</b> (имя загрузки <code>ROMASHKA</code>) — ✅ Всё в порядке');
      // A name stored before names were checked is text, not markup.
      await t.db.update(installations).set({ uploadName: 'R<b>&' }).where(eq(installations.id, fleet.installation.id));
      const status = (await getClientStatus(t.db, fleet.client.id, clock()))!;
      expect(renderClientStatus(status, 'en', 'Europe/Moscow', clock())).toContain('🖥 <b>Сервер офиса</b> (upload name <code>R&lt;b&gt;&amp;</code>) — ✅ All good');
    });

    it('shows the network as the probes see it, a silence in force, and a stale report flagged', async () => {
      await recordProbe(t.db, fleet.installation.id, 'icmp', { ok: true, latencyMs: 3, error: null, detail: null }, undefined, clock());
      await recordProbe(t.db, fleet.installation.id, 'dns', { ok: false, latencyMs: null, error: 'romashka.example.ru does not resolve: ENOTFOUND', detail: null }, undefined, clock());
      await h.say(manager, '/silence Ромашка 2ч переезд сервера');
      clock.advance(7 * 3600_000);
      await h.say(manager, '/status Ромашка');
      const card = texts()[1]!;
      expect(card).toContain('🖥 <b>Сервер офиса</b> — ⚠️ Есть отклонения');
      expect(card).toContain('⚠️ Последний отчёт: 7 часов 5 минут назад (вчера в 21:00)');
      expect(card).toContain('⚠️ Сеть, DNS: имя не находится в DNS');
      // The probes in words: what answers on the network line, what fails among the problems.
      expect(card).toContain('\n🌐 romashka.example.ru · 10.1.2.3: сервер отвечает');
      expect(card).not.toMatch(/ping ✅|DNS ❌/u);
      expect(card).not.toContain('💤');
      await h.say(manager, '/silence Ромашка до утра');
      await h.say(manager, '/status Ромашка');
      expect(texts()[3]).toContain('🖥 <b>Сервер офиса</b> — ⚠️ Есть отклонения\n💤 Все оповещения отложены до 09:00');
    });

    it('never ticks a fact that is the stated cause of an open problem, and keeps the card short', async () => {
      await report('<service state="running" account="system"/><storage reachable="false"/><kit daily-update="false"/>');
      await h.say(manager, '/status Ромашка');
      const card = texts()[0]!.split('\n');
      expect(card).toContain('⚠️ Служба: работает (системная учётная запись) — вероятная причина проблем');
      expect(card.filter((line) => line.startsWith('✅')).join('\n')).not.toContain('служба');
      expect(card.length).toBeLessThanOrEqual(15);
      expect(Math.max(...card.map((line) => line.length))).toBeLessThan(130);
    });

    it('takes free text in a private chat as a question about a client', async () => {
      await h.say(manager, 'ромашка');
      expect(texts()[0]).toContain('🏢 <b>ООО «Ромашка»</b>');
    });

    it('finds a client with a typo, in any case, or by INN', async () => {
      await h.say(manager, '/status рамашка офис');
      await h.say(manager, '/status 7801234567');
      const [first, second] = texts();
      expect(first).toContain('ООО «Ромашка»');
      expect(second).toContain('АО «Вектор»');
    });

    it('offers buttons when several clients match', async () => {
      await h.say(manager, '/status Ромаш');
      expect(texts()[0]).toBe('Нашлось несколько клиентов, выберите:');
      const buttons = buttonsOf(h.lastSent());
      expect(new Set(buttons.map((b) => b.text))).toEqual(new Set(['ООО «Ромашка»', 'ООО «Ромашка-Юг»']));
      await h.press(manager, buttons.find((b) => b.text === 'ООО «Ромашка»')!.data, { chatId: 1001, messageId: 1 });
      expect(texts()[1]).toContain('Сервер офиса');
    });

    it('says what is wrong for a broken client, with open incidents and who took them', async () => {
      await report('<senselock state="lost"/>');
      clock.advance(2 * 3600_000);
      await h.say(manager, '/status Ромашка');
      const card = texts()[0]!;
      // The verdict counts; each title once, in the list; what is wrong marked and first.
      expect(card).toContain('🖥 <b>Сервер офиса</b> — ❌ 1 проблема\n • 🔴 Ключ SenseLock не виден — 2 часа, никто не взял в работу\n⚠️ Ключ SenseLock: потерян\n✅ ');
    });

    it('alone lists the caller\'s clients with problems', async () => {
      await h.say(manager, '/status');
      expect(texts()[0]).toBe('✅ У ваших клиентов всё в порядке.');
      await report('<service state="stopped"/>');
      await h.say(manager, '/status');
      expect(texts()[1]).toContain('🔴 ООО «Ромашка»: 1 проблема, никто не взял в работу');
      await h.say(otherManager, '/status');
      expect(texts()[2]).toBe('✅ У ваших клиентов всё в порядке.');
    });

    it('finds a client added after the search index was built', async () => {
      await h.say(manager, '/status Ландыш');
      expect(texts()[0]).toContain('Не нашёл');
      await addClient(ctx(), { name: 'ООО «Ландыш»', managerId: 1001 });
      await h.say(manager, '/status Ландыш');
      expect(texts()[1]).toContain('🏢 <b>ООО «Ландыш»</b>');
    });

    it('says when nothing matches', async () => {
      await h.say(manager, '/status Газпром');
      expect(texts()[0]).toBe('Не нашёл клиента по запросу «Газпром».');
    });
  });

  describe('alerts', () => {
    it('sends an alert: what and where, how bad, since when, the facts, what to do, the runbook, and buttons; the rule id behind «Подробнее»', async () => {
      await report('<senselock state="lost"/>');
      await h.dispatcher().runOnce();
      const alert = h.lastSent()!;
      expect(alert.payload.chat_id).toBe(1001);
      expect(alert.payload.parse_mode).toBe('HTML');
      const text = String(alert.payload.text);
      expect(text.split('\n').slice(0, 5)).toEqual([
        '🔴 <b>Ключ SenseLock не виден</b>',
        '🏢 <b>ООО «Ромашка»</b> · Сервер офиса',
        '<b>Критично.</b> Без ключа ПК перестаёт открывать базы: пользователи не смогут работать.',
        '⏱ Началось сегодня в 21:00, длится меньше минуты',
        'Ключ SenseLock: потерян',
      ]);
      expect(text).toContain('<b>Что делать:</b>\n1. Связаться с сисадмином клиента и попросить удалённый доступ.');
      expect(text).toContain('📖 <a href="https://dozor.example.ru/runbooks/KodeksXmlSensLockStatus.md">Инструкция полностью</a>');
      expect(text.replace(/href="[^"]*"/, '')).not.toContain('KodeksXmlSensLockStatus');
      const incident = (await listIncidentsWithNames(t.db, { includeResolved: false }))[0]!;
      expect(buttonsOf(alert)).toEqual([
        { text: '🙋 Беру', data: `ack:${incident.id}` },
        { text: '⏰ Напомнить через час', data: `snz:h:${incident.id}` },
        { text: '💤 До утра', data: `snz:m:${incident.id}` },
        { text: '🏢 Статус', data: `st:${fleet.installation.id}` },
        { text: 'ℹ️ Подробнее', data: `more:${incident.id}` },
      ]);
      // «Подробнее»: the alert's name in dozor and in SMART, as a reply.
      await h.press(manager, `more:${incident.id}`, { chatId: 1001, messageId: 1000 });
      expect(h.lastSent('sendMessage')!.payload.text).toBe(
        `<b>ℹ️ Подробнее: как это оповещение называется</b>\n№${incident.id} · ООО «Ромашка» · Сервер офиса: Ключ SenseLock не виден — <code>KodeksXmlSensLockStatus</code> (в SMART так же)`,
      );
    });

    const sendAlert = async () => {
      await report('<senselock state="lost"/>');
      await h.dispatcher().runOnce();
      const alert = h.lastSent()!;
      const incident = (await listIncidentsWithNames(t.db, { includeResolved: false }))[0]!;
      const { messageId } = (await t.db.select().from(telegramMessages)).find((m) => m.incidentId === incident.id && m.kind === 'alert')!;
      return { incident, chatId: alert.payload.chat_id as number, messageId };
    };

    it('takes it in hand on «Беру»: records who, answers, edits the message for everyone', async () => {
      const { incident, chatId, messageId } = await sendAlert();
      clock.advance(5 * 60_000);
      await h.press(manager, `ack:${incident.id}`, { chatId, messageId });
      expect(await getIncident(t.db, incident.id)).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'tg:1001' });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('В работе 🛠');
      const edit = h.lastSent('editMessageText')!;
      expect(edit.payload).toMatchObject({ chat_id: chatId, message_id: messageId });
      expect(String(edit.payload.text)).toContain('🛠 В работе: Ксения Шабанова, с 21:05');
      expect(buttonsOf(edit).map((b) => b.text)).toEqual(['🏢 Статус', 'ℹ️ Подробнее']);
      expect(h.incidentChanges).toBe(1);
    });

    it('a second press says who already took it', async () => {
      const { incident, chatId, messageId } = await sendAlert();
      await h.press(manager, `ack:${incident.id}`, { chatId, messageId });
      await h.press(lead, `ack:${incident.id}`, { chatId, messageId });
      expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ text: 'Уже в работе: Ксения Шабанова, с 21:00', show_alert: true });
      expect((await getIncident(t.db, incident.id))!.acknowledgedBy).toBe('tg:1001');
    });

    it('the team lead and admins may acknowledge; another manager may not, and it is audited', async () => {
      const { incident, chatId, messageId } = await sendAlert();
      await h.press(otherManager, `ack:${incident.id}`, { chatId, messageId });
      expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
      expect(String(h.lastSent('answerCallbackQuery')!.payload.text)).toMatch(/ответственный менеджер/);
      expect((await getIncident(t.db, incident.id))!.status).toBe('open');
      expect(await t.db.select().from(auditLog).where(eq(auditLog.action, 'incident.acknowledge.denied'))).toHaveLength(1);
      await h.press(lead, `ack:${incident.id}`, { chatId, messageId });
      expect(await getIncident(t.db, incident.id)).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'tg:2001' });
    });

    it('refuses a forged or stale button', async () => {
      await h.press(manager, 'ack:999999', { chatId: 1001, messageId: 1 });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Инцидент уже решён');
      await h.press(manager, 'ack:not-a-number', { chatId: 1001, messageId: 1 });
      expect(h.calls.filter((c) => c.method === 'answerCallbackQuery')).toHaveLength(2);
    });

    it('edits the original message when the incident resolves, with its duration', async () => {
      const { chatId, messageId } = await sendAlert();
      clock.advance(77 * 60_000);
      await report('<senselock state="ok"/>');
      await h.dispatcher().runOnce();
      const edit = h.lastSent('editMessageText')!;
      expect(edit.payload).toMatchObject({ chat_id: chatId, message_id: messageId });
      expect(String(edit.payload.text)).toContain('☑️ Решено, длилось 1 час 17 минут');
      expect(buttonsOf(edit)).toEqual([]);
    });

    it('asks before putting a critical off till morning, and tells the lead who put it off until when', async () => {
      const { incident, chatId, messageId } = await sendAlert();
      await h.press(manager, `snz:m:${incident.id}`, { chatId, messageId });
      // Nothing is put off yet: a question, as a reply to the alert.
      expect(await t.db.select().from(silences)).toEqual([]);
      const question = h.lastSent('sendMessage')!;
      expect(question.payload.text).toBe('Отложить критичное «Ключ SenseLock не виден» до 09:00 завтра? Руководитель узнает: Ирина Петрова.');
      expect(question.payload.reply_parameters).toMatchObject({ message_id: messageId });
      expect(buttonsOf(question)).toEqual([
        { text: '💤 Да, до 09:00 завтра', data: `snz:M:${incident.id}` },
        { text: 'Не откладывать', data: 'snz:no' },
      ]);
      await h.press(manager, 'snz:no', { chatId, messageId: 1001 });
      expect(h.lastSent('editMessageText')!.payload).toMatchObject({ message_id: 1001, text: 'Не отложено: оповещение ждёт, кто возьмёт его в работу.' });
      expect(await t.db.select().from(silences)).toEqual([]);

      await h.press(manager, `snz:M:${incident.id}`, { chatId, messageId: 1001 });
      expect(h.lastSent('editMessageText')!.payload).toMatchObject({ message_id: 1001, text: '💤 Отложено до 09:00 завтра. Руководитель узнает: Ирина Петрова.' });
      await h.dispatcher().runOnce();
      const toLead = h.sent('sendMessage').filter((c) => c.payload.chat_id === 2001);
      expect(toLead).toHaveLength(1);
      expect(String(toLead[0]!.payload.text).split('\n').slice(0, 4)).toEqual([
        '💤 Ксения Шабанова отложила критичное оповещение до 09:00 завтра',
        'Если ждать нельзя, возьмите его в работу сами или позвоните менеджеру.',
        '',
        '🔴 <b>Ключ SenseLock не виден</b>',
      ]);
      expect(buttonsOf(toLead[0]!).map((b) => b.text)).toContain('🙋 Беру');
      // The alert itself says who put it off, in the manager's chat.
      expect(String(h.sent('editMessageText').filter((c) => c.payload.message_id === messageId).at(-1)!.payload.text)).toContain('💤 Ксения Шабанова отложила до 09:00 завтра');
    });

    it('between 08:00 and 09:00 «До утра» is minutes away, and the lead is still told as promised, in Russian and English', async () => {
      clock.set('2023-02-16T05:20:00Z');
      const { incident, chatId, messageId } = await sendAlert();
      await h.press(manager, `snz:m:${incident.id}`, { chatId, messageId });
      expect(h.lastSent()!.payload.text).toBe('Отложить критичное «Ключ SenseLock не виден» до 09:00? Руководитель узнает: Ирина Петрова.');
      await h.press(manager, `snz:M:${incident.id}`, { chatId, messageId: 1001 });
      expect(h.lastSent('editMessageText')!.payload.text).toBe('💤 Отложено до 09:00. Руководитель узнает: Ирина Петрова.');
      await h.dispatcher().runOnce();
      const toLead = h.sent('sendMessage').filter((c) => c.payload.chat_id === 2001);
      expect(toLead.map((c) => String(c.payload.text).split('\n')[0])).toEqual(['💤 Ксения Шабанова отложила критичное оповещение до 09:00']);

      // The same in English, the next morning at 08:50.
      await t.db.delete(silences);
      await updateUser(t.db, manager.id, { language: 'en' });
      clock.set('2023-02-17T05:50:00Z');
      h.clear();
      await h.press(manager, `snz:m:${incident.id}`, { chatId, messageId });
      expect(h.lastSent()!.payload.text).toBe('Put off the critical “SenseLock key not seen” until 09:00? The lead will be told: Ирина Петрова.');
      expect(buttonsOf(h.lastSent()!).map((b) => b.text)).toEqual(['💤 Yes, until 09:00', 'Do not put off']);
      await h.press(manager, 'snz:no', { chatId, messageId: 1002 });
      expect(h.lastSent('editMessageText')!.payload.text).toBe('Not put off: the alert waits for someone to take it.');
      await h.press(manager, `snz:M:${incident.id}`, { chatId, messageId: 1002 });
      expect(h.lastSent('editMessageText')!.payload.text).toBe('💤 Put off until 09:00. The lead will be told: Ирина Петрова.');
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage').filter((c) => c.payload.chat_id === 2001).map((c) => String(c.payload.text).split('\n')[0])).toEqual([
        '💤 Ксения Шабанова отложила критичное оповещение до 09:00',
      ]);
    });

    it('a lead putting off their own team\'s critical is promised nobody and nobody is told; without a lead, the admin is named and told', async () => {
      const { incident, chatId, messageId } = await sendAlert();
      await h.press(lead, `snz:m:${incident.id}`, { chatId: 2001, messageId: 1 });
      expect(h.lastSent()!.payload.text).toBe('Отложить критичное «Ключ SenseLock не виден» до 09:00 завтра?');
      await h.press(lead, `snz:M:${incident.id}`, { chatId: 2001, messageId: 1001 });
      expect(h.lastSent('editMessageText')!.payload.text).toBe('💤 Отложено до 09:00 завтра.');
      h.clear();
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage')).toEqual([]);

      // In English, the same: no promise, nothing sent.
      await t.db.delete(silences);
      await updateUser(t.db, lead.id, { language: 'en' });
      await h.press(lead, `snz:m:${incident.id}`, { chatId: 2001, messageId: 1 });
      expect(h.lastSent()!.payload.text).toBe('Put off the critical “SenseLock key not seen” until 09:00 tomorrow?');
      await h.press(lead, `snz:M:${incident.id}`, { chatId: 2001, messageId: 1002 });
      expect(h.lastSent('editMessageText')!.payload.text).toBe('💤 Put off until 09:00 tomorrow.');
      h.clear();
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage')).toEqual([]);

      // A manager with no lead: the admin is who hears it, by name, before and after.
      await t.db.delete(silences);
      await updateUser(t.db, manager.id, { leadId: null });
      await h.press(manager, `snz:m:${incident.id}`, { chatId, messageId });
      expect(h.lastSent()!.payload.text).toBe('Отложить критичное «Ключ SenseLock не виден» до 09:00 завтра? Администратор узнает: Анна Админова.');
      await h.press(manager, `snz:M:${incident.id}`, { chatId, messageId: 1003 });
      expect(h.lastSent('editMessageText')!.payload.text).toBe('💤 Отложено до 09:00 завтра. Администратор узнает: Анна Админова.');
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage').filter((c) => c.payload.chat_id === 3001).map((c) => String(c.payload.text).split('\n')[0])).toEqual([
        '💤 Ксения Шабанова отложила критичное оповещение до 09:00 завтра',
      ]);
    });

    it('/silence over an open critical asks as «💤 До утра» does and tells the lead: typed «до утра», and the «До понедельника» button; a wait of an hour does not ask', async () => {
      await sendAlert();
      h.clear();
      // An hour or less is a wait, not putting it off: done at once, as «⏰» under the alert.
      await h.say(manager, '/silence Ромашка 30мин');
      expect(texts().at(-1)).toBe('💤 ООО «Ромашка»: оповещения отложены до 21:30.');
      await t.db.delete(silences);

      await h.say(manager, '/silence Ромашка до утра переезд');
      const question = h.lastSent()!;
      expect(question.payload.text).toBe(
        'ООО «Ромашка»: открыто критичное оповещение «Ключ SenseLock не виден». Отложить все оповещения до 09:00 завтра? Руководитель узнает: Ирина Петрова.',
      );
      expect(buttonsOf(question).map((b) => b.text)).toEqual(['💤 Да, до 09:00 завтра', 'Не откладывать']);
      expect(await t.db.select().from(silences)).toEqual([]);
      const [, no] = buttonsOf(question);
      await h.press(manager, no!.data, { chatId: 1001, messageId: 1 });
      expect(h.lastSent('editMessageText')!.payload.text).toBe('Не отложено: оповещение ждёт, кто возьмёт его в работу.');
      expect(await t.db.select().from(silences)).toEqual([]);

      // The button offered by /silence alone: «До понедельника», asked about the same way.
      await h.say(manager, '/silence Ромашка');
      await h.press(manager, `sil:a:c${fleet.client.id}:monday`, { chatId: 1001, messageId: 1 });
      const asked = h.lastSent()!;
      expect(asked.payload.text).toBe(
        'ООО «Ромашка»: открыто критичное оповещение «Ключ SenseLock не виден». Отложить все оповещения до 20.02 09:00? Руководитель узнает: Ирина Петрова.',
      );
      expect(await t.db.select().from(silences)).toEqual([]);
      const [yes] = buttonsOf(asked);
      await h.press(otherManager, yes!.data, { chatId: 1002, messageId: 1 });
      expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
      expect(await t.db.select().from(silences)).toEqual([]);
      await h.press(manager, yes!.data, { chatId: 1001, messageId: 1 });
      expect(h.lastSent('editMessageText')!.payload.text).toBe('💤 ООО «Ромашка»: оповещения отложены до 20.02 09:00. Руководитель узнает: Ирина Петрова.');
      expect(buttonsOf(h.lastSent('editMessageText')).map((b) => b.text)).toEqual(['🔔 Снять']);
      expect(await t.db.select().from(silences)).toHaveLength(1);
      await h.press(manager, yes!.data, { chatId: 1001, messageId: 1 });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('На этот вопрос уже ответили');
      await h.dispatcher().runOnce();
      const toLead = h.sent('sendMessage').filter((c) => c.payload.chat_id === 2001);
      expect(toLead.map((c) => String(c.payload.text).split('\n').slice(0, 4))).toEqual([
        ['💤 Ксения Шабанова отложила критичное оповещение до 20.02 09:00', 'Если ждать нельзя, возьмите его в работу сами или позвоните менеджеру.', '', '🔴 <b>Ключ SenseLock не виден</b>'],
      ]);
      expect(buttonsOf(toLead[0]!).map((b) => b.text)).toContain('🙋 Беру');
      // Put off already until Monday: a shorter silence puts nothing off further, and is not asked about.
      await h.say(manager, '/silence Ромашка до утра');
      expect(texts().at(-1)).toBe('💤 ООО «Ромашка»: оповещения отложены до 20.02 09:00.');
    });

    it('/silence over an open critical asks in English too, and the lead is told', async () => {
      await updateUser(t.db, manager.id, { language: 'en' });
      await sendAlert();
      h.clear();
      await h.say(manager, '/silence Ромашка until morning');
      const question = h.lastSent()!;
      expect(question.payload.text).toBe('ООО «Ромашка»: a critical alert is open, “SenseLock key not seen”. Put off all its alerts until 09:00 tomorrow? The lead will be told: Ирина Петрова.');
      expect(buttonsOf(question).map((b) => b.text)).toEqual(['💤 Yes, until 09:00 tomorrow', 'Do not put off']);
      await h.press(manager, buttonsOf(question)[0]!.data, { chatId: 1001, messageId: 1 });
      expect(h.lastSent('editMessageText')!.payload.text).toBe('💤 ООО «Ромашка»: alerts put off until 09:00 tomorrow. The lead will be told: Ирина Петрова.');
      await h.say(manager, '/silence Ромашка');
      await h.press(manager, `sil:a:c${fleet.client.id}:monday`, { chatId: 1001, messageId: 1 });
      expect(h.lastSent()!.payload.text).toBe('ООО «Ромашка»: a critical alert is open, “SenseLock key not seen”. Put off all its alerts until 20.02 09:00? The lead will be told: Ирина Петрова.');
      await h.press(manager, buttonsOf(h.lastSent()!)[1]!.data, { chatId: 1001, messageId: 1 });
      expect(h.lastSent('editMessageText')!.payload.text).toBe('Not put off: the alert waits for someone to take it.');
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage').filter((c) => c.payload.chat_id === 2001).map((c) => String(c.payload.text).split('\n')[0])).toEqual([
        '💤 Ксения Шабанова отложила критичное оповещение до 09:00 завтра',
      ]);
    });

    it('puts a warning off till morning at once, and tells no lead', async () => {
      clock.set('2023-02-15T07:00:00Z');
      await report('<kit daily-update="false"/>');
      await h.dispatcher().runOnce();
      const [incident] = await listIncidentsWithNames(t.db, { includeResolved: false });
      await h.press(manager, `snz:m:${incident!.id}`, { chatId: 1001, messageId: 1000 });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Отложено до 09:00 завтра');
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage').filter((c) => c.payload.chat_id === 2001)).toEqual([]);
    });

    it('/status names a one-alert snooze and the installation\'s silence when both hold, in Russian and English', async () => {
      const { incident, chatId, messageId } = await sendAlert();
      await addSilence(ctx('tg:1001'), { installation: fleet.installation.id, for: '2h', reason: 'переезд сервера', tz: 'Europe/Moscow' });
      // The alert put off for an hour, within the installation's silence: the card says the silence, which is what holds.
      await h.press(manager, `snz:h:${incident.id}`, { chatId, messageId });
      await h.say(manager, '/status Ромашка');
      let card = texts().at(-1)!.split('\n');
      expect(card).toContain('💤 Все оповещения отложены до 23:00 (переезд сервера)');
      expect(card.filter((line) => line.startsWith('💤'))).toHaveLength(1);
      // Put off till morning, past the silence: both, each as what it covers.
      await h.press(manager, `snz:m:${incident.id}`, { chatId, messageId });
      await h.press(manager, `snz:M:${incident.id}`, { chatId, messageId: 1002 });
      await h.say(manager, '/status Ромашка');
      card = texts().at(-1)!.split('\n');
      expect(card.filter((line) => line.startsWith('💤'))).toEqual(['💤 Все оповещения отложены до 23:00 (переезд сервера)', '💤 «Ключ SenseLock не виден» отложено до 09:00 завтра']);
      await updateUser(t.db, manager.id, { language: 'en' });
      await h.say(manager, '/status Ромашка');
      card = texts().at(-1)!.split('\n');
      expect(card.filter((line) => line.startsWith('💤'))).toEqual(['💤 All alerts put off until 23:00 (переезд сервера)', '💤 “SenseLock key not seen” put off until 09:00 tomorrow']);
    });

    it('snoozes for an hour: a silence holds reminders, and the message says until when', async () => {
      const { incident, chatId, messageId } = await sendAlert();
      await h.press(manager, `snz:h:${incident.id}`, { chatId, messageId });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Отложено до 22:00');
      expect(String(h.lastSent('editMessageText')!.payload.text)).toContain('💤 Ксения Шабанова отложила до 22:00');
      // The card says what the snooze covers: that alert, not the installation.
      await h.say(manager, '/status Ромашка');
      expect(texts().at(-1)).toContain('💤 «Ключ SenseLock не виден» отложено до 22:00');
      expect(texts().at(-1)).not.toContain('Все оповещения отложены');
      // And in English, with the message's own line.
      await updateUser(t.db, manager.id, { language: 'en' });
      await h.say(manager, '/status Ромашка');
      expect(texts().at(-1)).toContain('💤 “SenseLock key not seen” put off until 22:00');
      expect(texts().at(-1)).not.toContain('All alerts put off');
    });

    it('names the likely cause of problems that follow from it: the service under the system account', async () => {
      await report('<service state="running" account="system"/><storage reachable="false"/><kit daily-update="false"/>');
      await h.dispatcher().runOnce();
      expect(h.sent()).toHaveLength(1);
      const text = String(h.lastSent()!.payload.text);
      expect(text).toContain('🏢 <b>ООО «Ромашка» · Сервер офиса</b>\n🔎 <b>Вероятная причина: служба ПК работает под системной учётной записью, у которой нет доступа к хранилищу; начните с неё</b>\n🔴 <b>Хранилище баз недоступно</b> — критично: ');
      expect(text).toContain('\n🟡 <b>Ежедневное обновление или copybaseweb выключены</b> — внимание: обновления перестанут приходить');
      expect(text).toContain('🔎 <b>Вероятная причина: служба ПК работает под системной учётной записью, у которой нет доступа к хранилищу; начните с неё</b>');
    });

    it('sends a later problem of an installation with an open alert as a reply to it, saying so', async () => {
      await report('<storage reachable="false"/>');
      await h.dispatcher().runOnce();
      const first = h.lastSent()!;
      clock.advance(3600_000);
      await report('<senselock state="lost"/>');
      await h.dispatcher().runOnce();
      const second = h.lastSent()!;
      expect(second).not.toBe(first);
      expect(String(second.payload.text).split('\n').slice(0, 3)).toEqual([
        '↪️ Ещё одна проблема той же установки (открыто: Хранилище баз недоступно)',
        '',
        '🔴 <b>Ключ SenseLock не виден</b>',
      ]);
      const storageIncident = (await listIncidentsWithNames(t.db, { includeResolved: false })).find((i) => i.ruleId === 'KodeksStorageUnreachable')!;
      const storageAlert = (await t.db.select().from(telegramMessages)).find((m) => m.incidentId === storageIncident.id && m.kind === 'alert')!;
      expect(second.payload.reply_parameters).toMatchObject({ message_id: storageAlert.messageId });
    });

    it('lists a later problem on the earlier alert, names the cause they share in both, and keeps the list true', async () => {
      await report('<service state="running" account="system"/><storage reachable="false"/>');
      await h.dispatcher().runOnce();
      const first = h.lastSent()!;
      const firstId = (await t.db.select().from(telegramMessages).orderBy(telegramMessages.id)).at(-1)!.messageId;
      clock.advance(10 * 60_000); // 21:10, before the quiet hours that would hold a warning
      await report('<service state="running" account="system"/><storage reachable="false"/><kit daily-update="false"/>');
      await h.dispatcher().runOnce();
      const reply = h.lastSent()!;
      expect(reply.payload.reply_parameters).toMatchObject({ message_id: firstId });
      expect(String(reply.payload.text).split('\n').slice(0, 2)).toEqual([
        '↪️ Ещё одна проблема той же установки (открыто: Хранилище баз недоступно)',
        '🔎 Вероятная причина: служба ПК работает под системной учётной записью, у которой нет доступа к хранилищу; начните с неё',
      ]);
      const edit = h.lastSent('editMessageText')!;
      expect(edit.payload).toMatchObject({ message_id: firstId });
      expect(String(edit.payload.text)).toContain(
        '<b>↪️ Позже у этой установки (ответами ниже):</b>\n• 🟡 Ежедневное обновление или copybaseweb выключены\n🔎 <b>Вероятная причина: служба ПК',
      );
      expect(buttonsOf(edit).map((b) => b.text)).toContain('🙋 Беру');
      // «Беру» under the earlier alert takes that alert only; the later one keeps its own button.
      const storage = (await listIncidentsWithNames(t.db, { includeResolved: false })).find((i) => i.ruleId === 'KodeksStorageUnreachable')!;
      await h.press(manager, `ack:${storage.id}`, { chatId: Number(first.payload.chat_id), messageId: firstId });
      expect((await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => [i.ruleId, i.status])).toEqual([
        ['KodeksStorageUnreachable', 'acknowledged'],
        ['KodeksDailyUpdateOff', 'open'],
      ]);
      expect(String(h.lastSent('editMessageText')!.payload.text)).toContain('• 🟡 Ежедневное обновление или copybaseweb выключены');
      // The later problem is solved: the earlier alert, still in work, shows it solved.
      clock.advance(10 * 60_000);
      await report('<service state="running" account="system"/><storage reachable="false"/><kit daily-update="true"/>');
      await h.dispatcher().runOnce();
      const redrawn = h.sent('editMessageText').filter((c) => c.payload.message_id === firstId).at(-1)!;
      expect(String(redrawn.payload.text)).toContain('• ☑️ Ежедневное обновление или copybaseweb выключены');
      expect(String(redrawn.payload.text)).toContain('🛠 В работе: Ксения Шабанова');
    });

    it('groups alerts that come together into one message: each alert one line with how bad, since when and the first step; buttons that name whom', async () => {
      await report('<service state="stopped"/><storage reachable="false"/>');
      await h.dispatcher().runOnce();
      const group = h.lastSent()!;
      expect(h.sent()).toHaveLength(1);
      expect(String(group.payload.text).split('\n')).toEqual([
        '<b>🚨 2 новых оповещения</b>',
        '',
        '🏢 <b>ООО «Ромашка» · Сервер офиса</b>',
        '🔴 <b>Служба ПК остановлена</b> — критично: ПК не работает ни у одного пользователя. ⏱ Началось сегодня в 21:00, длится меньше минуты. 👉 Связаться с сисадмином клиента: запустить службу ПК и посмотреть журнал событий.',
        '🔴 <b>Хранилище баз недоступно</b> — критично: ПК не открывает базы: пользователи не могут работать с документами. ⏱ Началось сегодня в 21:00, длится меньше минуты. 👉 Проверить, включено ли хранилище (NAS) и не сменились ли путь или пароль.',
        '    Служба ПК: остановлена',
      ]);
      const installationId = fleet.installation.id;
      expect(buttonsOf(group)).toEqual([
        { text: '🙋 Беру все', data: 'ackall' },
        { text: '📋 Ромашка: что делать', data: `how:${installationId}` },
        { text: '⏰ Ромашка на 1 ч', data: `sni:${installationId}` },
        { text: 'ℹ️ Подробнее', data: 'more' },
      ]);
      // «Подробнее» under the group names every alert of it, SMART's name where SMART has one.
      await h.press(manager, 'more', { chatId: 1001, messageId: 1000 });
      expect(String(h.lastSent('sendMessage')!.payload.text)).toMatch(/Служба ПК остановлена — <code>KodeksServiceDown<\/code> \(в SMART такого оповещения нет\)\n№\d+ · /);
      // «что делать»: the two alerts in full, every step, as a reply to the group.
      await h.press(manager, `how:${installationId}`, { chatId: 1001, messageId: 1000 });
      const steps = h.lastSent('sendMessage')!;
      expect(steps.payload.reply_parameters).toMatchObject({ message_id: 1000 });
      expect(String(steps.payload.text)).toContain('<b>Что делать:</b>\n1. Связаться с сисадмином клиента: запустить службу ПК и посмотреть журнал событий.\n2. ');
      expect(String(steps.payload.text)).toContain('<b>Что делать:</b>\n1. Проверить, включено ли хранилище (NAS) и не сменились ли путь или пароль.\n2. ');
      expect(buttonsOf(steps)).toEqual([{ text: '🏢 Статус', data: `st:${installationId}` }]);
      // The snooze is said in the message, once for the installation, by whom and until when.
      await h.press(manager, `sni:${installationId}`, { chatId: 1001, messageId: 1000 });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Отложено до 22:00');
      const snoozed = String(h.lastSent('editMessageText')!.payload.text);
      expect(snoozed.match(/💤 Ксения Шабанова отложила до 22:00/g)).toHaveLength(1);
      await h.press(manager, 'ackall', { chatId: 1001, messageId: 1000 });
      expect((await listIncidentsWithNames(t.db, { includeResolved: false })).every((i) => i.status === 'acknowledged')).toBe(true);
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Взято в работу: 2');
      const taken = h.lastSent('editMessageText')!;
      expect(String(taken.payload.text)).toMatch(/^<b>🛠 2 оповещения в работе<\/b>/);
      expect(buttonsOf(taken)).toEqual([
        { text: '📋 Ромашка: что делать', data: `how:${installationId}` },
        { text: 'ℹ️ Подробнее', data: 'more' },
      ]);
    });

    it('says the end of a grouped event once, in one reply for all of it, and only if nobody took it', async () => {
      await report('<senselock state="lost"/><service state="stopped"/>');
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage')).toHaveLength(1);
      clock.advance(30 * 60_000);
      await report('<senselock state="ok"/><service state="stopped"/>');
      await h.dispatcher().runOnce();
      // Half of it is over: the message is redrawn, nobody is notified.
      expect(h.sent('sendMessage')).toHaveLength(1);
      expect(String(h.lastSent('editMessageText')!.payload.text)).toMatch(/^<b>🚨 Не решено 1 из 2 оповещений<\/b>/);
      clock.advance(30 * 60_000);
      await report('<senselock state="ok"/><service state="running"/>');
      await h.dispatcher().runOnce();
      const replies = h.sent('sendMessage').slice(1);
      expect(replies.map((c) => c.payload.text)).toEqual([
        '☑️ <b>ООО «Ромашка»</b> · Сервер офиса: ключ SenseLock снова виден, служба ПК снова работает, сегодня в 22:00; длилось 1 час',
      ]);
      expect(replies[0]!.payload.reply_parameters).toMatchObject({ message_id: 1000 });
      expect(String(h.lastSent('editMessageText')!.payload.text)).toMatch(/^<b>☑️ Всё восстановлено<\/b>/);
      // The redrawn message says how long it lasted once, as the reply does: not 30 minutes for one alert and an hour for the other.
      expect(String(h.lastSent('editMessageText')!.payload.text).match(/длилось [^\n]*/g)).toEqual(['длилось 1 час']);
      // Nothing more is said of it, whatever comes redrawn later.
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage')).toHaveLength(2);

      // The same event taken in hand: its end is seen in the redrawn message, not announced.
      clock.advance(3600_000);
      await report('<senselock state="lost"/><service state="stopped"/>');
      await h.dispatcher().runOnce();
      await h.press(manager, 'ackall', { chatId: 1001, messageId: 1002 }); // message ids count from 1000: the group, the reply, this one
      clock.advance(10 * 60_000);
      await report('<senselock state="ok"/><service state="running"/>');
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage').map((c) => String(c.payload.text).slice(0, 2))).toEqual(['<b', '☑️', '<b']);
    });

    it('says nothing more when an event of warnings only is over: the message is redrawn, nobody is notified', async () => {
      await report('<kit daily-update="false"/><update number="2251" operap-date="2023-02-10"/>');
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage')).toHaveLength(1);
      expect(String(h.lastSent()!.payload.text)).toMatch(/^<b>🚨 2 новых оповещения<\/b>/);
      expect(String(h.lastSent()!.payload.text).match(/^🟡 /gm)).toHaveLength(2);
      clock.advance(30 * 60_000);
      await report('<kit daily-update="true" copybaseweb="true"/><update number="2252" operap-date="2023-02-15"/>');
      await h.dispatcher().runOnce();
      expect(h.sent('sendMessage')).toHaveLength(1);
      expect(String(h.lastSent('editMessageText')!.payload.text)).toMatch(/^<b>☑️ Всё восстановлено<\/b>/);
    });

    it('names the installation on the buttons when a group has two of one client, and speaks English to English speakers', async () => {
      await updateUser(t.db, manager.id, { language: 'en' });
      const second = await addInstallation(ctx(), { client: String(fleet.client.id), name: 'Склад', kind: 'local' });
      await Promise.all([report('<senselock state="lost"/>'), report('<service state="stopped"/>', second.token)]);
      await h.dispatcher().runOnce();
      const group = h.lastSent()!;
      expect(String(group.payload.text)).toContain(
        "🔴 <b>SenseLock key not seen</b> — critical: without the key ПК stops opening the databases: users cannot work. ⏱ Began today at 21:00, lasting less than a minute. 👉 Contact the client's administrator and ask for remote access.",
      );
      expect(buttonsOf(group).map((b) => b.text)).toEqual([
        '🙋 I\'m on all of them',
        '📋 Ромашка · Сервер офиса: what to do',
        '⏰ Ромашка · Сервер офиса for 1 h',
        '📋 Ромашка · Склад: what to do',
        '⏰ Ромашка · Склад for 1 h',
        'ℹ️ Details',
      ]);
    });

    it('escapes HTML in every name that reaches a message', async () => {
      const evil = await addClient(ctx(), { name: '<b>ООО "Ромашка" & Co</b>', managerId: 1001 });
      const issued = await addInstallation(ctx(), { client: String(evil.id), name: '<i>Сервер</i>', kind: 'local' });
      await report('<senselock state="lost"/><storage path="&lt;script&gt;" reachable="false"/>', issued.token);
      await h.dispatcher().runOnce();
      const text = String(h.lastSent()!.payload.text);
      expect(text).toContain('&lt;b&gt;ООО &quot;Ромашка&quot; &amp; Co&lt;/b&gt;');
      expect(text).toContain('&lt;i&gt;Сервер&lt;/i&gt;');
      expect(text).not.toContain('<script>');
      expect(text).not.toContain('<i>');
    });

    it('follows a group that Telegram migrated to a supergroup', async () => {
      await t.db.update(clients).set({ chatId: -555 }).where(eq(clients.id, fleet.client.id));
      h.failures.push({
        method: 'sendMessage',
        chatId: -555,
        error_code: 400,
        description: 'Bad Request: group chat was upgraded to a supergroup chat',
        parameters: { migrate_to_chat_id: -1009999 },
      });
      await report('<senselock state="lost"/>');
      await h.dispatcher().runOnce();
      expect(h.sent().map((c) => c.payload.chat_id)).toEqual([-555, -1009999]);
      expect((await listClients(t.db)).find((c) => c.id === fleet.client.id)!.chatId).toBe(-1009999);
    });

    it('tells the admins when a chat blocked the bot, and keeps the alert queued', async () => {
      h.failures.push({ method: 'sendMessage', chatId: 1001, error_code: 403, description: 'Forbidden: bot was blocked by the user', times: 1 });
      await report('<senselock state="lost"/>');
      const dispatcher = h.dispatcher();
      await dispatcher.runOnce();
      const notice = h.sent().find((c) => c.payload.chat_id === 3001);
      expect(String(notice?.payload.text)).toContain('Не могу доставить оповещения в чат 1001');
      expect((await t.db.select().from(outbox).where(eq(outbox.chatId, 1001)))[0]!.status).toBe('pending');
      clock.advance(5_000);
      await dispatcher.runOnce();
      expect((await t.db.select().from(outbox).where(eq(outbox.chatId, 1001)))[0]!.status).toBe('sent');
    });

    it('sends an alert as plain text if Telegram refuses its HTML', async () => {
      h.failures.push({ method: 'sendMessage', chatId: 1001, error_code: 400, description: "Bad Request: can't parse entities: unexpected end tag" });
      await report('<senselock state="lost"/>');
      await h.dispatcher().runOnce();
      const [refused, plain] = h.sent();
      expect(refused!.payload.parse_mode).toBe('HTML');
      expect(plain!.payload.parse_mode).toBeUndefined();
      expect(String(plain!.payload.text)).toContain('🔴 Ключ SenseLock не виден\n🏢 ООО «Ромашка» · Сервер офиса');
      expect(String(plain!.payload.text)).not.toContain('<b>');
    });

    it('reminds in the same chat, replying to the original alert', async () => {
      clock.set('2023-02-15T07:00:00Z'); // 10:00 in Moscow: a warning's reminder is not held for quiet hours
      await report('<kit daily-update="false"/>');
      const dispatcher = h.dispatcher();
      await dispatcher.runOnce();
      clock.advance(4 * 3600_000 + 60_000);
      const { runSweep } = await import('../jobs/sweep.ts');
      const { DEFAULT_INCIDENT_SETTINGS } = await import('../incidents/settings.ts');
      await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
      await dispatcher.runOnce();
      const reminder = h.lastSent()!;
      expect(String(reminder.payload.text)).toContain('🔁 Напоминание: в работу никто не взял уже 4 часа 1 минуту');
      expect(reminder.payload.reply_parameters).toMatchObject({ message_id: 1000 });
    });
  });

  describe('commands', () => {
    it('/incidents lists the caller\'s open incidents; «все» (or "all") is for leads and admins', async () => {
      await report('<senselock state="lost"/>');
      const vectorToken = (await addInstallation(ctx(), { client: 'АО «Вектор»', name: 'Второй', kind: 'local' })).token;
      await report('<service state="stopped"/>', vectorToken);
      await h.say(manager, '/incidents');
      expect(texts()[0]).toContain('Открытые инциденты: 1');
      await h.say(manager, '/incidents all');
      expect(texts()[1]).toContain('Открытые инциденты: 1');
      await h.say(admin, '/incidents все');
      expect(texts()[2]).toContain('Открытые инциденты: 2');
      await h.say(admin, '/incidents all');
      expect(texts()[3]).toContain('Открытые инциденты: 2');
    });

    it('/incidents and the card say what holds an alert nobody was told of: the alert it waits for, by its title, or a silence until when', async () => {
      await writeTransaction(t.db, async (tx) => {
        const subject = await loadSubject(tx, fleet.installation.id);
        const open = async (ruleId: string) => openIncident(tx, DEFAULT_INCIDENT_SETTINGS, subject, { ruleId, severity: 'critical', facts: {} }, clock(), await activeSilences(tx, clock()));
        await open('KodeksTcpStatus');
        await open('KodeksHttp200Status');
      });
      await addSilence(ctx(), { installation: String(fleet.installation.id), rule: 'KodeksServiceDown', for: '2h', reason: 'замена службы', tz: 'Europe/Moscow' });
      await report('<service state="stopped"/>');
      clock.advance(5 * 60_000);
      await h.say(manager, '/incidents');
      const list = texts()[0]!.split('\n');
      expect(list).toContain('🔴 ⏳ #1 Веб-порт установки не принимает соединения — ООО «Ромашка» · Сервер офиса, 5 минут');
      expect(list).toContain('🔴 ⏳ #2 Главная страница ПК отвечает ошибкой — ООО «Ромашка» · Сервер офиса, 5 минут, ждёт: Веб-порт установки не принимает соединения');
      expect(list).toContain('🔴 ⏳ #3 Служба ПК остановлена — ООО «Ромашка» · Сервер офиса, 5 минут, оповещение отложено до 23:00');
      expect(texts()[0]).not.toContain('тишин');

      await h.say(manager, '/status Ромашка');
      const card = texts()[1]!.split('\n');
      expect(card).toContain(' • 🔴 Главная страница ПК отвечает ошибкой — 5 минут, ждёт: Веб-порт установки не принимает соединения');
      expect(card).toContain(' • 🔴 Веб-порт установки не принимает соединения — 5 минут, никто не взял в работу');
      expect(card).toContain(' • 🔴 Служба ПК остановлена — 5 минут, оповещение отложено до 23:00');
      const english = renderClientStatus((await getClientStatus(t.db, fleet.client.id, clock()))!, 'en', 'Europe/Moscow', clock()).split('\n');
      expect(english).toContain(' • 🔴 The main page of ПК answers with an error — 5 minutes, waiting for The web port takes no connections');
      expect(english).toContain(' • 🔴 The ПК service is stopped — 5 minutes, alert put off until 23:00');

      // The silence lifted, nothing holds it: the next check announces it, and says so until then.
      await removeSilence(ctx(), (await t.db.select().from(silences))[0]!.id);
      await h.say(manager, '/incidents');
      expect(texts()[2]!.split('\n')).toContain('🔴 ⏳ #3 Служба ПК остановлена — ООО «Ромашка» · Сервер офиса, 5 минут, оповещение уйдёт при следующей проверке');
    });

    it('/silence covers a client for a while, for those responsible only, echoing the reason', async () => {
      await h.say(otherManager, '/silence Ромашка 2ч переезд');
      expect(texts()[0]).toMatch(/ответственный менеджер/);
      await h.say(manager, '/silence Ромашка 2ч переезд сервера');
      expect(texts()[1]).toBe('💤 ООО «Ромашка»: оповещения отложены до 23:00. Причина: переезд сервера.');
      await report('<senselock state="lost"/>');
      expect((await listIncidentsWithNames(t.db, { includeResolved: false }))[0]!.announcedAt).toBeNull();
      await h.say(manager, '/silence');
      expect(texts()[2]).toContain('Формат: /silence');
    });

    it('/silence takes the terms people use, and an installation alone when it is named', async () => {
      await addInstallation(ctx(), { client: String(fleet.client.id), name: 'Склад', kind: 'network' });
      await h.say(manager, '/silence Ромашка Склад до утра');
      expect(texts()[0]).toBe('💤 ООО «Ромашка» · Склад: оповещения отложены до 09:00 завтра.');
      await h.say(manager, '/silence ромашка 30мин смена ключа');
      expect(texts()[1]).toBe('💤 ООО «Ромашка»: оповещения отложены до 21:30. Причина: смена ключа.');
      // Each longer than the last: a shorter one asked for while a longer one lasts is that one.
      await h.say(manager, '/silence Ромашка 3 часа');
      expect(texts()[2]).toBe('💤 ООО «Ромашка»: оповещения отложены до 00:00 завтра.');
      await h.say(manager, '/silence Ромашка до 18:00');
      expect(texts()[3]).toBe('💤 ООО «Ромашка»: оповещения отложены до 18:00 завтра.');
      await h.say(manager, '/silence Ромашка до 01.03 работы');
      expect(texts()[4]).toBe('💤 ООО «Ромашка»: оповещения отложены до 01.03 09:00. Причина: работы.');
      const scopes = (await t.db.select().from(silences).orderBy(silences.id)).map((s) => [s.installationId, s.clientId]);
      expect(scopes[0]).toEqual([expect.any(Number), null]);
      expect(scopes.slice(1).every(([installation, client]) => installation === null && client === fleet.client.id)).toBe(true);
    });

    it('no dead ends: /silence without a term offers terms; a date read as next year is said so; an unknown command gets an answer; a question finds its client', async () => {
      await h.say(manager, '/silence Ромашка');
      const ask = h.lastSent()!;
      expect(ask.payload.text).toBe('На сколько отложить оповещения: ООО «Ромашка»?');
      expect(buttonsOf(ask)).toEqual([
        { text: '1 ч', data: `sil:a:c${fleet.client.id}:1h` },
        { text: '4 ч', data: `sil:a:c${fleet.client.id}:4h` },
        { text: 'До утра', data: `sil:a:c${fleet.client.id}:morning` },
        { text: 'До понедельника', data: `sil:a:c${fleet.client.id}:monday` },
      ]);
      // 15.02.2023 is a Wednesday: Monday is the 20th.
      await h.press(manager, `sil:a:c${fleet.client.id}:monday`, { chatId: 1001, messageId: 1000 });
      expect(texts().at(-1)).toBe('💤 ООО «Ромашка»: оповещения отложены до 20.02 09:00.');
      await h.press(otherManager, `sil:a:c${fleet.client.id}:1h`, { chatId: 1002, messageId: 1000 });
      expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
      // An installation gone since is not read as the client of the same number.
      const silencesBefore = (await t.db.select().from(silences)).length;
      await h.press(manager, `sil:a:i${fleet.client.id + 1000}:1h`, { chatId: 1001, messageId: 1000 });
      expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
      expect(await t.db.select().from(silences)).toHaveLength(silencesBefore);

      await h.say(manager, '/silence Ромашка до 01.02');
      expect(texts().at(-1)).toBe(
        'Эта дата в этом году уже прошла, и я прочитал её как 01.02.2024 — а отложить оповещения можно не больше чем на 90 дней. Укажите срок короче, например «до утра» или «3д».',
      );

      await h.say(manager, '/stauts Ромашка');
      expect(texts().at(-1)).toMatch(/^Такой команды нет: \/stauts\. Может быть, \/status\? Вот что я умею:\n\n<b>Команды<\/b>/);
      await h.say(manager, '/foo');
      expect(texts().at(-1)).toMatch(/^Такой команды нет: \/foo\. Вот что я умею:/);

      await h.say(manager, 'что с ромашкой?');
      expect(texts().at(-1)).toContain('🏢 <b>ООО «Ромашка»</b>');
    });

    it('no dead ends in English either: an unknown command gets the closest one, a question finds its client, /silence without a term offers buttons', async () => {
      await updateUser(t.db, manager.id, { language: 'en' });
      await h.say(manager, '/stauts Ромашка');
      expect(texts().at(-1)).toMatch(/^There is no command \/stauts\. Did you mean \/status\? Here is what I can do:\n\n<b>Commands<\/b>\n\/status &lt;client&gt; — /);
      await h.say(manager, '/foo');
      expect(texts().at(-1)).toMatch(/^There is no command \/foo\. Here is what I can do:/);
      // A question in English finds the client by its name written in Latin letters; one in Russian, in an English speaker's chat, too.
      await h.say(manager, 'what about romashka?');
      expect(texts().at(-1)).toMatch(/^🏢 <b>ООО «Ромашка»<\/b> · INN 7701234567\nManager: /);
      await h.say(manager, 'что с ромашкой?');
      expect(texts().at(-1)).toMatch(/^🏢 <b>ООО «Ромашка»<\/b> · INN 7701234567\nManager: /);
      await h.say(manager, '/silence Ромашка');
      const ask = h.lastSent()!;
      expect(ask.payload.text).toBe('Put off the alerts of ООО «Ромашка» for how long?');
      expect(buttonsOf(ask)).toEqual([
        { text: '1 h', data: `sil:a:c${fleet.client.id}:1h` },
        { text: '4 h', data: `sil:a:c${fleet.client.id}:4h` },
        { text: 'Till morning', data: `sil:a:c${fleet.client.id}:morning` },
        { text: 'Till Monday', data: `sil:a:c${fleet.client.id}:monday` },
      ]);
      await h.say(manager, '/silence Ромашка until 01.02');
      expect(texts().at(-1)).toBe('That date has passed this year, so I read it as 01.02.2024, but alerts can be put off for at most 90 days. Give a shorter term, such as “till morning” or “3d”.');
    });

    it('/status in English: problems first with their marks, at most 15 short lines, and the cause of an open problem never ticked', async () => {
      await updateUser(t.db, manager.id, { language: 'en' });
      await report('<service state="running" account="system"/><storage reachable="false"/><kit daily-update="false"/>');
      await h.say(manager, '/status Ромашка');
      const card = texts().at(-1)!.split('\n');
      const server = card.indexOf('🖥 <b>Сервер офиса</b> — ❌ 2 problems');
      expect(card.slice(server, server + 4)).toEqual([
        '🖥 <b>Сервер офиса</b> — ❌ 2 problems',
        ' • 🔴 Database storage is unreachable — less than a minute, not acknowledged',
        ' • 🟡 Daily update or copybaseweb is off — less than a minute, not acknowledged',
        '⚠️ Service: running (system account) — the likely cause of the problems',
      ]);
      expect(card.filter((line) => line.startsWith('✅')).join('\n')).not.toMatch(/service/i);
      expect(card.length).toBeLessThanOrEqual(15);
      expect(Math.max(...card.map((line) => line.length))).toBeLessThan(130);
    });

    it('/incidents marks a taken incident 🛠, as the alert does, in Russian and English', async () => {
      await report('<senselock state="lost"/>');
      await h.dispatcher().runOnce();
      const incident = (await listIncidentsWithNames(t.db, { includeResolved: false }))[0]!;
      const [chatId, messageId] = [1001, 1000];
      await h.say(manager, '/incidents');
      expect(texts().at(-1)!.split('\n')[1]).toBe('🔴 ⏳ #1 Ключ SenseLock не виден — ООО «Ромашка» · Сервер офиса, меньше минуты');
      await h.press(manager, `ack:${incident.id}`, { chatId, messageId });
      expect(String(h.lastSent('editMessageText')!.payload.text)).toContain('🛠 ');
      await h.say(manager, '/incidents');
      expect(texts().at(-1)!.split('\n')[1]).toBe('🔴 🛠 #1 Ключ SenseLock не виден — ООО «Ромашка» · Сервер офиса, меньше минуты');
      expect(texts().at(-1)).not.toContain('✅');
      await updateUser(t.db, manager.id, { language: 'en' });
      await h.say(manager, '/incidents');
      expect(texts().at(-1)!.split('\n')[1]).toBe('🔴 🛠 #1 SenseLock key not seen — ООО «Ромашка» · Сервер офиса, less than a minute');
    });

    it('a snooze is said in the English message: who put off what until when', async () => {
      await updateUser(t.db, manager.id, { language: 'en' });
      await report('<senselock state="lost"/>');
      await h.dispatcher().runOnce();
      const incident = (await listIncidentsWithNames(t.db, { includeResolved: false }))[0]!;
      const [chatId, messageId] = [1001, 1000];
      await h.press(manager, `snz:h:${incident.id}`, { chatId, messageId });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Snoozed until 22:00');
      const edited = String(h.lastSent('editMessageText')!.payload.text).split('\n');
      expect(edited[0]).toBe('🔴 <b>SenseLock key not seen</b>');
      expect(edited.at(-1)).toBe('💤 Ксения Шабанова snoozed until 22:00');
      // A grouped message's «⏰ Ромашка for 1 h»: said once for the installation, by whom and until when.
      await report('<senselock state="ok"/>');
      clock.advance(3 * 3_600_000);
      await report('<service state="stopped"/><storage reachable="false"/>');
      await h.dispatcher().runOnce();
      const group = h.lastSent()!;
      expect(buttonsOf(group).map((b) => b.text)).toContain('⏰ Ромашка for 1 h');
      await h.press(manager, `sni:${fleet.installation.id}`, { chatId, messageId: 1000 + h.sent().indexOf(group) });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Snoozed until 01:00');
      expect(String(h.lastSent('editMessageText')!.payload.text).match(/💤 Ксения Шабанова snoozed until 01:00/g)).toHaveLength(1);
    });

    it('/silences lists what is in force, and «Снять» lifts it for those who may', async () => {
      await h.say(manager, '/silence Ромашка 2ч переезд сервера');
      await h.say(manager, '/silence Ромашка до утра');
      await h.say(manager, '/silences');
      expect(texts()[2]).toBe('<b>Оповещения отложены (2):</b>\n\n1. 💤 ООО «Ромашка» — до 23:00 (переезд сервера)\n2. 💤 ООО «Ромашка» — до 09:00 завтра');
      const [lift, morning] = buttonsOf(h.lastSent()!);
      // Two silences of one client: each button says which.
      expect([lift!.text, morning!.text]).toEqual(['🔔 Снять: 1. Ромашка до 23:00', '🔔 Снять: 2. Ромашка до 09:00 завтра']);
      await h.press(otherManager, lift!.data, { chatId: 1002, messageId: 1 });
      expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
      await h.press(manager, lift!.data, { chatId: 1001, messageId: 1 });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Снято 🔔');
      // Lifting one does not claim that alerts come again: the other still holds, and is named.
      expect(texts().at(-1)).toBe('🔔 Больше не отложено: ООО «Ромашка» — до 23:00 (сняла Ксения Шабанова). Ещё отложено:\n💤 ООО «Ромашка» — до 09:00 завтра');
      await h.press(manager, morning!.data, { chatId: 1001, messageId: 1 });
      expect(texts().at(-1)).toBe('🔔 Больше не отложено: ООО «Ромашка» — до 09:00 завтра (сняла Ксения Шабанова). Оповещения снова приходят.');
      await h.say(manager, '/silences');
      expect(texts().at(-1)).toBe('Отложенных оповещений нет.');
      await h.press(manager, lift!.data, { chatId: 1001, messageId: 1 });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Это уже не отложено');
    });

    it('says who lifted one of two silences as a sentence whatever the name, and in English which ended and which still holds', async () => {
      // «Саша» does not say whether «снял» or «сняла»: the name stands alone.
      await addUser(ctx(), { telegramId: 3002, role: 'admin', name: 'Саша' });
      const sasha: Person = { id: 3002, first_name: 'Саша' };
      await h.say(manager, '/silence Ромашка 2ч переезд сервера');
      await h.say(manager, '/silence Ромашка до утра');
      await h.say(sasha, '/silences');
      const [first, second] = buttonsOf(h.lastSent()!);
      await h.press(sasha, first!.data, { chatId: 3002, messageId: 1 });
      expect(texts().at(-1)).toBe('🔔 Больше не отложено: ООО «Ромашка» — до 23:00 (Саша). Ещё отложено:\n💤 ООО «Ромашка» — до 09:00 завтра');
      await h.press(sasha, second!.data, { chatId: 3002, messageId: 1 });
      expect(texts().at(-1)).toBe('🔔 Больше не отложено: ООО «Ромашка» — до 09:00 завтра (Саша). Оповещения снова приходят.');

      await updateUser(t.db, manager.id, { language: 'en' });
      await h.say(manager, '/silence Ромашка 2h moving the server');
      expect(texts().at(-1)).toBe('💤 ООО «Ромашка»: alerts put off until 23:00. Reason: moving the server.');
      await h.say(manager, '/silence Ромашка until morning');
      await h.say(manager, '/silences');
      expect(texts().at(-1)).toBe('<b>Alerts put off (2):</b>\n\n1. 💤 ООО «Ромашка» — until 23:00 (moving the server)\n2. 💤 ООО «Ромашка» — until 09:00 tomorrow');
      const [lift, morning] = buttonsOf(h.lastSent()!);
      expect([lift!.text, morning!.text]).toEqual(['🔔 Lift: 1. Ромашка until 23:00', '🔔 Lift: 2. Ромашка until 09:00 tomorrow']);
      await h.press(manager, lift!.data, { chatId: 1001, messageId: 1 });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Lifted 🔔');
      expect(texts().at(-1)).toBe('🔔 No longer put off: ООО «Ромашка» — until 23:00 (lifted by Ксения Шабанова). Still put off:\n💤 ООО «Ромашка» — until 09:00 tomorrow');
      await h.press(manager, morning!.data, { chatId: 1001, messageId: 1 });
      expect(texts().at(-1)).toBe('🔔 No longer put off: ООО «Ромашка» — until 09:00 tomorrow (lifted by Ксения Шабанова). Alerts come again.');
      await h.press(manager, morning!.data, { chatId: 1001, messageId: 1 });
      expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('This is no longer put off');
      // One word for one thing: what the bot says in Russian about a silence is «отложено», never «тишина».
      expect(JSON.stringify(ru)).not.toMatch(/тишин/i);
      const said = (say: unknown) => {
        try {
          return String((say as (params: Record<string, unknown>, describe: () => string) => string)({ id: 7, text: 'x', what: 'silence', days: 90, rule: 'x' }, () => ''));
        } catch {
          return '';
        }
      };
      expect(Object.values(ru.errors).map(said).join('\n')).toMatch(/Отложенного №7 нет/);
      expect(Object.values(ru.errors).map(said).join('\n')).not.toMatch(/тишин/i);
    });

    it('/whoami and /help, with admin commands for admins', async () => {
      await h.say(manager, '/whoami');
      await h.say(admin, '/help');
      expect(texts()[0]).toBe('Ксения Шабанова, id <code>1001</code>, менеджер');
      expect(texts()[1]).toContain('/addinstallation');
    });

    it('speaks English to English-speaking users', async () => {
      await report('<senselock state="lost"/>');
      await h.say(english, '/status Ромашка');
      expect(texts()[0]).toContain('❌ 1 problem\n • 🔴 SenseLock key not seen');
      expect(texts()[0]).toMatch(/\n✅ Report (less than a minute|\d+ minutes?) ago\n/);
    });

    it('survives a handler error (here: the database is gone) with a short apology', async () => {
      // Gone: SQLite's file closed, or PostgreSQL's pool ended.
      if (onPostgres()) await closeDatabase(t.db);
      else t.db.$client.close();
      await h.say(manager, '/status Ромашка');
      expect(texts()).toEqual(['Извините, что-то пошло не так. Попробуйте ещё раз.']);
    });
  });

  describe('admin conversations', () => {
    it('adds a client in a dialogue that survives a restart', async () => {
      await h.say(admin, '/addclient');
      await h.say(admin, 'ООО «Новый клиент»');
      h.restart();
      // Each answer is checked as it is given, and asked again on the spot.
      await h.say(admin, '12345');
      expect(texts().at(-1)).toBe('Не подходит: Клиент: ИНН — нужно 10 или 12 цифр. Напишите ещё раз или /cancel.');
      await h.say(admin, '7712345678');
      await h.say(admin, '999');
      expect(texts().at(-1)).toMatch(/^Не подходит: 999 — не сотрудник в dozor/);
      await h.say(admin, '1001');
      await h.say(admin, 'чат');
      expect(texts().at(-1)).toMatch(/^Не подходит: Клиент: чат — нужен id чата, например -1001234567890/);
      await h.say(admin, '-');
      expect((await listClients(t.db)).find((c) => c.name === 'ООО «Новый клиент»')).toMatchObject({ inn: '7712345678', managerId: 1001, chatId: null });
      expect(texts().at(-1)).toMatch(/Клиент «ООО «Новый клиент»» добавлен/);
    });

    it('adds an installation and shows its token once; /cancel leaves a dialogue', async () => {
      await h.say(admin, '/addinstallation');
      await h.say(admin, 'Нет такого клиента');
      expect(texts().at(-1)).toMatch(/Не подходит: Клиента с id или названием «Нет такого клиента» нет/);
      await h.say(admin, 'АО «Вектор»');
      await h.say(admin, 'Резерв');
      await h.press(admin, 'kind:cloud', { chatId: 3001, messageId: 1 });
      await h.say(admin, 'reserve.vector.example');
      await h.say(admin, '999.1.1.1');
      expect(texts().at(-1)).toMatch(/^Не подходит: Установка: IP-адрес — нужен IPv4- или IPv6-адрес/);
      expect(texts().filter((text) => text.startsWith('Не подходит: Установка: IP-адрес'))).toHaveLength(1);
      await h.say(admin, '-');
      await h.say(admin, '-');
      expect(texts().at(-1)).toBe('Провайдер хостинга (например, Техэксперт.Облако) или «-»:');
      await h.say(admin, 'Техэксперт.Облако');
      expect(texts().at(-1)).toMatch(/<code>dzr_[A-Za-z0-9_-]{43}<\/code>/);
      expect((await t.db.select().from(installations)).find((i) => i.name === 'Резерв')).toMatchObject({ provider: 'Техэксперт.Облако', host: 'reserve.vector.example' });

      await h.say(admin, '/addclient');
      await h.say(admin, '/cancel');
      expect(texts().at(-1)).toBe('Диалог прерван.');
    });

    /** Telegram's word that someone added the bot to a group. */
    const botAdded = (updateId: number, chat: { id: number; title: string }, from: { id: number; first_name: string }) =>
      h.bot.handleUpdate({
        update_id: updateId,
        my_chat_member: {
          chat: { ...chat, type: 'supergroup' },
          from: { ...from, is_bot: false },
          date: 0,
          old_chat_member: { status: 'left', user: { id: 1, is_bot: true, first_name: 'dozor' } },
          new_chat_member: { status: 'member', user: { id: 1, is_bot: true, first_name: 'dozor' } },
        },
      } as never);

    it('tells the admins a group\'s id and title when the bot is added to it', async () => {
      await botAdded(9001, { id: -1009876543210, title: 'Ромашка и мы' }, { id: 1001, first_name: 'Ксения' });
      // A stranger adding it somewhere tells nobody anything.
      await botAdded(9002, { id: -1001111111111, title: 'Чужая группа' }, { id: 777, first_name: 'Незнакомец' });
      const notices = (await t.db.select().from(outbox).orderBy(outbox.id)).filter((m) => m.kind === 'system.notice');
      expect(notices.map((n) => [n.chatId, (n.payload as { text: string }).text])).toEqual([
        [3001, '👋 Ксения добавила бота в чат «Ромашка и мы», его id: -1009876543210. Чтобы оповещения клиента шли туда, укажите этот id в /addclient (вопрос про чат).'],
      ]);
    });

    it('is for admins only', async () => {
      await h.say(manager, '/addclient');
      expect(texts()).toEqual(['Это только для администраторов.']);
    });
  });
});

describe('Russian plural forms and spans', () => {
  it.each([
    [1, '1 установка'],
    [2, '2 установки'],
    [5, '5 установок'],
    [11, '11 установок'],
    [21, '21 установка'],
    [22, '22 установки'],
  ])('%i', (n, expected) => {
    expect(count('ru', n, ['установка', 'установки', 'установок'])).toBe(expected);
  });
  it('English has two forms', () => {
    expect(plural('en', 1, ['installation', 'installations'])).toBe('installation');
    expect(plural('en', 3, ['installation', 'installations'])).toBe('installations');
  });
  it('spans', () => {
    expect(formatSpan('ru', 77 * 60_000)).toBe('1 час 17 минут');
    expect(formatSpan('ru', 2 * 86_400_000 + 3 * 3_600_000)).toBe('2 дня 3 часа');
    expect(formatSpan('en', 30_000)).toBe('less than a minute');
  });
});
