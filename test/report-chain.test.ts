import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { closeDatabase, closeDb, openDb } from '../db/open.ts';
import { openPostgres } from '../db/open-postgres.ts';
import { deleteReportsBefore, insertReports, listRecentReports } from '../db/reports.ts';
import { getState } from '../db/state.ts';
import { lastOwnAgentReportAt } from '../db/uploads.ts';
import { writeTransaction } from '../db/transaction.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { IngestBatcher } from '../intake/batcher.ts';
import { ingestInTransaction } from '../intake/ingest.ts';
import { parseReport } from '../intake/parse-report.ts';
import { addInstallation } from '../registry/installations.ts';
import { seedFleet, tempDir, testClock, testDb, type TestDb } from './helpers.ts';
import { freshPgDatabase, onPostgres } from './pg-helpers.ts';

/**
 * An installation's reports are reached through the chain each keeps
 * (`reports.previous_id`, from `installation_state.last_report_id`), not an
 * index led by the installation, and a repeat is found by an index led by
 * the report's generation time: the history must read as it did, newest
 * first, whatever batches the reports came in.
 */
describe('an installation’s reports, newest first, by their chain', () => {
  const clock = testClock('2023-02-15T06:00:00Z');
  let t: TestDb;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  let other: number;
  const report = (id: string, minute: number, extra = '') =>
    parseReport(Buffer.from(`<report id="${id}" generated-at="2023-02-15T09:${String(minute).padStart(2, '0')}:00+03:00"><shell version="6.4.3.59"/>${extra}</report>`), 'xml', {
      tz: 'Europe/Moscow',
    });
  const history = async (installationId: number, limit = 100) => (await listRecentReports(t.db, installationId, limit)).map((r) => r.reportId);

  beforeEach(async () => {
    t = await testDb();
    fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    other = (await addInstallation({ db: t.db, clock, actor: 'test' }, { client: String(fleet.client.id), name: 'Склад', kind: 'local' })).installation.id;
  });
  afterEach(() => t.close());

  it('keeps the order reports were stored in, across batches, with two of one installation in a batch and repeats left out', async () => {
    const batcher = new IngestBatcher(t.db, DEFAULT_INCIDENT_SETTINGS);
    const mine = fleet.installation.id;
    const submit = (installationId: number, id: string, minute: number) => batcher.submit({ installationId, report: report(id, minute), receivedAt: clock() });
    const first = await Promise.all([submit(mine, 'a', 1), submit(other, 'x', 1), submit(mine, 'b', 2), submit(mine, 'a', 1), submit(mine, 'c', 3)]);
    expect(first.map((r) => r.status)).toEqual(['stored', 'stored', 'stored', 'duplicate', 'stored']);
    const second = await Promise.all([submit(other, 'y', 2), submit(mine, 'b', 2), submit(mine, 'd', 4)]);
    expect(second.map((r) => r.status)).toEqual(['stored', 'duplicate', 'stored']);

    expect(await history(mine)).toEqual(['d', 'c', 'b', 'a']);
    expect(await history(other)).toEqual(['y', 'x']);
    expect(await history(mine, 2)).toEqual(['d', 'c']);
    const newest = second[2]!;
    expect((await getState(t.db, mine))?.lastReportId).toBe(newest.status === 'stored' ? newest.reportRowId : -1);
  });

  it('takes the same id with other content, or another generation time, as a new report', async () => {
    const mine = fleet.installation.id;
    const ingest = (r: ReturnType<typeof report>) => writeTransaction(t.db, (tx) => ingestInTransaction(tx, DEFAULT_INCIDENT_SETTINGS, [{ installationId: mine, report: r, receivedAt: clock() }]));
    expect((await ingest(report('a', 1)))[0]!.status).toBe('stored');
    expect((await ingest(report('a', 1)))[0]!.status).toBe('duplicate');
    expect((await ingest(report('a', 1, '<senselock state="ok"/>')))[0]!.status).toBe('stored');
    expect((await ingest(report('a', 5)))[0]!.status).toBe('stored');
    expect(await history(mine)).toEqual(['a', 'a', 'a']);
  });

  it('ends the chain where the oldest reports were pruned', async () => {
    const mine = fleet.installation.id;
    for (const [i, id] of ['a', 'b', 'c'].entries()) {
      clock.advance(60_000);
      await writeTransaction(t.db, (tx) => ingestInTransaction(tx, DEFAULT_INCIDENT_SETTINGS, [{ installationId: mine, report: report(id, i), receivedAt: clock() }]));
    }
    expect(await deleteReportsBefore(t.db, new Date(clock().getTime() - 30_000), 100)).toBe(2);
    expect(await history(mine)).toEqual(['c']);
  });

  it('links reports written without their installation’s newest (no state yet) and keeps the links it is given', async () => {
    const heads = new Map<number, number>();
    const ids = await writeTransaction(t.db, (tx) =>
      insertReports(tx, [
        { installationId: other, report: report('p', 1), receivedAt: clock() },
        { installationId: other, report: report('q', 2), receivedAt: clock() },
        { installationId: other, report: report('p', 1), receivedAt: clock() },
      ], heads),
    );
    expect(ids[2]).toBeNull();
    expect(heads.get(other)).toBe(ids[1]);
  });

  it('finds when the installation’s own agent last reported past the uploads stored after it', async () => {
    const mine = fleet.installation.id;
    const ingest = (r: ReturnType<typeof report>) => writeTransaction(t.db, (tx) => ingestInTransaction(tx, DEFAULT_INCIDENT_SETTINGS, [{ installationId: mine, report: r, receivedAt: clock() }]));
    expect(await lastOwnAgentReportAt(t.db, mine)).toBeNull();
    await ingest(report('agent-1', 1));
    const agentAt = clock();
    for (const n of [1, 2]) {
      clock.advance(60_000);
      await ingest({ reportId: `upload:${n}`, contentHash: `h${n}`, formatVersion: 1, generatedAt: null, facts: {} });
    }
    expect(await lastOwnAgentReportAt(t.db, mine)).toEqual(agentAt);
  });
});

