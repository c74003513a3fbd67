import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seedBenchFleet } from '../tools/bench/seed.ts';
import { recheckNow } from '../db/check-schedule.ts';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { closeDb, openDb } from '../db/open.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { RETRY_FAILED_MS, runSweep, runSweepYielding } from '../jobs/sweep.ts';
import { addInstallation, setMonitoring, setThresholds } from '../registry/installations.ts';
import { changePolicy } from '../registry/policies.ts';
import { flagValue } from '../db/dialect.ts';
import { DAY, postReport, seedFleet, sqlRows, sqlRun, startIntake, tempDir, testClock, testDb, type TestDb } from './helpers.ts';
import { onPostgres } from './pg-helpers.ts';

interface ScheduleRow {
  id: number;
  dueAt: number;
  allRules: number;
}

describe('check schedule', () => {
  const clock = testClock('2023-02-15T10:00:00Z');
  let t: TestDb;
  const ctx = () => ({ db: t.db, clock, actor: 'cli:admin' });
  const sweep = async () => await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
  // all_rules is a flag: 1/0 on SQLite, true/false on PostgreSQL; read as 1/0 on both.
  const schedule = async (): Promise<ScheduleRow[]> =>
    (await sqlRows<ScheduleRow>(t.db, 'SELECT installation_id AS id, due_at AS "dueAt", all_rules AS "allRules" FROM check_schedule ORDER BY installation_id')).map(
      (r) => ({ ...r, allRules: flagValue(r.allRules) ? 1 : 0 }),
    );
  const openRules = async () => (await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId);

  beforeEach(async () => {
    clock.set('2023-02-15T10:00:00Z');
    t = await testDb();
  });
  afterEach(() => t.close());

  it('walks every due installation in batches, moves each deadline, and finds none due right after', async () => {
    const now = clock();
    await seedBenchFleet(t.db, 4500, now); // more than two batches; every hundredth installation silent for 3 days
    await sqlRun(t.db, 'UPDATE check_schedule SET due_at = ?', now.getTime());
    expect(await sweep()).toMatchObject({ checked: 4500, opened: 45 });
    const rows = await schedule();
    expect(rows).toHaveLength(4500);
    expect(rows.filter((r) => r.dueAt <= now.getTime())).toEqual([]);
    expect(await sweep()).toMatchObject({ checked: 0, opened: 0 });
    expect(new Set(await openRules())).toEqual(new Set(['KodeksXmlMissing']));
  });

  it('has a row only for monitored installations; a changed setting asks for every rule at once', async () => {
    const fleet = await seedFleet(ctx());
    const [registered] = await schedule();
    expect(registered).toEqual({ id: fleet.installation.id, dueAt: clock().getTime(), allRules: 1 });
    await sweep();
    expect(await schedule()).toEqual([{ id: fleet.installation.id, dueAt: fleet.installation.createdAt.getTime() + 2 * DAY + 1, allRules: 0 }]);

    await setMonitoring(ctx(), fleet.installation.id, false);
    expect(await schedule()).toEqual([]);
    clock.advance(DAY);
    await setMonitoring(ctx(), fleet.installation.id, true);
    expect(await schedule()).toEqual([{ id: fleet.installation.id, dueAt: clock().getTime(), allRules: 1 }]);
    await sweep();

    const other = (await addInstallation(ctx(), { client: String(fleet.client.id), name: 'Бухгалтерия', kind: 'local' })).installation;
    await setMonitoring(ctx(), other.id, false);
    clock.advance(DAY);
    await changePolicy(ctx(), 'min-shell-version', '6.4.3.59');
    await setThresholds(ctx(), other.id, ['KodeksXmlMissing=3d']);
    expect(await schedule()).toEqual([{ id: fleet.installation.id, dueAt: clock().getTime(), allRules: 1 }]);
  });

  it('a scheduled check judges the time-based rules only, unless every rule was asked for', async () => {
    const fleet = await seedFleet(ctx());
    const intake = await startIntake(t.db, clock);
    try {
      await postReport(intake.url, '<report id="r1"><service state="stopped"/></report>', { token: fleet.token });
    } finally {
      await intake.close();
    }
    expect(await openRules()).toEqual(['KodeksServiceDown']);
    // The state changes behind the rules' back (no report): a time-based check has no reason to look at the service.
    await sqlRun(t.db, "UPDATE installation_state SET service_state = 'running'");
    await sqlRun(t.db, 'UPDATE check_schedule SET due_at = ?, all_rules = FALSE', clock().getTime());
    expect(await sweep()).toMatchObject({ checked: 1, resolved: 0 });
    expect(await openRules()).toEqual(['KodeksServiceDown']);
    await recheckNow(t.db, fleet.installation.id, clock());
    expect(await sweep()).toMatchObject({ checked: 1, resolved: 1 });
    expect(await openRules()).toEqual([]);
  });
  it('goes on past an installation whose judging throws: it is logged and looked at later; the rest of its batch and the reminders still run', async () => {
    const now = clock();
    await seedBenchFleet(t.db, 1500, now); // every hundredth installation silent for 3 days
    const dueAll = () => sqlRun(t.db, 'UPDATE check_schedule SET due_at = ?', clock().getTime());
    await dueAll();
    // A time zone nobody knows (edited by hand, say): judging the operap age of installation 500 throws.
    await sqlRun(t.db, "UPDATE installations SET tz = 'Mars/Olympus' WHERE id = 500");
    const logged: { msg: string; installation?: number }[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string }) });
    const first = await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS, logger }, now);
    // Installation 500 is one of the silent ones: 14 of 15 open, in its batch and the next.
    expect(first).toMatchObject({ checked: 1499, opened: 14, failed: 1 });
    expect(logged).toEqual([expect.objectContaining({ installation: 500, msg: expect.stringContaining('judging an installation failed') })]);
    expect((await schedule()).find((r) => r.id === 500)!.dueAt).toBe(now.getTime() + RETRY_FAILED_MS);

    // Four hours on, nobody took the alerts: the reminders go out although installation 500 still fails.
    clock.advance(4 * 3_600_000 + 60_000);
    await dueAll();
    expect(await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS, logger }, clock())).toMatchObject({ checked: 1499, failed: 1, reminded: 14 });
  });

  it('gives the event loop a turn between batches, so a request never waits behind the whole sweep', async () => {
    const now = clock();
    await seedBenchFleet(t.db, 2500, now);
    await sqlRun(t.db, 'UPDATE check_schedule SET due_at = ?', now.getTime());
    let finished = false;
    const running = runSweepYielding({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, now).then((summary) => {
      finished = true;
      return summary;
    });
    // Something else the event loop has to do (an agent's report, say) gets its turn before the sweep is through.
    const servedDuringSweep = await new Promise<boolean>((resolve) => setImmediate(() => resolve(!finished)));
    expect(servedDuringSweep).toBe(true);
    expect(await running).toMatchObject({ checked: 2500, opened: 25, failed: 0 });
  });
});

