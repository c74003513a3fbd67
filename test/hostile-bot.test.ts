import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { first } from '../db/query.ts';
import { auditLog, clients, incidents, silences } from '../db/schema.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { ingestReport } from '../intake/ingest.ts';
import { parseReport } from '../intake/parse-report.ts';
import { escapeHtml } from '../bot/html.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { addUser } from '../registry/users.ts';
import { seedFleet, testClock, testDb, type TestDb } from './helpers.ts';
import { botHarness } from './bot-helpers.ts';

describe('hostile input to the bot', () => {
  const clock = testClock('2023-02-15T10:00:00Z');
  let t: TestDb;
  let h: ReturnType<typeof botHarness>;
  const manager = { id: 1001, first_name: 'Ксения' };
  const texts = () => h.sent().map((c) => String(c.payload.text));
  const audited = (action: string) => t.db.select().from(auditLog).where(eq(auditLog.action, action)).orderBy(auditLog.id);

  beforeEach(async () => {
    t = await testDb();
    await seedFleet({ db: t.db, clock, actor: 'test' });
    h = botHarness(t.db, clock);
  });
  afterEach(() => t.close());

  it('copes with a huge argument', async () => {
    await h.say(manager, `/status ${'я'.repeat(10_000)}`);
    expect(texts()).toHaveLength(1);
    expect(texts()[0]!.length).toBeLessThan(400);
    expect(texts()[0]).toMatch(/^Не нашёл клиента/);
  });

  it('ignores control characters in arguments', async () => {
    await h.say(manager, '/status \u0000\u0007Ромашка\u001b');
    expect(texts()[0]).toContain('🏢 <b>ООО «Ромашка»</b>');
  });

  it('answers empty arguments with what is useful', async () => {
    await h.say(manager, '/silence');
    await h.say(manager, '/status    ');
    expect(texts()[0]).toMatch(/^Формат: \/silence/);
    expect(texts()[1]).toBe('✅ У ваших клиентов всё в порядке.');
  });

  it('refuses forged and stale buttons, writing them to the audit log', async () => {
    await h.press(manager, 'ack:999999', { chatId: 1001, messageId: 5 });
    await h.press(manager, 'snz:h:424242', { chatId: 1001, messageId: 5 });
    await h.press(manager, "'; DROP TABLE incidents; --", { chatId: 1001, messageId: 5 });
    expect((await audited('callback.unknown-incident')).map((a) => a.subjectId)).toEqual(['999999', '424242']);
    expect((await audited('callback.unknown')).map((a) => a.subjectId)).toEqual(["'; DROP TABLE incidents; --"]);
    expect(h.sent('answerCallbackQuery')).toHaveLength(3);
  });

  it('says nothing in a group it was not set up for, even to staff', async () => {
    await h.say(manager, '/status Ромашка', -100999);
    await h.press(manager, 'st:1', { chatId: -100999, messageId: 1 });
    expect(h.sent()).toEqual([]);
    expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
  });

  it('answers staff in a client\'s notification chat', async () => {
    await t.db.update(clients).set({ chatId: -100123 });
    await h.say(manager, '/status Ромашка', -100123);
    expect(h.lastSent()!.payload.chat_id).toBe(-100123);
  });

  it('keeps a client\'s group to that client: another client\'s card is not shown there, nor its status button', async () => {
    const admin = { id: 3001, first_name: 'Анна' };
    await addUser({ db: t.db, clock, actor: 'test' }, { telegramId: 3001, role: 'admin', name: 'Анна' });
    const vector = await addClient({ db: t.db, clock, actor: 'test' }, { name: 'АО «Вектор»', chatId: -100777 });
    const vectorInstallation = (await addInstallation({ db: t.db, clock, actor: 'test' }, { client: String(vector.id), name: 'Облако', kind: 'cloud' })).installation;
    await t.db.update(clients).set({ chatId: -100123 }).where(eq(clients.name, 'ООО «Ромашка»'));
    await h.say(admin, '/status Вектор', -100123);
    expect(texts().at(-1)).toMatch(/^Не нашёл клиента/);
    await h.say(admin, '/status Ромашка', -100123);
    expect(texts().at(-1)).toContain('🏢 <b>ООО «Ромашка»</b>');
    await h.press(admin, `st:${vectorInstallation.id}`, { chatId: -100123, messageId: 1 });
    await h.press(admin, `stc:${vector.id}`, { chatId: -100123, messageId: 1 });
    expect(texts().some((text) => text.includes('АО «Вектор»'))).toBe(false);
    // In a private chat the admin sees every client.
    await h.say(admin, '/status Вектор');
    expect(texts().at(-1)).toContain('🏢 <b>АО «Вектор»</b>');
  });

  it('never does admin work in a group: no dialogue, no agent token there', async () => {
    const admin = { id: 3001, first_name: 'Анна' };
    await addUser({ db: t.db, clock, actor: 'test' }, { telegramId: 3001, role: 'admin', name: 'Анна' });
    await t.db.update(clients).set({ chatId: -100123 });
    for (const command of ['/addinstallation', '/addclient', '/assign', '/users', '/requests']) await h.say(admin, command, -100123);
    expect(texts()).toEqual(Array(5).fill('Это делается только в личном чате с ботом: здесь видят все участники группы.'));
  });

  it('takes no button press as an answer to a dialogue: «Беру» under an alert still acknowledges', async () => {
    const admin = { id: 3001, first_name: 'Анна' };
    await addUser({ db: t.db, clock, actor: 'test' }, { telegramId: 3001, role: 'admin', name: 'Анна' });
    const incident = await openKeyLost();
    await h.say(admin, '/addinstallation');
    await h.say(admin, 'ООО «Ромашка»');
    // Asked for the installation's name, the admin presses «Беру» under an alert instead.
    await h.press(admin, `ack:${incident}`, { chatId: 3001, messageId: 1 });
    expect((await first(t.db.select().from(incidents).where(eq(incidents.id, incident))))!.status).toBe('acknowledged');
    await h.say(admin, 'Склад');
    const asked = texts().at(-1)!;
    expect(asked).toBe('Вид установки:');
  });

  it('makes one silence of fifty quick «💤 1 ч» presses; a longer snooze still adds its own', async () => {
    const incident = await openKeyLost();
    for (let i = 0; i < 50; i++) {
      await h.press(manager, `snz:h:${incident}`, { chatId: 1001, messageId: 5 });
      clock.advance(1_000);
    }
    expect(await t.db.select().from(silences)).toHaveLength(1);
    expect(h.sent('answerCallbackQuery')).toHaveLength(50);
    // A critical till morning is asked about first: «Да» under the question (snz:M) is what puts it off.
    await h.press(manager, `snz:m:${incident}`, { chatId: 1001, messageId: 5 });
    expect(await t.db.select().from(silences)).toHaveLength(1);
    await h.press(manager, `snz:M:${incident}`, { chatId: 1001, messageId: 6 });
    expect(await t.db.select().from(silences)).toHaveLength(2);
  });

  it('keeps reordering marks and C1 controls out of names and messages', async () => {
    await expect(addClient({ db: t.db, clock, actor: 'test' }, { name: 'ООО «Ромашка\u202Eакшамор»' })).rejects.toThrowError(/control characters/);
    await expect(addClient({ db: t.db, clock, actor: 'test' }, { name: 'ООО\u0085Вектор' })).rejects.toThrowError(/control characters/);
    // What comes from elsewhere (an Alertmanager label, a Telegram name) shows the mark as �, not its effect.
    expect(escapeHtml('node\u202Eexe.1<b>')).toBe('node\uFFFDexe.1&lt;b&gt;');
    expect(escapeHtml('Анна 👩\u200D💻')).toBe('Анна 👩\u200D💻');
  });

  /** A key lost at Ромашка, opened by a report: its incident id. */
  async function openKeyLost(): Promise<number> {
    const report = parseReport(Buffer.from('<report id="k"><senselock state="lost"/></report>'), 'xml', { tz: 'Europe/Moscow' });
    await ingestReport(t.db, DEFAULT_INCIDENT_SETTINGS, { id: 1 }, report, clock());
    return (await first(t.db.select().from(incidents)))!.id;
  }
});
