import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getIncident, listIncidentEvents, listIncidentsWithNames } from '../db/incidents.ts';
import { outbox } from '../db/schema.ts';
import { acknowledge, resolveByHand } from '../registry/incidents.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { runSweep } from '../jobs/sweep.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation, setMonitoring } from '../registry/installations.ts';
import { addSilence, removeSilence } from '../registry/silences.ts';
import { addUser } from '../registry/users.ts';
import { HOUR, postReport, seedFleet, startIntake, testClock, testDb, type TestDb, type TestIntake } from './helpers.ts';

describe('incident lifecycle', () => {
  const clock = testClock('2023-02-15T10:00:00Z');
  let t: TestDb;
  let intake: TestIntake;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  const ctx = (actor = 'tg:1001') => ({ db: t.db, clock, actor });
  const sweep = async () => await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
  const all = () => listIncidentsWithNames(t.db, { includeResolved: true });
  const outboxRows = () => t.db.select().from(outbox).orderBy(outbox.id);
  const messages = async () => (await outboxRows()).map((m) => `${m.kind} -> ${m.chatId}`);
  let seq = 0;
  const report = (body: string, token = fleet.token) => postReport(intake.url, `<report id="r${++seq}">${body}</report>`, { token });

  beforeEach(async () => {
    clock.set('2023-02-15T10:00:00Z');
    t = await testDb();
    fleet = await seedFleet(ctx('test'));
    intake = await startIntake(t.db, clock);
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  it('keeps at most one open incident per installation and rule', async () => {
    await report('<senselock state="lost"/>');
    await report('<senselock state="absent"/>');
    await report('<senselock state="lost"/>');
    expect(await all()).toHaveLength(1);
    expect(await messages()).toEqual(['incident.opened -> 1001']);
  });

  it('never sends a warning that clears within FLAP_HOLD; one that lasts goes once the hold is over', async () => {
    await intake.close();
    const held = { ...DEFAULT_INCIDENT_SETTINGS, flapHoldMs: 60_000 };
    intake = await startIntake(t.db, clock, { settings: held });
    await report('<kit daily-update="false"/>');
    expect((await outboxRows()).map((m) => m.deliverAfter)).toEqual([new Date(clock().getTime() + 60_000)]);
    clock.advance(30_000);
    await report('<kit daily-update="true"/>');
    // Opened and cleared within the hold: nothing goes, nothing is left to go; the history says why.
    expect(await messages()).toEqual([]);
    const [flapped] = await all();
    expect(flapped!.status).toBe('resolved');
    expect((await listIncidentEvents(t.db, flapped!.id)).map((e) => e.type)).toEqual(['opened', 'announced', 'resolved', 'withdrawn']);

    clock.advance(HOUR);
    await report('<kit daily-update="false"/>');
    clock.advance(2 * 60_000);
    await report('<kit daily-update="false"/>');
    expect(await messages()).toEqual(['incident.opened -> 1001']);
    // A critical is never held.
    await report('<service state="stopped"/>');
    expect((await outboxRows()).at(-1)!.deliverAfter).toBeNull();
  });

  it('sends a warning at once when the same report brings a critical: one message tells the story with its cause', async () => {
    await intake.close();
    intake = await startIntake(t.db, clock, { settings: { ...DEFAULT_INCIDENT_SETTINGS, flapHoldMs: 60_000 } });
    await report('<service state="running" account="system"/><storage reachable="false"/><kit daily-update="false"/>');
    const rows = await outboxRows();
    expect(rows.map((r) => [r.payload.ruleId, r.deliverAfter])).toEqual([
      ['KodeksStorageUnreachable', null],
      ['KodeksDailyUpdateOff', null],
    ]);
  });

  it('opens a new incident when a condition returns after resolution', async () => {
    await report('<service state="stopped"/>');
    clock.advance(HOUR);
    await report('<service state="running"/>');
    clock.advance(HOUR);
    await report('<service state="stopped"/>');
    const incidents = (await all()).sort((a, b) => a.id - b.id);
    expect(incidents.map((i) => i.status)).toEqual(['resolved', 'open']);
    expect(incidents[0]!.resolvedAt!.getTime() - incidents[0]!.openedAt.getTime()).toBe(HOUR);
  });

  it('records who acknowledged, refuses nothing on a second press but says who was first', async () => {
    await report('<service state="stopped"/>');
    const [incident] = await all();
    clock.advance(5 * 60_000);
    const first = await acknowledge(ctx('tg:1001'), incident!.id);
    expect(first.outcome).toBe('acknowledged');
    const second = await acknowledge(ctx('tg:2001'), incident!.id);
    expect(second).toMatchObject({ outcome: 'already', incident: { acknowledgedBy: 'tg:1001' } });
    expect(await messages()).toEqual(['incident.opened -> 1001', 'incident.acknowledged -> 1001']);
    const ack = (await outboxRows())[1]!;
    expect(ack.payload).toMatchObject({ acknowledgedByName: 'Ксения Шабанова', status: 'acknowledged' });
  });

  it('records every transition with who and when, and deletes nothing', async () => {
    await report('<kit assembled="false"/>');
    const [incident] = await all();
    clock.advance(60_000);
    await acknowledge(ctx('tg:1001'), incident!.id);
    clock.advance(60_000);
    await report('<kit assembled="true"/>');
    const events = (await listIncidentEvents(t.db, incident!.id)).map((e) => [e.type, e.actor, e.at.toISOString()]);
    expect(events).toEqual([
      ['opened', 'system', '2023-02-15T10:00:00.000Z'],
      ['announced', 'system', '2023-02-15T10:00:00.000Z'],
      ['acknowledged', 'tg:1001', '2023-02-15T10:01:00.000Z'],
      ['resolved', 'system', '2023-02-15T10:02:00.000Z'],
    ]);
    expect(await getIncident(t.db, incident!.id)).toMatchObject({ status: 'resolved', acknowledgedBy: 'tg:1001' });
  });

  it('resolves by hand, and the next check opens a new incident while the problem remains', async () => {
    await report('<storage reachable="false"/>');
    const [incident] = await all();
    await resolveByHand(ctx('cli:admin'), incident!.id);
    expect(await getIncident(t.db, incident!.id)).toMatchObject({ status: 'resolved', resolution: 'manual', resolvedBy: 'cli:admin' });
    expect((await sweep()).opened).toBe(1);
    expect((await all()).filter((i) => i.status === 'open')).toHaveLength(1);
  });

  it('resolves open incidents when monitoring is turned off, and judges nothing while off', async () => {
    await report('<service state="stopped"/>');
    await setMonitoring(ctx('cli:admin'), fleet.installation.id, false);
    expect((await all())[0]).toMatchObject({ status: 'resolved', resolution: 'disabled' });
    await report('<service state="stopped"/>');
    clock.advance(10 * 24 * HOUR);
    await sweep();
    expect(await all()).toHaveLength(1);
  });

  describe('silences', () => {
    it('records but does not announce an incident that opens under a silence, and announces it when the silence ends', async () => {
      await addSilence(ctx(), { installation: fleet.installation.id, for: '2h', reason: 'смена версии ПК', tz: 'Europe/Moscow' });
      await report('<service state="stopped"/>');
      expect(await all()).toHaveLength(1);
      expect((await all())[0]!.announcedAt).toBeNull();
      expect(await messages()).toEqual([]);

      clock.advance(HOUR);
      expect((await sweep()).announced).toBe(0);
      clock.advance(HOUR);
      expect((await sweep()).announced).toBe(1);
      expect(await messages()).toEqual(['incident.opened -> 1001']);
    });

    it('never announces what resolved under the silence', async () => {
      await addSilence(ctx(), { installation: fleet.installation.id, for: '2h', reason: 'работы', tz: 'Europe/Moscow' });
      await report('<service state="stopped"/>');
      clock.advance(30 * 60_000);
      await report('<service state="running"/>');
      clock.advance(2 * HOUR);
      await sweep();
      expect(await messages()).toEqual([]);
      expect((await all())[0]!.status).toBe('resolved');
    });

    it('covers a whole client, or one rule, and ends early when removed', async () => {
      const clientSilence = await addSilence(ctx(), { client: 'ООО «Ромашка»', for: '1d', reason: 'переезд', tz: 'Europe/Moscow' });
      await report('<service state="stopped"/>');
      expect(await messages()).toEqual([]);
      await removeSilence(ctx(), clientSilence.id);
      await sweep();
      expect(await messages()).toEqual(['incident.opened -> 1001']);

      await addSilence(ctx(), { rule: 'KodeksDailyUpdateOff', for: '1d', reason: 'copybaseweb настраивается', tz: 'Europe/Moscow' });
      await report('<kit daily-update="false"/><senselock state="lost"/>');
      expect(await messages()).toEqual(['incident.opened -> 1001', 'incident.opened -> 1001']);
      expect((await all()).find((i) => i.ruleId === 'KodeksDailyUpdateOff')!.announcedAt).toBeNull();
    });

    it('refuses a silence without scope, without an end, or with an end in the past', async () => {
      await expect(addSilence(ctx(), { for: '1h', reason: 'x', tz: 'Europe/Moscow' })).rejects.toThrowError(/needs an installation, a client or a rule/);
      await expect(addSilence(ctx(), { installation: 1, reason: 'x', tz: 'Europe/Moscow' })).rejects.toThrowError(/either a duration/);
      await expect(addSilence(ctx(), { installation: 1, until: '2023-02-14T00:00', reason: 'x', tz: 'Europe/Moscow' })).rejects.toThrowError(/end before it starts/);
    });
  });

  describe('reminders and escalation', () => {
    it('escalates a critical incident unacknowledged for 60 minutes to the team lead, once', async () => {
      await report('<senselock state="lost"/>');
      clock.advance(59 * 60_000);
      expect((await sweep()).escalated).toBe(0);
      clock.advance(2 * 60_000);
      expect((await sweep()).escalated).toBe(1);
      expect((await sweep()).escalated).toBe(0);
      expect(await messages()).toEqual(['incident.opened -> 1001', 'incident.escalated -> 2001']);
    });

    it('does not escalate warnings or acknowledged incidents', async () => {
      await report('<kit daily-update="false"/><service state="stopped"/>');
      const critical = (await all()).find((i) => i.severity === 'critical')!;
      await acknowledge(ctx(), critical.id);
      clock.advance(2 * HOUR);
      expect((await sweep()).escalated).toBe(0);
    });

    it('escalates to the admins when the manager has no lead', async () => {
      await addUser(ctx('test'), { telegramId: 3001, role: 'admin', name: 'Админ' });
      await addUser(ctx('test'), { telegramId: 1002, role: 'manager', name: 'Без руководителя' });
      const client = await addClient(ctx('test'), { name: 'ИП Петров', managerId: 1002 });
      const issued = await addInstallation(ctx('test'), { client: String(client.id), name: 'ПК', kind: 'local' });
      await report('<service state="stopped"/>', issued.token);
      clock.advance(61 * 60_000);
      await sweep();
      expect(await messages()).toEqual(['incident.opened -> 1002', 'incident.escalated -> 3001']);
    });

    it('re-announces an unacknowledged incident every 4 hours until acknowledged', async () => {
      await report('<kit daily-update="false"/>');
      clock.advance(4 * HOUR - 60_000);
      expect((await sweep()).reminded).toBe(0);
      clock.advance(60_000);
      expect((await sweep()).reminded).toBe(1);
      clock.advance(4 * HOUR);
      expect((await sweep()).reminded).toBe(1);
      await acknowledge(ctx(), (await all())[0]!.id);
      clock.advance(4 * HOUR);
      expect((await sweep()).reminded).toBe(0);
      expect(await messages()).toEqual([
        'incident.opened -> 1001',
        'incident.reminder -> 1001',
        'incident.reminder -> 1001',
        'incident.acknowledged -> 1001',
      ]);
    });
  });
});