describe('check schedule migration', () => {
  // SQLite's own: it migrates an old SQLite file through the SQLite migrations (PostgreSQL's schema never had next_check_at).
  it.skipIf(onPostgres())('moves the deadlines of monitored installations out of the installations table, asking for every rule once', () => {
    const dir = tempDir();
    try {
      // A database as the release before the schedule table left it.
      const folder = join(dir.path, 'migrations');
      cpSync(join(import.meta.dirname, '../db/migrations'), folder, { recursive: true });
      const journalPath = join(folder, 'meta/_journal.json');
      const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
      journal.entries = journal.entries.filter((e) => e.tag < '0005');
      writeFileSync(journalPath, JSON.stringify(journal));
      const path = join(dir.path, 'old.sqlite');
      const sqlite = new Database(path);
      migrate(drizzle({ client: sqlite }), { migrationsFolder: folder });
      sqlite.exec(`
        INSERT INTO users (telegram_id, name, role, active, created_at) VALUES (1, 'M', 'manager', 1, 0);
        INSERT INTO clients (id, name, manager_id, created_at) VALUES (1, 'C', 1, 0);
        INSERT INTO installations (id, client_id, name, kind, token_hash, token_issued_at, thresholds, monitoring_enabled, next_check_at, created_at) VALUES
          (1, 1, 'due', 'local', 'h1', 0, '{}', 1, 1000, 0),
          (2, 1, 'none', 'local', 'h2', 0, '{}', 1, NULL, 0),
          (3, 1, 'off', 'local', 'h3', 0, '{}', 0, 3000, 0);
      `);
      sqlite.close();

      const db = openDb(path);
      try {
        expect(db.$client.prepare('SELECT installation_id AS id, due_at AS dueAt, all_rules AS allRules FROM check_schedule').all()).toEqual([
          { id: 1, dueAt: 1000, allRules: 1 },
        ]);
        const columns = db.$client.prepare("SELECT name FROM pragma_table_info('installations')").pluck().all();
        expect(columns).not.toContain('next_check_at');
      } finally {
        closeDb(db);
      }
    } finally {
      dir.cleanup();
    }
  });
});
