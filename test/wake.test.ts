import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isWakeTime, lastWorkEnd, wakeCron, type WorkingHours } from '../core/working-hours.ts';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { outbox } from '../db/schema.ts';
import { runWake } from '../jobs/wake.ts';
import { acknowledge } from '../registry/incidents.ts';
import { botHarness } from './bot-helpers.ts';
import { postReport, seedFleet, startIntake, testClock, testDb, type TestDb, type TestIntake } from './helpers.ts';

const HOURS: WorkingHours = { tz: 'Europe/Moscow', hours: { from: 9 * 60, to: 18 * 60 }, wakeAt: 7 * 60 + 30 };

describe('working hours', () => {
  it('finds the end of the last working day, and the morning window to wake people in', () => {
    // Monday 30.11.2026, 07:30 Moscow = 04:30 UTC.
    expect(lastWorkEnd(new Date('2026-11-30T04:30:00Z'), HOURS).toISOString()).toBe('2026-11-27T15:00:00.000Z'); // Friday 18:00
    expect(lastWorkEnd(new Date('2026-12-01T04:30:00Z'), HOURS).toISOString()).toBe('2026-11-30T15:00:00.000Z'); // Monday 18:00
    expect(isWakeTime(new Date('2026-11-30T04:30:00Z'), HOURS)).toBe(true);
    expect(isWakeTime(new Date('2026-11-30T05:59:00Z'), HOURS)).toBe(true); // 08:59, work not begun
    expect(isWakeTime(new Date('2026-11-30T06:00:00Z'), HOURS)).toBe(false); // 09:00
    expect(isWakeTime(new Date('2026-11-30T04:29:00Z'), HOURS)).toBe(false);
    expect(isWakeTime(new Date('2026-11-28T04:30:00Z'), HOURS)).toBe(false); // Saturday
    expect(wakeCron(HOURS)).toBe('30 7 * * 1-5');
  });
});

describe('the morning call', () => {
  // Monday 30.11.2026, 01:00 Moscow.
  const clock = testClock('2026-11-29T22:00:00Z');
  let t: TestDb;
  let intake: TestIntake;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  let seq = 0;
  const report = (body: string) => postReport(intake.url, `<report id="w${++seq}">${body}</report>`, { token: fleet.token });
  const wakes = async () =>
    (await t.db.select().from(outbox)).filter((m) => m.kind === 'incident.wake').map((m) => m.chatId);

  beforeEach(async () => {
    clock.set('2026-11-29T22:00:00Z');
    t = await testDb();
    fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    intake = await startIntake(t.db, clock);
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  it('sends a critical of the night nobody took to the manager and the lead at WAKE_AT, once, saying work is about to start', async () => {
    await report('<senselock state="lost"/>');
    clock.set('2026-11-30T04:30:00Z'); // 07:30
    expect(await runWake({ db: t.db, hours: HOURS }, clock())).toEqual({ woken: 1 });
    expect((await wakes()).sort()).toEqual([1001, 2001]);
    // A restart at 07:45 calls nobody twice.
    clock.set('2026-11-30T04:45:00Z');
    expect(await runWake({ db: t.db, hours: HOURS }, clock())).toEqual({ woken: 0 });

    const h = botHarness(t.db, clock);
    await h.dispatcher().runOnce();
    const call = h.sent().find((c) => c.payload.chat_id === 2001 && String(c.payload.text).startsWith('⏰'))!;
    expect(String(call.payload.text).split('\n')[0]).toBe(
      '⏰ До начала рабочего дня: критичное оповещение с ночи (сегодня в 01:00) никто не взял в работу — клиент вот-вот начнёт работать (ответственный: Ксения Шабанова)',
    );
  });

  it('leaves alone what was taken, what is only a warning, and what opened during working hours', async () => {
    clock.set('2026-11-27T14:00:00Z'); // Friday 17:00: working hours
    await report('<storage reachable="false"/>');
    clock.set('2026-11-29T22:00:00Z'); // Monday 01:00
    await report('<storage reachable="false"/><senselock state="lost"/><kit daily-update="false"/>');
    const key = (await listIncidentsWithNames(t.db, { includeResolved: false })).find((i) => i.ruleId === 'KodeksXmlSensLockStatus')!;
    await acknowledge({ db: t.db, clock, actor: 'tg:1001' }, key.id);
    clock.set('2026-11-30T04:30:00Z');
    expect(await runWake({ db: t.db, hours: HOURS }, clock())).toEqual({ woken: 0 });
    expect(await wakes()).toEqual([]);
  });
});
