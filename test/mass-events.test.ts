import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { updateUser } from '../db/users.ts';
import { DEFAULT_INCIDENT_SETTINGS, type IncidentSettings } from '../incidents/settings.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { addUser } from '../registry/users.ts';
import { botHarness, buttonsOf } from './bot-helpers.ts';
import { buildHttpServer } from '../app/http.ts';
import { postReport, seedFleet, silentLogger, startIntake, testClock, testDb, type TestDb, type TestIntake } from './helpers.ts';

const MASS = { min: 30, windowMs: 30_000 };

/**
 * SMART's `…Count` alerts exist because one outage flooded Telegram. Here 35
 * installations of two managers open the same rule within one grouping
 * window: each chat gets one message with the count and its own installations
 * folded into a list, and «Беру все».
 */
describe('mass events', () => {
  const clock = testClock('2026-11-30T07:00:00Z'); // 10:00 Moscow
  let t: TestDb;
  let intake: TestIntake;
  let tokens: string[];
  let ids: number[];
  let seq = 0;
  const settings: IncidentSettings = { ...DEFAULT_INCIDENT_SETTINGS, massEvent: MASS };
  const reportFrom = (token: string, body: string) => postReport(intake.url, `<report id="m${++seq}">${body}</report>`, { token });

  beforeEach(async () => {
    clock.set('2026-11-30T07:00:00Z');
    t = await testDb();
    const ctx = { db: t.db, clock, actor: 'test' };
    const fleet = await seedFleet(ctx);
    await addUser(ctx, { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров', leadId: 2001 });
    tokens = [fleet.token];
    ids = [fleet.installation.id];
    // 20 installations of Ксения's clients (one is the seeded one), 15 of Пётр's.
    for (let i = 1; i < 35; i++) {
      const client = await addClient(ctx, { name: `ООО «Клиент ${i}»`, managerId: i < 20 ? 1001 : 1002 });
      const added = await addInstallation(ctx, { client: String(client.id), name: `Сервер ${i}`, kind: 'local' });
      tokens.push(added.token);
      ids.push(added.installation.id);
    }
    intake = await startIntake(t.db, clock, { settings });
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  it('35 installations entering maintenance together: notices nobody is sent one by one become one message per chat', async () => {
    for (const token of tokens.slice(0, 29)) await reportFrom(token, '<server state="maintenance"/>');
    const h = botHarness(t.db, clock, { massEvent: MASS });
    await h.dispatcher().runOnce();
    expect(h.sent()).toEqual([]);
    for (const token of tokens.slice(29)) await reportFrom(token, '<server state="maintenance"/>');
    await h.dispatcher().runOnce();
    const sent = h.sent();
    expect(sent.map((c) => c.payload.chat_id).sort()).toEqual([1001, 1002]);
    const ksenia = String(sent.find((c) => c.payload.chat_id === 1001)!.payload.text).split('\n');
    expect(ksenia[2]).toBe('🔵 <b>🌊 Массовое событие: Сервер в режиме обслуживания — 35 установок одновременно, здесь 20</b>');
    expect(ksenia[3]).toMatch(/^ООО «Ромашка» · Сервер офиса; ООО «Клиент 1» · Сервер 1; .*; ООО «Клиент 19» · Сервер 19$/);
    expect(String(sent.find((c) => c.payload.chat_id === 1002)!.payload.text)).toContain('— 35 установок одновременно, здесь 15</b>');
    // Still notices: on record, never reminded.
    expect((await listIncidentsWithNames(t.db, { includeResolved: false })).every((i) => i.severity === 'info' && i.announcedAt === null)).toBe(true);
  });

  it('a critical on 35 installations: one message per chat with «Беру все», how bad, since when, the first step and every step a tap away; those that come after it join it', async () => {
    await updateUser(t.db, 1002, { language: 'en' });
    const h = botHarness(t.db, clock, { massEvent: MASS });
    for (const token of tokens.slice(0, 30)) await reportFrom(token, '<senselock state="lost"/>');
    await h.dispatcher().runOnce();
    expect(h.sent()).toHaveLength(2);
    const ksenia = h.sent().find((c) => c.payload.chat_id === 1001)!;
    const message = String(ksenia.payload.text).split('\n');
    // What a single alert says is said once for all of them: how bad and why it matters, since when, the first step.
    expect(message[2]).toBe('🔴 <b>🌊 Массовое событие: Ключ SenseLock не виден — 30 установок одновременно, здесь 20</b>');
    expect(message.slice(4)).toEqual([
      '<b>Критично.</b> Без ключа ПК перестаёт открывать базы: пользователи не смогут работать.',
      '⏱ Началось сегодня в 10:00, длится меньше минуты',
      '👉 Связаться с сисадмином клиента и попросить удалённый доступ.',
    ]);
    const firstOfKsenia = (await listIncidentsWithNames(t.db, { includeResolved: false })).find((i) => i.clientName === 'ООО «Ромашка»')!;
    expect(buttonsOf(ksenia)).toEqual([
      { text: '🙋 Беру все', data: 'ackall' },
      { text: '📋 Ключ SenseLock не виден: что делать', data: `howr:${firstOfKsenia.id}` },
      { text: 'ℹ️ Подробнее', data: 'more' },
    ]);
    // The button answers with every step, once for the event, as a reply to its message.
    const kseniaMessage = 1000 + h.sent().indexOf(ksenia); // ids count from 1000 in the order sent
    await h.press({ id: 1001, first_name: 'Ксения' }, `howr:${firstOfKsenia.id}`, { chatId: 1001, messageId: kseniaMessage });
    const steps = h.lastSent('sendMessage')!;
    expect(steps.payload.reply_parameters).toMatchObject({ message_id: kseniaMessage });
    expect(String(steps.payload.text).split('\n').slice(0, 7)).toEqual([
      '🔴 <b>Ключ SenseLock не виден</b>',
      '🏢 20 установок',
      '<b>Критично.</b> Без ключа ПК перестаёт открывать базы: пользователи не смогут работать.',
      '⏱ Началось сегодня в 10:00, длится меньше минуты',
      '',
      '<b>Что делать:</b>',
      '1. Связаться с сисадмином клиента и попросить удалённый доступ.',
    ]);
    expect(String(steps.payload.text)).toMatch(/\n2\. /);
    // A button of the message names an incident of it: another chat's, or a forged one, shows nothing.
    const replies = h.sent('sendMessage').length;
    await h.press({ id: 1001, first_name: 'Ксения' }, 'howr:999999', { chatId: 1001, messageId: kseniaMessage });
    expect(h.sent('sendMessage')).toHaveLength(replies);
    // Пётр reads English: the same, in English.
    const petr = h.sent().find((c) => c.payload.chat_id === 1002)!;
    expect(String(petr.payload.text).split('\n').slice(2, 3)).toEqual(['🔴 <b>🌊 Mass event: SenseLock key not seen — 30 installations at once, 10 here</b>']);
    expect(String(petr.payload.text).split('\n').slice(4)).toEqual([
      '<b>Critical.</b> Without the key ПК stops opening the databases: users cannot work.',
      '⏱ Began today at 10:00, lasting less than a minute',
      "👉 Contact the client's administrator and ask for remote access.",
    ]);
    expect(buttonsOf(petr).map((b) => b.text)).toEqual(["🙋 I'm on all of them", '📋 SenseLock key not seen: what to do', 'ℹ️ Details']);
    const petrFirst = buttonsOf(petr)[1]!.data;
    await h.press({ id: 1002, first_name: 'Пётр', language_code: 'en' }, petrFirst, { chatId: 1002, messageId: 1000 + h.sent().indexOf(petr) });
    expect(String(h.lastSent('sendMessage')!.payload.text).split('\n').slice(0, 6)).toEqual([
      '🔴 <b>SenseLock key not seen</b>',
      '🏢 10 installations',
      '<b>Critical.</b> Without the key ПК stops opening the databases: users cannot work.',
      '⏱ Began today at 10:00, lasting less than a minute',
      '',
      '<b>What to do:</b>',
    ]);
    // Five more within the window: the messages already sent are redrawn with them, nothing new arrives.
    clock.advance(10_000);
    for (const token of tokens.slice(30)) await reportFrom(token, '<senselock state="lost"/>');
    clock.advance(MASS.windowMs);
    await h.dispatcher().runOnce();
    expect(h.sent()).toHaveLength(4); // the two messages and the two answers to «что делать»
    const redrawn = h.sent('editMessageText').filter((c) => c.payload.chat_id === 1002).at(-1)!;
    expect(String(redrawn.payload.text)).toContain('— 35 installations at once, 15 here</b>');
    // «Беру все» takes the chat's own, all of them.
    await h.press({ id: 1002, first_name: 'Пётр' }, 'ackall', { chatId: 1002, messageId: Number(redrawn.payload.message_id) });
    expect((await listIncidentsWithNames(t.db, { includeResolved: false })).filter((i) => i.status === 'acknowledged')).toHaveLength(15);
    // The keys come back: the chat where nobody took it hears the end once, in a short reply (ten named, the rest counted); the chat that took it, nothing.
    clock.advance(60_000);
    for (const token of tokens) await reportFrom(token, '<senselock state="ok"/>');
    await h.dispatcher().runOnce();
    const ends = h.sent().slice(4);
    expect(ends.map((c) => c.payload.chat_id)).toEqual([1001]);
    const lines = String(ends[0]!.payload.text).split('\n');
    expect(lines).toHaveLength(11);
    expect(lines.slice(0, 10).every((line) => /^☑️ <b>.*<\/b> · .*: ключ SenseLock снова виден, сегодня в \d\d:\d\d; длилось 1 минуту$/.test(line))).toBe(true);
    expect(lines[10]).toBe('☑️ и ещё 10');
  });

  it('an Alertmanager storm of one alert name folds the same way: one message per chat, each installation once; late alerts join it, and its end is one redraw', async () => {
    const token = 'alertmanager-shared-secret';
    const am = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings, alertmanagerToken: token });
    const url = await am.listen({ host: '127.0.0.1', port: 0 });
    const send = (status: 'firing' | 'resolved', labels: Record<string, string>[]) =>
      fetch(`${url}/api/v1/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ version: '4', alerts: labels.map((l) => ({ status, labels: l, annotations: { summary: 'Нагрузка выше 90%' } })) }),
      }).then((r) => r.json());
    // Every label set is an alert of its own: three CPUs on each of 35 installations.
    const load = (installations: number[], cpus: string[]) => installations.flatMap((id) => cpus.map((cpu) => ({ alertname: 'Высокая нагрузка', installation_id: String(id), cpu })));
    try {
      expect(await send('firing', load(ids, ['0', '1', '2']))).toMatchObject({ opened: 105 });
      const h = botHarness(t.db, clock, { massEvent: MASS });
      await h.dispatcher().runOnce();
      expect(h.sent().map((c) => c.payload.chat_id).sort()).toEqual([1001, 1002]);
      const ksenia = h.sent().find((c) => c.payload.chat_id === 1001)!;
      const lines = String(ksenia.payload.text).split('\n');
      expect(lines[2]).toBe('🟡 <b>🌊 Массовое событие: Высокая нагрузка — 35 установок одновременно, здесь 20</b>');
      expect(lines[3]).toMatch(/^ООО «Ромашка» · Сервер офиса ×3; ООО «Клиент 1» · Сервер 1 ×3; .*; ООО «Клиент 19» · Сервер 19 ×3$/);
      // Its own summary is the impact, said once; it has no steps of dozor's, so no «что делать» button.
      expect(lines.slice(4)).toEqual(['<b>Внимание.</b> Нагрузка выше 90%', '⏱ Началось сегодня в 10:00, длится меньше минуты']);
      expect(buttonsOf(ksenia)).toEqual([
        { text: '🙋 Беру все', data: 'ackall' },
        { text: 'ℹ️ Подробнее', data: 'more' },
      ]);
      // «Подробнее» names the event's alert once, with how many installations, not 60 lines.
      await h.press({ id: 1001, first_name: 'Ксения' }, 'more', { chatId: 1001, messageId: 1000 + h.sent().indexOf(ksenia) }); // ids count from 1000 in the order sent
      expect(String(h.lastSent('sendMessage')!.payload.text).split('\n').slice(1)).toEqual(['Высокая нагрузка — <code>am:Высокая нагрузка</code> (пришло из Alertmanager): 20 установок']);

      // A fourth CPU of five installations, within the window: the message is redrawn with them, nothing new arrives.
      clock.advance(10_000);
      expect(await send('firing', load(ids.slice(0, 5), ['3']))).toMatchObject({ opened: 5 });
      clock.advance(MASS.windowMs);
      await h.dispatcher().runOnce();
      expect(h.sent()).toHaveLength(3); // the two chats' messages and the «Подробнее» reply
      expect(String(h.sent('editMessageText').at(-1)!.payload.text)).toContain('ООО «Ромашка» · Сервер офиса ×4');

      // The storm ends: each chat's message is redrawn once for all of it, not once an alert.
      const edits = h.sent('editMessageText').length;
      expect(await send('resolved', [...load(ids, ['0', '1', '2']), ...load(ids.slice(0, 5), ['3'])])).toMatchObject({ resolved: 110 });
      await h.dispatcher().runOnce();
      expect(h.sent()).toHaveLength(3);
      const endEdits = h.sent('editMessageText').slice(edits);
      expect(endEdits.map((c) => c.payload.chat_id).sort()).toEqual([1001, 1002]);
      expect(String(endEdits[0]!.payload.text)).toContain('☑️');
    } finally {
      await am.close();
    }
  });

  it('more than 15 of one rule in a message, short of a mass event, fold the same way: how bad, since when, the first step, and every step a tap away', async () => {
    const h = botHarness(t.db, clock, { massEvent: MASS });
    for (const token of tokens.slice(0, 20)) await reportFrom(token, '<senselock state="lost"/>');
    await h.dispatcher().runOnce();
    const message = h.sent().find((c) => c.payload.chat_id === 1001)!;
    const lines = String(message.payload.text).split('\n');
    expect(lines[2]).toBe('🔴 <b>Ключ SenseLock не виден — 20 установок</b>');
    expect(lines.slice(4)).toEqual([
      '<b>Критично.</b> Без ключа ПК перестаёт открывать базы: пользователи не смогут работать.',
      '⏱ Началось сегодня в 10:00, длится меньше минуты',
      '👉 Связаться с сисадмином клиента и попросить удалённый доступ.',
    ]);
    const steps = buttonsOf(message).find((b) => b.text === '📋 Ключ SenseLock не виден: что делать')!;
    await h.press({ id: 1001, first_name: 'Ксения' }, steps.data, { chatId: 1001, messageId: 1000 + h.sent().indexOf(message) });
    expect(String(h.lastSent('sendMessage')!.payload.text)).toMatch(/^🔴 <b>Ключ SenseLock не виден<\/b>\n🏢 20 установок\n[^]*<b>Что делать:<\/b>\n1\. /);
  });

  it('under the threshold, alerts of one rule stay ordinary: 5 installations are five items', async () => {
    const h = botHarness(t.db, clock, { massEvent: MASS });
    for (const token of tokens.slice(0, 5)) await reportFrom(token, '<senselock state="lost"/>');
    await h.dispatcher().runOnce();
    const text = String(h.lastSent()!.payload.text);
    expect(text).not.toContain('Массовое событие');
    expect(text.match(/^🏢 <b>/gm)).toHaveLength(5);
    expect(text.match(/^🔴 <b>Ключ SenseLock не виден<\/b> — критично: /gm)).toHaveLength(5);
  });
});
