import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { outbox } from '../db/schema.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { addUser } from '../registry/users.ts';
import { postReport, seedFleet, startIntake, testClock, testDb, type TestDb, type TestIntake } from './helpers.ts';
import { botHarness } from './bot-helpers.ts';

describe('Telegram failing for ten minutes', () => {
  const clock = testClock('2023-02-15T10:00:00Z');
  let t: TestDb;
  let intake: TestIntake;
  let h: ReturnType<typeof botHarness>;
  let tokens: string[];

  beforeEach(async () => {
    t = await testDb();
    const ctx = { db: t.db, clock, actor: 'test' };
    tokens = [(await seedFleet(ctx)).token];
    await addUser(ctx, { telegramId: 1002, role: 'manager', name: 'Пётр' });
    const other = await addClient(ctx, { name: 'АО «Вектор»', managerId: 1002 });
    tokens.push((await addInstallation(ctx, { client: String(other.id), name: 'Бухгалтерия', kind: 'local' })).token);
    intake = await startIntake(t.db, clock);
    h = botHarness(t.db, clock);
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  it('delivers everything queued afterwards, in order per chat, none doubled', async () => {
    const dispatcher = h.dispatcher(0);
    let call = 0;
    // 500s, 429s with retry_after, and timeouts, in turn.
    h.setOutage(() => {
      call++;
      if (call % 3 === 0) return new Error('Network request for sendMessage failed: timeout');
      if (call % 3 === 1) return { method: '', error_code: 500, description: 'Internal Server Error' };
      return { method: '', error_code: 429, description: 'Too Many Requests: retry after 40', parameters: { retry_after: 40 } };
    });
    const sequence = [
      [0, '<service state="stopped"/>'],
      [1, '<kit assembled="false"/>'],
      [0, '<service state="running"/>'], // resolves the first: an edit of a message not yet sent
      [1, '<senselock state="lost"/>'],
      [0, '<storage reachable="false"/>'],
    ] as const;
    let seq = 0;
    const outageEnds = clock().getTime() + 10 * 60_000;
    while (clock().getTime() < outageEnds) {
      const step = sequence[seq];
      if (step) await postReport(intake.url, `<report id="f${seq++}">${step[1]}</report>`, { token: tokens[step[0]]! });
      await dispatcher.runOnce();
      clock.advance(20_000);
    }
    // Nothing got through, and nothing was dropped.
    expect(await t.db.select().from(outbox).where(eq(outbox.status, 'sent'))).toEqual([]);
    const queued = (await t.db.select().from(outbox)).length;
    expect(queued).toBeGreaterThanOrEqual(5);

    h.setOutage(null);
    const recoveredAt = h.calls.length;
    for (let i = 0; i < 30 && (await t.db.select().from(outbox).where(eq(outbox.status, 'pending'))).length > 0; i++) {
      clock.advance(60_000);
      await dispatcher.runOnce();
    }
    expect(await t.db.select().from(outbox).where(eq(outbox.status, 'pending'))).toEqual([]);

    // What reached each chat: in the order it was produced, each alert once.
    // In the order produced (ids): PostgreSQL returns rows in no particular order without one.
    const delivered = await t.db.select().from(outbox).orderBy(outbox.id);
    for (const chatId of [1001, 1002]) {
      const rows = delivered.filter((m) => m.chatId === chatId);
      const sentOrder = [...rows].sort((a, b) => a.sentAt!.getTime() - b.sentAt!.getTime() || a.id - b.id).map((m) => m.id);
      expect(sentOrder).toEqual(rows.map((m) => m.id));
    }
    expect(delivered).toHaveLength(queued);
    const sentAfter = h.calls.slice(recoveredAt).filter((c) => c.method === 'sendMessage').map((c) => String(c.payload.text));
    expect(sentAfter.filter((text) => text.includes('Хранилище баз недоступно'))).toHaveLength(1);
    expect(sentAfter.filter((text) => text.includes('Ключ SenseLock не виден'))).toHaveLength(1);
    expect(sentAfter.filter((text) => text.includes('Служба ПК остановлена'))).toHaveLength(1);
  });
});
