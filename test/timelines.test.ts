import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { runSweep } from '../jobs/sweep.ts';
import {
  DAY,
  HOUR,
  postReport,
  RecordingDelivery,
  seedFleet,
  sqlValue,
  startIntake,
  testClock,
  testDb,
  testDispatcher,
  type TestDb,
  type TestIntake,
} from './helpers.ts';

/**
 * The seed stories replayed against the real intake, the sweep and the outbox,
 * on a clock the test moves by hand.
 */
describe('seed stories as timelines', () => {
  const clock = testClock('2023-02-14T07:00:00Z');
  let t: TestDb;
  let intake: TestIntake;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  let delivery: RecordingDelivery;
  const sweep = async () => await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
  const openRules = async () => (await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId).sort();
  const report = (xml: string) => postReport(intake.url, xml, { token: fleet.token });
  const at = (iso: string) => clock.set(iso);

  beforeEach(async () => {
    at('2023-02-14T07:00:00Z');
    t = await testDb();
    fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    intake = await startIntake(t.db, clock);
    delivery = new RecordingDelivery();
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  it('story 3: the service stopped and storage unreachable on 15.02 open critical incidents in the same request', async () => {
    at('2023-02-14T09:00:00Z');
    await report(`<report id="14" generated-at="2023-02-14T12:00:00+03:00"><shell version="6.4.2.73"/>
      <update number="2250" operap-date="2023-02-14"/><service state="running" account="user"/>
      <storage path="\\\\nas\\kodeks" reachable="true"/><kit assembled="true" daily-update="true" copybaseweb="true"/></report>`);
    expect(await openRules()).toEqual([]);

    at('2023-02-15T10:00:00Z');
    const res = await report(`<report id="15" generated-at="2023-02-15T13:00:00+03:00"><shell version="6.4.3.59"/>
      <service state="stopped" account="system"/><storage path="\\\\nas\\kodeks" reachable="false"/></report>`);
    expect(res.status).toBe(202);
    // No sweep has run: the request itself opened them.
    expect(await openRules()).toEqual(['KodeksServiceDown', 'KodeksStorageUnreachable']);
    const incidents = await listIncidentsWithNames(t.db, { includeResolved: false });
    expect(incidents.every((i) => i.severity === 'critical' && i.openedAt.toISOString() === '2023-02-15T10:00:00.000Z')).toBe(true);

    await testDispatcher(t.db, clock, delivery).runOnce();
    expect(delivery.kinds()).toEqual([
      'incident.opened KodeksServiceDown -> 1001',
      'incident.opened KodeksStorageUnreachable -> 1001',
    ]);
    expect(delivery.delivered[0]!.payload).toMatchObject({
      title: 'Служба ПК остановлена',
      severity: 'critical',
      clientName: 'ООО «Ромашка»',
      installationName: 'Сервер офиса',
      facts: { serviceState: 'stopped', serviceAccount: 'system' },
    });
  });

  it('story 3: KodeksOperapStale opens on 17.02 when the last operap was 14.02', async () => {
    at('2023-02-14T09:00:00Z');
    await report('<report id="a"><update number="2250" operap-date="2023-02-14"/></report>');
    // Keep reports coming so that only the operap rule is in play.
    for (const day of ['2023-02-15', '2023-02-16']) {
      at(`${day}T09:00:00Z`);
      await report(`<report id="${day}"><update number="2250" operap-date="2023-02-14"/></report>`);
      expect((await sweep()).opened).toBe(0);
    }
    at('2023-02-16T20:59:00Z'); // 16.02 23:59 Moscow
    expect((await sweep()).opened).toBe(0);
    at('2023-02-16T21:01:00Z'); // 17.02 00:01 Moscow
    expect((await sweep()).opened).toBe(1);
    expect(await openRules()).toEqual(['KodeksOperapStale']);
    // A fresh operap clears it at once, in the request that brings it.
    at('2023-02-17T08:00:00Z');
    await report('<report id="fresh"><update number="2251" operap-date="2023-02-17"/></report>');
    expect(await openRules()).toEqual([]);
  });

  it('story 3: KodeksXmlMissing opens 48 hours after the last report', async () => {
    at('2023-02-15T10:00:00Z');
    await report('<report id="last"><update operap-date="2023-02-15"/></report>');
    at(new Date(Date.parse('2023-02-15T10:00:00Z') + 2 * DAY - 60_000).toISOString());
    expect((await sweep()).opened).toBe(0);
    at(new Date(Date.parse('2023-02-15T10:00:00Z') + 2 * DAY + 60_000).toISOString());
    expect((await sweep()).opened).toBeGreaterThanOrEqual(1);
    expect(await openRules()).toContain('KodeksXmlMissing');
    const incident = (await listIncidentsWithNames(t.db, { includeResolved: false })).find((i) => i.ruleId === 'KodeksXmlMissing')!;
    expect(incident.details).toMatchObject({ lastReportAt: '2023-02-15T10:00:00.000Z' });
    // The next report resolves it at once, with how long it lasted on record.
    at('2023-02-18T09:00:00Z');
    await report('<report id="back"><update operap-date="2023-02-18"/></report>');
    const all = await listIncidentsWithNames(t.db, { includeResolved: true });
    const resolved = all.find((i) => i.id === incident.id)!;
    expect(resolved).toMatchObject({ status: 'resolved', resolution: 'cleared', resolvedBy: 'system' });
  });

  it('story 3: the version change 6.4.2.73 -> 6.4.3.59 yields KodeksVersionChangeIncomplete naming daily update, copybaseweb and reports', async () => {
    at('2023-02-14T09:00:00Z');
    await report(`<report id="before" generated-at="2023-02-14T12:00:00+03:00"><shell version="6.4.2.73"/>
      <service state="running"/><kit assembled="true" daily-update="true" copybaseweb="true"/></report>`);
    at('2023-02-15T09:00:00Z');
    // The technician changed the version; daily update and copybaseweb were not restored, smartupload was removed.
    await report(`<report id="after" generated-at="2023-02-15T12:00:00+03:00"><shell version="6.4.3.59"/>
      <service state="running"/><kit assembled="true" daily-update="false" copybaseweb="false"/></report>`);
    expect(await openRules()).toEqual(['KodeksDailyUpdateOff']);

    at('2023-02-16T08:59:00Z');
    await sweep();
    expect(await openRules()).not.toContain('KodeksVersionChangeIncomplete');
    at('2023-02-16T09:01:00Z'); // 24 hours after the change
    await sweep();
    expect(await openRules()).toContain('KodeksVersionChangeIncomplete');
    const incident = (await listIncidentsWithNames(t.db, { includeResolved: false })).find((i) => i.ruleId === 'KodeksVersionChangeIncomplete')!;
    expect(incident.severity).toBe('critical');
    expect(incident.details).toMatchObject({
      oldVersion: '6.4.2.73',
      newVersion: '6.4.3.59',
      notRestored: ['dailyUpdate', 'copybaseweb', 'reports'],
    });

    // Three days after the last report the reports are missing as well (18.02 in the story is the operap alert).
    at('2023-02-17T09:01:00Z');
    await sweep();
    expect(await openRules()).toEqual(['KodeksDailyUpdateOff', 'KodeksVersionChangeIncomplete', 'KodeksXmlMissing']);

    // 21.02: the technician restores everything; one healthy report closes all three.
    at('2023-02-21T12:00:00Z');
    await report(`<report id="fixed" generated-at="2023-02-21T15:00:00+03:00"><shell version="6.4.3.59"/>
      <service state="running" account="user"/><kit assembled="true" daily-update="true" copybaseweb="true"/></report>`);
    expect(await openRules()).toEqual([]);
  });

  it('story 5: the key lost in the evening reaches the delivery, and its return resolves the incident', async () => {
    at('2023-02-15T18:00:00Z'); // 21:00 Moscow
    await report('<report id="k1"><senselock state="lost"/></report>');
    const dispatcher = testDispatcher(t.db, clock, delivery);
    await dispatcher.runOnce();
    expect(delivery.kinds()).toEqual(['incident.opened KodeksXmlSensLockStatus -> 1001']);

    at('2023-02-15T19:17:00Z');
    await report('<report id="k2"><senselock state="ok"/></report>');
    await dispatcher.runOnce();
    expect(delivery.kinds()[1]).toBe('incident.resolved KodeksXmlSensLockStatus -> 1001');
    expect(delivery.delivered[1]!.payload).toMatchObject({ status: 'resolved', resolution: 'cleared', resolvedAt: '2023-02-15T19:17:00.000Z' });
  });

  it('sends a client chat its alerts instead of the manager', async () => {
    const { addClient } = await import('../registry/clients.ts');
    const { addInstallation } = await import('../registry/installations.ts');
    const ctx = { db: t.db, clock, actor: 'test' };
    const client = await addClient(ctx, { name: 'АО «Облако»', managerId: 1001, chatId: -1001234567890 });
    const cloud = await addInstallation(ctx, { client: String(client.id), name: 'Облако', kind: 'cloud' });
    await postReport(intake.url, '<report id="c"><service state="stopped"/></report>', { token: cloud.token });
    await testDispatcher(t.db, clock, delivery).runOnce();
    expect(delivery.kinds()).toEqual(['incident.opened KodeksServiceDown -> -1001234567890']);
  });

  it('a time-based rule is found by the sweep without any new report, and only once', async () => {
    clock.advance(2 * DAY + HOUR);
    expect((await sweep()).opened).toBe(1); // never reported since registration
    expect((await sweep()).opened).toBe(0);
    expect(await openRules()).toEqual(['KodeksXmlMissing']);
  });
  it('a report that pushes the deadline later leaves it early; the sweep visits then, finds nothing and moves it', async () => {
    const nextCheck = async () => (await sqlValue<number>(t.db, 'SELECT due_at FROM check_schedule WHERE installation_id = ?', fleet.installation.id))!;
    at('2023-02-15T10:00:00Z');
    await report('<report id="first"><update operap-date="2023-02-15"/></report>');
    await sweep(); // the registration's deadline has passed: the sweep stores the exact one
    const early = await nextCheck();
    expect(Math.abs(early - Date.parse('2023-02-17T10:00:00Z'))).toBeLessThan(1000); // 48 hours after the report
    at('2023-02-16T10:00:00Z');
    await report('<report id="second"><update operap-date="2023-02-16"/></report>');
    expect(await nextCheck()).toBe(early); // not rewritten by the report
    clock.set(new Date(early));
    expect(await sweep()).toMatchObject({ checked: 1, opened: 0 });
    const moved = await nextCheck();
    expect(moved).toBeGreaterThan(early);
    // Silence is still measured from the second report.
    clock.set(new Date(Date.parse('2023-02-16T10:00:00Z') + 2 * DAY - 60_000));
    expect((await sweep()).opened).toBe(0);
    clock.set(new Date(Date.parse('2023-02-16T10:00:00Z') + 2 * DAY + 60_000));
    expect(await openRules()).not.toContain('KodeksXmlMissing');
    await sweep();
    expect(await openRules()).toContain('KodeksXmlMissing');
  });

  it('a report that brings a deadline sooner stores it at once', async () => {
    const nextCheck = async () => (await sqlValue<number>(t.db, 'SELECT due_at FROM check_schedule WHERE installation_id = ?', fleet.installation.id))!;
    at('2023-02-15T10:00:00Z');
    await report('<report id="fresh"><update operap-date="2023-02-15"/></report>');
    await sweep();
    const before = await nextCheck();
    // An operap three days old is stale within the day: the deadline comes sooner than before.
    at('2023-02-15T11:00:00Z');
    await report('<report id="old-operap"><update operap-date="2023-02-13"/></report>');
    expect(await nextCheck()).toBeLessThan(before);
  });
});
