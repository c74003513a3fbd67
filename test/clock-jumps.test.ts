import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClockWatch, SKEW_LIMIT_MS } from '../core/clock-watch.ts';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { DEFAULT_INCIDENT_SETTINGS, type IncidentSettings } from '../incidents/settings.ts';
import { composeDigestForChannels } from '../bot/digest.ts';
import { runDigests } from '../jobs/digest.ts';
import { runSweep } from '../jobs/sweep.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { join } from 'node:path';
import { onPostgres } from './pg-helpers.ts';
import { buildHttpServer } from '../app/http.ts';
import { createUploadToken, setUploadName } from '../registry/uploads.ts';
import { DAY, HOUR, postReport, seedFleet, silentLogger, sqlRun, sqlValue, startIntake, testClock, testDb, type TestDb, type TestIntake } from './helpers.ts';

const MINUTE = 60_000;

describe('the server clock jumping', () => {
  const clock = testClock('2023-02-15T07:00:00Z');
  let t: TestDb;
  let intake: TestIntake;
  let settings: IncidentSettings;
  let tokens: string[];
  /** Installation 1's token. */
  let seedToken = '';
  let seq = 0;
  /** The agents' clocks keep real time, whatever ours says. */
  let realTime = Date.parse('2023-02-15T07:00:00Z');
  const open = () => listIncidentsWithNames(t.db, { includeResolved: false });
  const sweep = async () => await runSweep({ db: t.db, settings }, clock());
  const reportAll = async () => {
    const today = new Date(realTime).toISOString().slice(0, 10);
    for (const token of tokens) {
      await postReport(intake.url, `<report id="r${++seq}" generated-at="${new Date(realTime).toISOString()}"><update operap-date="${today}"/></report>`, { token });
    }
  };
  /** Time passes for everyone: sweeps every minute, agents report every five. */
  const live = async (minutes: number) => {
    for (let m = 0; m < minutes; m++) {
      clock.advance(MINUTE);
      realTime += MINUTE;
      if (m % 5 === 0) await reportAll();
      await sweep();
    }
  };

  /** Installation 1 fell silent for real: its last report was two days and a half-hour ago, and its silence is an incident. */
  const silenceInstallationOne = async () => {
    tokens = tokens.slice(1);
    await sqlRun(t.db, 'UPDATE installation_state SET last_received_at = @at, last_sysinfo_at = @at WHERE installation_id = 1', { at: clock().getTime() - 2 * DAY - 30 * MINUTE });
    await sqlRun(t.db, 'UPDATE check_schedule SET due_at = ? WHERE installation_id = 1', clock().getTime());
    await sweep();
  };

  beforeEach(async () => {
    clock.set('2023-02-15T07:00:00Z');
    realTime = Date.parse('2023-02-15T07:00:00Z');
    t = await testDb();
    settings = { ...DEFAULT_INCIDENT_SETTINGS, clockWatch: new ClockWatch() };
    const ctx = { db: t.db, clock, actor: 'test' };
    seedToken = (await seedFleet(ctx)).token;
    tokens = [seedToken];
    for (let i = 0; i < 4; i++) {
      const client = await addClient(ctx, { name: `Клиент ${i}`, managerId: 1001 });
      tokens.push((await addInstallation(ctx, { client: String(client.id), name: 'Сервер', kind: 'local' })).token);
    }
    intake = await startIntake(t.db, clock, { settings });
    await reportAll();
    await sweep();
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  it('raises no flood of staleness alerts when it jumps three days forward and back', async () => {
    await live(10);
    expect(await open()).toEqual([]);

    clock.advance(3 * DAY); // the jump: agents' clocks do not move
    await live(30); // past the grace period, reports keep coming with times three days "old"
    expect(await open()).toEqual([]);
    expect(settings.clockWatch!.suspect()).toBe(true);

    clock.set(new Date(realTime)); // corrected back
    await live(120);
    expect(settings.clockWatch!.suspect()).toBe(false);
    expect(await open()).toEqual([]);
  });

  it('still reports a real silence after the clock is trusted again', async () => {
    clock.advance(3 * DAY);
    await live(20);
    clock.set(new Date(realTime));
    await live(30);
    // One agent falls silent for real; two days of listening later, its silence is reported.
    tokens = tokens.slice(1);
    await live(2 * 24 * 60 + 10);
    expect((await open()).map((i) => i.ruleId)).toEqual(['KodeksXmlMissing']);
    // Nearly three thousand sweeps: each is a few transactions, round trips on PostgreSQL where SQLite's are in-process.
  }, onPostgres() ? 180_000 : 60_000);

  it('does not count the time the service was down as the agents\' silence', async () => {
    clock.advance(3 * DAY); // down for three days, and the agents could not reach it
    realTime += 3 * DAY;
    await sweep();
    expect(await open()).toEqual([]);
    await live(30);
    expect(await open()).toEqual([]);
  });

  it('lets no single installation\'s clock pause the fleet, however often it reports', async () => {
    // One agent's clock is three days behind and it reports every minute; the other four are right.
    const wrong = tokens[0]!;
    for (let m = 0; m < 60; m++) {
      clock.advance(MINUTE);
      realTime += MINUTE;
      await postReport(intake.url, `<report id="w${++seq}" generated-at="${new Date(realTime - 3 * DAY).toISOString()}"/>`, { token: wrong });
      if (m % 5 === 0) {
        for (const token of tokens.slice(1)) {
          await postReport(intake.url, `<report id="r${++seq}" generated-at="${new Date(realTime).toISOString()}"/>`, { token });
        }
      }
      await sweep();
    }
    expect(settings.clockWatch!.medianSkew()).toBeLessThan(MINUTE);
    expect(settings.clockWatch!.suspect()).toBe(false);
  });

  it('judges a deadline that passed while the rules were paused as soon as they resume', async () => {
    // The service was down for 20 minutes: a grace period of 15 minutes follows, time-based rules paused.
    clock.advance(20 * MINUTE);
    realTime += 20 * MINUTE;
    await sweep();
    expect(settings.clockWatch!.timeRulesSuspended(clock().getTime())).toBe(true);
    // One installation's report deadline has passed (its last report was two days and a half-hour ago, the downtime not counted).
    await sqlRun(t.db, 'UPDATE installation_state SET last_received_at = @at, last_sysinfo_at = @at WHERE installation_id = 1', { at: clock().getTime() - 2 * DAY - 30 * MINUTE });
    await sqlRun(t.db, 'UPDATE check_schedule SET due_at = ? WHERE installation_id = 1', clock().getTime());
    tokens = tokens.slice(1);
    for (let m = 0; m < 10; m++) {
      clock.advance(MINUTE);
      realTime += MINUTE;
      await sweep();
    }
    expect(await open()).toEqual([]);
    // Still scheduled: not forgotten while paused.
    expect(await sqlValue(t.db, 'SELECT count(*) FROM check_schedule WHERE installation_id = 1')).toBe(1);
    await live(10); // the grace ends
    expect((await open()).map((i) => [i.installationId, i.ruleId])).toEqual([[1, 'KodeksXmlMissing']]);
  });

  it('resolves at once on fresh evidence after the service was down: only opening waits out the grace period', async () => {
    await silenceInstallationOne();
    expect((await open()).map((i) => [i.installationId, i.ruleId])).toEqual([[1, 'KodeksXmlMissing']]);
    // dozor is down for 20 minutes; when it is back, the time-based rules wait before opening anything new…
    clock.advance(20 * MINUTE);
    realTime += 20 * MINUTE;
    await sweep();
    expect(settings.clockWatch!.timeRulesSuspended(clock().getTime())).toBe(true);
    // …but the agent's report that arrives right after the restart closes the silence at once.
    const today = new Date(realTime).toISOString().slice(0, 10);
    const res = await postReport(intake.url, `<report id="back${++seq}" generated-at="${new Date(realTime).toISOString()}"><update operap-date="${today}"/></report>`, { token: seedToken });
    expect(res.status).toBe(202);
    expect(await open()).toEqual([]);
  });

  it('resolves nothing on time alone while its clock is in doubt (it went back)', async () => {
    await silenceInstallationOne();
    expect((await open()).map((i) => i.ruleId)).toEqual(['KodeksXmlMissing']);
    // Our clock goes back three days: the silence looks younger than it is, but nothing new was heard.
    clock.advance(-3 * DAY);
    await sqlRun(t.db, 'UPDATE check_schedule SET due_at = ? WHERE installation_id = 1', clock().getTime());
    await sweep();
    for (let m = 0; m < 5; m++) {
      clock.advance(MINUTE);
      await sweep();
    }
    expect((await open()).map((i) => i.ruleId)).toEqual(['KodeksXmlMissing']);
  });

  it('neither misses nor doubles a digest across jumps', async () => {
    const deps = { db: t.db, cron: '0 9 * * *', tz: 'Europe/Moscow', compose: composeDigestForChannels(t.db, { tz: 'Europe/Moscow', salesMinDays: 3 }, { mail: false }), maxDelayMs: 6 * HOUR };
    clock.set('2023-02-16T05:50:00Z'); // 08:50 Moscow
    expect((await runDigests(deps, clock())).queued).toEqual([]);
    clock.set('2023-02-16T08:00:00Z'); // jumped to 11:00: the 09:00 digest goes now
    expect((await runDigests(deps, clock())).queued).toHaveLength(1);
    clock.set('2023-02-16T06:30:00Z'); // back to 09:30: already sent today
    expect((await runDigests(deps, clock())).queued).toEqual([]);
  });
});

describe('uploads and the server clock', () => {
  it('lets no fleet upload token pause the time rules: dates inside uploaded files are no vote on our clock', async () => {
    const clock = testClock('2026-11-20T06:00:00Z');
    const t = await testDb();
    const settings: IncidentSettings = { ...DEFAULT_INCIDENT_SETTINGS, clockWatch: new ClockWatch() };
    const ctx = { db: t.db, clock, actor: 'test' };
    await seedFleet(ctx);
    for (let i = 0; i < 12; i++) {
      const client = await addClient(ctx, { name: `Клиент ${i}`, managerId: 1001 });
      const { installation } = await addInstallation(ctx, { client: String(client.id), name: 'Сервер', kind: 'local' });
      await setUploadName(ctx, installation.id, `CLIENT${i}`);
    }
    const fleetToken = (await createUploadToken(ctx, 'Дилер 0042')).token;
    const app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings, uploads: { dataDir: join(t.dir, 'data'), maxBytes: 64 * 1024 } });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      // What an attacker holding the fleet token (it lives on every client's server) sends: twelve metrics files dated 2100.
      for (let i = 0; i < 12; i++) {
        const form = new FormData();
        form.append('file', new Blob(['date: Fri, 01 Jan 2100 00:00:00 GMT\nkserver_up 1\n']), `CLIENT${i}.status`);
        const response = await fetch(`${url}/upload?token=${fleetToken}`, { method: 'POST', body: form });
        expect(response.status).toBe(200);
        clock.advance(MINUTE);
      }
      await runSweep({ db: t.db, settings }, clock());
      expect(settings.clockWatch!.medianSkew()).toBeNull();
      expect(settings.clockWatch!.suspect()).toBe(false);
      expect(settings.clockWatch!.timeRulesSuspended(clock().getTime())).toBe(false);
    } finally {
      await app.close();
      await t.close();
    }
  });
});

describe('the clock watch keeps counts instead of sorting', () => {
  it('says the same as the median over the window, for any sequence of reports', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            installation: fc.integer({ min: 1, max: 12 }),
            // Minutes since the previous report, and the agent's skew in minutes (an hour is the limit).
            after: fc.integer({ min: 0, max: 40 }),
            skew: fc.oneof(fc.integer({ min: -200, max: 200 }), fc.constantFrom(-61, -60, 60, 61)),
          }),
          { maxLength: 80 },
        ),
        (reports) => {
          const watch = new ClockWatch();
          let now = Date.UTC(2026, 10, 29);
          for (const { installation, after, skew } of reports) {
            now += after * 60_000;
            watch.observe(installation, new Date(now), new Date(now - skew * 60_000));
            const median = watch.medianSkew(now);
            expect(watch.suspect(now)).toBe(median !== null && Math.abs(median) > SKEW_LIMIT_MS);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
