import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditLog, clients } from '../db/schema.ts';
import { seedFleet, testClock, testDb, type TestDb } from './helpers.ts';
import { botHarness } from './bot-helpers.ts';

describe('hostile input to the bot', () => {
  const clock = testClock('2023-02-15T10:00:00Z');
  let t: TestDb;
  let h: ReturnType<typeof botHarness>;
  const manager = { id: 1001, first_name: 'Ксения' };
  const texts = () => h.sent().map((c) => String(c.payload.text));
  const audited = (action: string) => t.db.select().from(auditLog).where(eq(auditLog.action, action)).all();

  beforeEach(() => {
    t = testDb();
    seedFleet({ db: t.db, clock, actor: 'test' });
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
    expect(audited('callback.unknown-incident').map((a) => a.subjectId)).toEqual(['999999', '424242']);
    expect(audited('callback.unknown').map((a) => a.subjectId)).toEqual(["'; DROP TABLE incidents; --"]);
    expect(h.sent('answerCallbackQuery')).toHaveLength(3);
  });

  it('says nothing in a group it was not set up for, even to staff', async () => {
    await h.say(manager, '/status Ромашка', -100999);
    await h.press(manager, 'st:1', { chatId: -100999, messageId: 1 });
    expect(h.sent()).toEqual([]);
    expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
  });

  it('answers staff in a client\'s notification chat', async () => {
    t.db.update(clients).set({ chatId: -100123 }).run();
    await h.say(manager, '/status Ромашка', -100123);
    expect(h.lastSent()!.payload.chat_id).toBe(-100123);
  });
});