/** Migrations up to (not including) `before`, in a copy of `folder`. */
function migrationsBefore(folder: string, before: string, into: string): string {
  const copy = join(into, 'migrations');
  cpSync(folder, copy, { recursive: true });
  const journalPath = join(copy, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  journal.entries = journal.entries.filter((e) => e.tag < before);
  writeFileSync(journalPath, JSON.stringify(journal));
  return copy;
}

const GENERATED = Date.parse('2023-02-15T06:01:00Z');
/** Two installations with reports stored before the chain, interleaved, two of them without a generation time. */
const OLD_ROWS = `
  INSERT INTO users (telegram_id, name, role, active, created_at) VALUES (1, 'M', 'manager', TRUE, 0);
  INSERT INTO clients (id, name, manager_id, created_at) VALUES (1, 'C', 1, 0);
  INSERT INTO installations (id, client_id, name, kind, token_hash, token_issued_at, thresholds, monitoring_enabled, created_at) VALUES
    (1, 1, 'one', 'local', 'h1', 0, '{}', TRUE, 0), (2, 1, 'two', 'local', 'h2', 0, '{}', TRUE, 0);
  INSERT INTO reports (installation_id, report_id, content_hash, received_at, generated_at, format_version, facts) VALUES
    (1, 'a', 'ha', 1000, ${GENERATED}, 1, '{}'), (2, 'x', 'hx', 1001, NULL, 1, '{}'), (1, 'b', 'hb', 1002, NULL, 1, '{}'), (1, 'c', 'hc', 1003, ${GENERATED}, 1, '{}');
  INSERT INTO installation_state (installation_id, last_received_at) VALUES (1, 1003), (2, 1001);
`;

/** What the migration must give the database OLD_ROWS made: the chains, the newest in the state, and the old reports' repeats. */
async function expectChained(db: Parameters<typeof listRecentReports>[0] & Parameters<typeof writeTransaction>[0]): Promise<void> {
  expect((await listRecentReports(db, 1, 10)).map((r) => r.reportId)).toEqual(['c', 'b', 'a']);
  expect((await listRecentReports(db, 2, 10)).map((r) => r.reportId)).toEqual(['x']);
  expect((await getState(db, 1))?.lastReportId).toBe(4);
  // A report stored before the change, sent again, is still a repeat; the next one links to the newest.
  const resent = { reportId: 'a', contentHash: 'ha', formatVersion: 1, generatedAt: new Date(GENERATED), facts: {} };
  const [again] = await writeTransaction(db, (tx) => ingestInTransaction(tx, DEFAULT_INCIDENT_SETTINGS, [{ installationId: 1, report: resent, receivedAt: new Date(2000) }]));
  expect(again!.status).toBe('duplicate');
  await writeTransaction(db, (tx) => ingestInTransaction(tx, DEFAULT_INCIDENT_SETTINGS, [{ installationId: 1, report: { ...resent, reportId: 'd' }, receivedAt: new Date(2001) }]));
  expect((await listRecentReports(db, 1, 10)).map((r) => r.reportId)).toEqual(['d', 'c', 'b', 'a']);
}

describe('the chain and the repeat check, given to a database that had neither', () => {
  it.runIf(onPostgres())('links every stored report to its installation’s one before on PostgreSQL too', async () => {
    const dir = tempDir();
    const database = await freshPgDatabase('chain');
    try {
      const pool = new pg.Pool({ connectionString: database.url, max: 1 });
      try {
        await migratePg(drizzlePg(pool), { migrationsFolder: migrationsBefore(join(import.meta.dirname, '../db/migrations-pg'), '0007', dir.path) });
        await pool.query(OLD_ROWS);
      } finally {
        await pool.end();
      }
      const db = await openPostgres(database.url);
      try {
        await expectChained(db);
      } finally {
        await closeDatabase(db);
      }
    } finally {
      await database.drop();
      dir.cleanup();
    }
  });

  it.skipIf(onPostgres())('links every stored report to its installation’s one before, keeps the newest in the state, and still knows the old reports’ repeats', async () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'old.sqlite');
      const sqlite = new Database(path);
      migrate(drizzle({ client: sqlite }), { migrationsFolder: migrationsBefore(join(import.meta.dirname, '../db/migrations'), '0028', dir.path) });
      sqlite.exec(OLD_ROWS);
      sqlite.close();
      const db = openDb(path);
      try {
        await expectChained(db);
      } finally {
        closeDb(db);
      }
    } finally {
      dir.cleanup();
    }
  });
});
