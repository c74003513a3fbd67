import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { eq, is } from 'drizzle-orm';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../db/schema.ts';
import { closeDatabase, closeDb, openDb, type DB } from '../db/open.ts';
import { openPostgres } from '../db/open-postgres.ts';
import { botHarness, type Person } from './bot-helpers.ts';
import { addUser } from '../registry/users.ts';
import { createUploadToken } from '../registry/uploads.ts';
import { seedDemoFleet } from '../tools/demo/fleet.ts';
import { dozor, ROOT, type CliResult } from './cli-helpers.ts';
import { HOUR, postReport, startIntake, tempDir, testClock } from './helpers.ts';
import { freshPgDatabase, testPg } from './pg-helpers.ts';

/**
 * `dozor db copy --to postgres://…` run as a person runs it, on a SQLite file
 * made by the demo's seeding and filled further, into real PostgreSQL
 * databases: every row of every table arrives (values in PostgreSQL's types),
 * the id sequences go on past every id, a database holding dozor's data is
 * refused, and a copy that fails midway leaves nothing behind.
 */

const NOW = '2024-03-04T09:00:00Z';
/** More staff than one batch of the copy holds. */
const STAFF = 2100;
const TABLES = (Object.values(schema) as unknown[]).filter((value): value is SQLiteTable => is(value, SQLiteTable)).map((table) => getTableConfig(table));

/** The demo's fleet, with what a few days of work leave in every table besides. */
async function fillFleet(db: DB): Promise<void> {
  const clock = testClock(NOW);
  const ctx = { db, clock, actor: 'test' };
  const demo = await seedDemoFleet(db, clock, 8080);
  const romashka = demo.find((d) => d.key === 'romashka')!;
  const vector = demo.find((d) => d.key === 'vector')!;
  // A manager whose row comes before their lead's, thousands of rows earlier (in another batch of the copy).
  await addUser(ctx, { telegramId: 90_000, role: 'lead', name: 'Ольга Новикова' });
  await addUser(ctx, { telegramId: 500, role: 'manager', name: 'Иван Ранний', leadId: 90_000 });
  await addUser(ctx, { telegramId: 7_000_000_001, role: 'admin', name: 'Админ с длинным id' });
  for (let first = 10_000; first < 10_000 + STAFF; first += 500) {
    const people = Array.from({ length: Math.min(500, 10_000 + STAFF - first) }, (_, i) => ({ telegramId: first + i, role: 'manager' as const, name: `Менеджер ${first + i}`, active: i % 7 !== 0, createdAt: clock() }));
    db.insert(schema.users).values(people).run();
  }

  // Reports through the real intake: state, incidents with their events, the outbox, a refused report.
  const intake = await startIntake(db, clock);
  try {
    expect((await postReport(intake.url, '<report id="r1"><senselock state="lost"/><shell version="6.4.2.73"/><service state="running" account="user"/><kit assembled="true" daily-update="false" copybaseweb="true"/></report>', { token: romashka.token })).status).toBe(202);
    clock.advance(HOUR);
    expect((await postReport(intake.url, '<report id="v1"><shell version="6.4.3.59"/><service state="stopped" account="system"/></report>', { token: vector.token })).status).toBe(202);
    expect((await postReport(intake.url, '<report><senselock state="gone"/></report>', { token: vector.token })).status).toBe(400);
  } finally {
    await intake.close();
  }
  const { uploadToken } = await createUploadToken(ctx, 'Скрипты SMART', { names: ['ROMASHKA'], networks: ['10.0.0.0/8'] });
  const at = clock();
  const incident = db.select().from(schema.incidents).all()[0]!;
  db.insert(schema.silences).values({ installationId: vector.id, ruleId: 'KodeksXmlMissing', startsAt: at, endsAt: new Date(at.getTime() + 2 * HOUR), author: 'tg:1001', reason: 'работы «на сервере» {a,b} "c" \\d\\\\ e\nf', createdAt: at }).run();
  db.insert(schema.silences).values({ clientId: 1, startsAt: at, endsAt: at, author: 'cli:root', reason: 'ended', createdAt: at, removedAt: at, removedBy: 'cli:root' }).run();
  db.insert(schema.webLinks).values({ tokenHash: 'link-hash', userId: 1001, createdAt: at, expiresAt: new Date(at.getTime() + 600_000), usedAt: at }).run();
  db.insert(schema.webSessions).values({ idHash: 'session-hash', userId: 1001, createdAt: at, lastSeenAt: at, endedAt: null }).run();
  db.insert(schema.webSessions).values({ idHash: 'Session-Ended', userId: 500, createdAt: at, lastSeenAt: at, endedAt: at }).run();
  const upload = db
    .insert(schema.uploads)
    .values({ installationId: romashka.id, name: 'ROMASHKA', kind: 'zip', path: 'uploads/1/zip/2024-03-04/a.zip', size: 12_345, sha256: 'ab'.repeat(32), receivedAt: at, dealer: '0000 Дилер', uploadTokenId: uploadToken.id, takenAt: at, reading: { fields: { shellVersion: '6.4.2.73' }, problems: [] } as never })
    .returning()
    .get();
  db.insert(schema.uploads).values({ name: 'NOBODY', kind: 'status', path: 'uploads/unmatched/b.status', size: 10, sha256: 'cd'.repeat(32), receivedAt: at }).run();
  db.insert(schema.metricsSnapshots).values({ installationId: romashka.id, takenAt: at, receivedAt: at, samples: [{ name: 'kodeks_up', labels: { db: 'Основная' }, value: 1 }] as never, error: null, uploadId: upload.id }).run();
  db.insert(schema.keyValue).values({ key: 'conversation:1001', value: { step: 'reason', text: 'кавычки " и \\ обратная черта', list: [1, 2.5, null, true] }, updatedAt: at }).run();
  db.insert(schema.telegramMessages).values({ chatId: -1001234567890, messageId: 42, incidentId: incident.id, kind: 'alert', createdAt: at }).run();
  db.insert(schema.probeState).values({ installationId: romashka.id, probe: 'http', ok: false, consecutiveFailures: 3, latencyMs: null, error: 'timed out after 5000 ms', detail: { status: 503 }, failingSince: at, checkedAt: at }).run();
  db.insert(schema.probeResults).values([
    { installationId: romashka.id, probe: 'http', at, ok: false, latencyMs: null, error: 'timed out after 5000 ms' },
    { installationId: romashka.id, probe: 'icmp', at, ok: true, latencyMs: 12, error: null },
  ]).run();
  db.insert(schema.unmatchedAlerts).values({ fingerprint: 'f1', alertname: 'NodeDown', labels: { instance: 'x:9100' }, reason: 'ambiguous', candidates: [1, 2], status: 'firing', firstSeenAt: at, lastSeenAt: at }).run();
  db.insert(schema.alertRoutes).values({ source: 'instance:10.0.0.7', installationId: romashka.id, createdAt: at, createdBy: 'cli:root' }).run();
  db.insert(schema.accessRequests).values({ telegramId: 3003, name: 'NULL', username: '', language: 'ru', requestedAt: at, status: 'refused', decidedBy: 2001, decidedAt: at }).run();
  db.insert(schema.digestDeliveries).values({ recipientId: 2001, day: '2024-03-04', kind: 'team', queuedAt: at }).run();
  db.insert(schema.availabilityDays).values({ installationId: romashka.id, day: '2024-03-03', rounds: 1440, up: 1400 }).run();
  db.insert(schema.campaignSnapshots).values({ day: '2024-03-04', scope: 'team:2001', minVersion: '6.4.3.59', compliant: 3, total: 5, takenAt: at }).run();
  db.insert(schema.probeState).values({ installationId: vector.id, probe: 'tcp', ok: true, consecutiveFailures: 0, checkedAt: at }).run();
  db.insert(schema.leases).values([
    { name: 'role:outbox', holder: 'dozor-a', fence: 3, expiresAt: at.getTime(), slot: null, finished: true, claimedAt: at.getTime() },
    { name: 'job:sweep', holder: 'dozor-b', fence: 7, expiresAt: at.getTime(), slot: at.getTime(), finished: false, claimedAt: at.getTime() },
  ]).run();
  db.insert(schema.failureCounts).values({ scope: 'agent-token', address: '203.0.113.7', since: at.getTime(), count: 4 }).run();
  // The last outbox message delivered and pruned: its id must not be given again.
  const last = db.insert(schema.outbox).values({ createdAt: at, kind: 'alert', chatId: 1001, payload: {}, nextAttemptAt: at, urgent: true, status: 'sent', sentAt: at }).returning().get();
  db.delete(schema.outbox).where(eq(schema.outbox.id, last.id)).run();
}

/** A table's rows by their key, each value as dozor means it: flags true or false, JSON parsed, integers as numbers. */
type Rows = Map<string, Record<string, unknown>>;

function sqliteRows(db: DB, table: (typeof TABLES)[number]): Rows {
  const rows = db.$client.prepare(`SELECT * FROM "${table.name}"`).all() as Record<string, unknown>[];
  return keyed(table, rows.map((row) => Object.fromEntries(table.columns.map((column) => {
    const value = row[column.name];
    if (value === null) return [column.name, null];
    if (column.columnType === 'SQLiteBoolean') return [column.name, value === 1];
    if (column.columnType === 'SQLiteTextJson') return [column.name, JSON.parse(value as string)];
    return [column.name, value];
  }))));
}

async function pgRows(client: pg.Client, table: (typeof TABLES)[number]): Promise<Rows> {
  const { rows, fields } = await client.query<Record<string, unknown>>(`SELECT * FROM "${table.name}"`);
  const bigints = new Set(fields.filter((field) => field.dataTypeID === 20).map((field) => field.name));
  // dozor's PostgreSQL handle has node-postgres hand jsonb over as its text (db/open-postgres.ts); read it back as values.
  const jsons = new Set(fields.filter((field) => field.dataTypeID === 3802 || field.dataTypeID === 114).map((field) => field.name));
  const read = (name: string, value: unknown) => {
    if (value === null) return value;
    if (bigints.has(name)) return Number(value);
    if (jsons.has(name) && typeof value === 'string') return JSON.parse(value) as unknown;
    return value;
  };
  return keyed(table, rows.map((row) => Object.fromEntries(Object.entries(row).map(([name, value]) => [name, read(name, value)]))));
}

function keyed(table: (typeof TABLES)[number], rows: Record<string, unknown>[]): Rows {
  const key = table.primaryKeys[0]?.columns.map((column) => column.name) ?? table.columns.filter((column) => column.primary).map((column) => column.name);
  return new Map(rows.map((row) => [JSON.stringify(key.map((name) => row[name])), row]));
}

async function counts(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const found: Record<string, number> = {};
    for (const table of TABLES) found[table.name] = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${table.name}"`)).rows[0]!.n);
    return found;
  } finally {
    await client.end();
  }
}

/** The test database's URL with a password in it (ignored by a server that trusts the connection), and that password. */
function withPassword(url: string): { url: string; password: string } {
  const parsed = new URL(url);
  if (parsed.password === '' && !process.env.PGPASSWORD) parsed.password = 'hunter2-Secret';
  return { url: parsed.toString(), password: parsed.password || process.env.PGPASSWORD! };
}

describe('dozor db copy --to postgres://…', () => {
  const dir = tempDir();
  const database = join(dir.path, 'dozor.sqlite');
  let db: DB;
  let skipped: string | undefined;
  const made: { drop(): Promise<void> }[] = [];
  const fresh = async (purpose: string) => {
    const created = await freshPgDatabase(purpose);
    made.push(created);
    return created;
  };

  beforeAll(async () => {
    skipped = (await testPg()).missing;
    db = openDb(database);
    await fillFleet(db);
  });

  afterAll(async () => {
    for (const created of made) await created.drop();
    closeDb(db);
    dir.cleanup();
  });

  it('copies every row of every table, in PostgreSQL\'s types, sets the sequences past every id, and prints the .env lines without the password', async () => {
    if (skipped) return void console.warn(`skipped: ${skipped}`);
    const empty = TABLES.filter((table) => (db.$client.prepare(`SELECT count(*) FROM "${table.name}"`).pluck().get() as number) === 0).map((table) => table.name);
    expect(empty, 'every table holds rows to copy').toEqual([]);
    const target = await fresh('copy');
    const { url, password } = withPassword(target.url);
    const shown = url.replace(`:${password}@`, ':…@');

    const copy = dozor(database, 'db', 'copy', '--to', url);
    expect(copy.stderr).toBe('');
    expect(copy.status).toBe(0);
    expect(`${copy.stdout}${copy.stderr}`).not.toContain(password);
    expect(copy.stdout).toContain(`Copied ${database} into PostgreSQL at ${shown}:`);
    expect(copy.stdout).toMatch(new RegExp(`^users\\s+${6 + STAFF}$`, 'm'));
    expect(copy.stdout).toMatch(/^installations\s+5$/m);
    expect(copy.stdout).toContain(`  DATABASE_URL=${shown}   (put the password in place of …)\n  DATA_DIR=${dir.path}\n`);
    expect(copy.stdout).toContain(`DATABASE_PATH is then no longer used; ${database} stays as it was`);
    expect(copy.stdout).toMatch(/copy with the service stopped/);

    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      for (const table of TABLES) {
        const expected = sqliteRows(db, table);
        expect(await pgRows(client, table), table.name).toEqual(expected);
        expect(copy.stdout, table.name).toMatch(new RegExp(`^${table.name}\\s+${expected.size}$`, 'm'));
      }
      // The self-reference arrived: the manager listed before their lead answers to them.
      expect((await client.query<{ lead_id: unknown }>('SELECT lead_id FROM users WHERE telegram_id = 500')).rows.map((row) => Number(row.lead_id))).toEqual([90000]);

      const sequences = db.$client.prepare('SELECT name, seq FROM sqlite_sequence').all() as { name: string; seq: number }[];
      const serial = TABLES.filter((table) => table.columns.some((column) => column.primary && (column as unknown as { autoIncrement?: boolean }).autoIncrement));
      expect(serial.map((table) => table.name)).toContain('outbox');
      for (const table of serial) {
        const highest = Math.max(db.$client.prepare(`SELECT coalesce(max(id), 0) FROM "${table.name}"`).pluck().get() as number, sequences.find((s) => s.name === table.name)?.seq ?? 0);
        const next = Number((await client.query<{ id: string }>(`SELECT nextval(pg_get_serial_sequence('"${table.name}"', 'id')) AS id`)).rows[0]!.id);
        expect(next, table.name).toBe(highest + 1);
      }
      // An outbox message written now takes an id never given before, not that of the pruned last one.
      const prunedId = sequences.find((s) => s.name === 'outbox')!.seq;
      expect(db.$client.prepare('SELECT max(id) FROM outbox').pluck().get()).toBeLessThan(prunedId);
      const inserted = await client.query<{ id: string }>("INSERT INTO audit_log (at, actor, action, subject_type) VALUES (1, 'test', 'new', 'row') RETURNING id");
      expect(Number(inserted.rows[0]!.id)).toBeGreaterThan(db.$client.prepare('SELECT max(id) FROM audit_log').pluck().get() as number);
    } finally {
      await client.end();
    }

    // The same with --json: one document, the same counts and .env lines.
    const second = await fresh('copy_json');
    const json = dozor(database, 'db', 'copy', '--to', second.url, '--json');
    expect(json.status, json.stderr).toBe(0);
    const document = JSON.parse(json.stdout) as { tables: { table: string; rows: number }[]; env: Record<string, string> };
    expect(Object.fromEntries(document.tables.map((t) => [t.table, t.rows]))).toEqual(await counts(second.url));
    expect(document.env).toEqual({ DATABASE_URL: second.url, DATA_DIR: dir.path });
  });

  it('gives the same /status, /incidents and /silences answers on PostgreSQL after the copy as on SQLite before it', async () => {
    if (skipped) return void console.warn(`skipped: ${skipped}`);
    const target = await fresh('status');
    expect(dozor(database, 'db', 'copy', '--to', target.url).status).toBe(0);
    const copied = await openPostgres(target.url, { maxConnections: 2 });
    try {
      const people: Person[] = [
        { id: 1001, first_name: 'Ксения' },
        { id: 1002, first_name: 'Пётр' },
        { id: 2001, first_name: 'Ирина' },
      ];
      const questions = ['/status', '/status Ромашка', '/status Вектор', '/status 7701234567', '/status Облако', '/incidents', '/incidents all', '/silences', '/licenses 365'];
      /** What the bot on `on` answers each person's every question: the text and the buttons of each message it sends. */
      const answers = async (on: DB) => {
        const clock = testClock(NOW);
        clock.advance(2 * HOUR);
        const harness = botHarness(on, clock);
        const said: unknown[] = [];
        for (const person of people) {
          for (const question of questions) {
            const before = harness.calls.length;
            await harness.say(person, question);
            said.push({ person: person.id, question, answer: harness.calls.slice(before).filter((c) => c.method === 'sendMessage' || c.method === 'sendPhoto').map((c) => [c.payload.text ?? c.payload.caption, c.payload.reply_markup ?? null]) });
          }
        }
        return said;
      };
      const before = await answers(db);
      const after = await answers(copied);
      // The questions reach the fleet: cards of the demo's clients with their problems, not refusals.
      expect(JSON.stringify(before)).toContain('Ромашка');
      expect(JSON.stringify(before)).toContain('Ключ SenseLock');
      expect(after).toEqual(before);
    } finally {
      await closeDatabase(copied);
    }
  });

  it('refuses a database that already holds dozor\'s data, and changes nothing in it', async () => {
    if (skipped) return void console.warn(`skipped: ${skipped}`);
    const target = await fresh('refuse');
    expect(dozor(database, 'db', 'copy', '--to', target.url).status).toBe(0);
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      await client.query("UPDATE policies SET value = '6.4.4.1'");
      const before = await counts(target.url);
      const again = dozor(database, 'db', 'copy', '--to', target.url);
      expect(again.status).toBe(1);
      expect(again.stdout).toBe('');
      expect(again.stderr).toMatch(/^dozor: the PostgreSQL database at postgres:\/\/\S+ already holds dozor's data \(rows in [a-z_, ]*users[a-z_, ]*\): dozor db copy fills an empty database only, and copied nothing\n$/);
      expect(await counts(target.url)).toEqual(before);
      expect((await client.query('SELECT value FROM policies')).rows).toEqual([{ value: '6.4.4.1' }]);
    } finally {
      await client.end();
    }
  });

  it('refuses, in one sentence and without the password, a PostgreSQL that does not answer or a --to that is not one', async () => {
    const port = await closedPort();
    const refused = dozor(database, 'db', 'copy', '--to', `postgres://dozor:Very-Secret-9@127.0.0.1:${port}/dozor`);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(`dozor: cannot connect to PostgreSQL at postgres://dozor:…@127.0.0.1:${port}/dozor: connect ECONNREFUSED 127.0.0.1:${port}\n`);
    // The URL from standard input, as for keeping the password out of the shell's history.
    const piped = spawnSync(process.execPath, [`${ROOT}bin/dozor.js`, 'db', 'copy', '--to', '-'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_PATH: database },
      input: `postgres://dozor:Very-Secret-9@127.0.0.1:${port}/dozor\n`,
      encoding: 'utf8',
    });
    expect(piped.stderr).toBe(refused.stderr);
    const notUrl = dozor(database, 'db', 'copy', '--to', 'dozor:Very-Secret-9@127.0.0.1/dozor');
    expect(notUrl.stderr).toBe('dozor: --to is a dozor: address, not a PostgreSQL URL: give one such as postgres://dozor:PASSWORD@127.0.0.1:5432/dozor\n');
    expect(dozor(database, 'db', 'copy', '--to', 'mysql://root:Very-Secret-9@db/dozor').stderr).toBe('dozor: --to is a mysql: address, not a PostgreSQL URL: give one such as postgres://dozor:PASSWORD@127.0.0.1:5432/dozor\n');
    expect(dozor(database, 'db', 'copy', '--to', 'Very-Secret-9').stderr).toBe('dozor: --to is not a URL: give a PostgreSQL URL such as postgres://dozor:PASSWORD@127.0.0.1:5432/dozor\n');
    expect(dozor(database, 'db', 'copy', '--help').stdout).toMatch(/stop the service first: what arrives\s+while it copies is not in the copy/);
  });

  it('leaves the target empty when a row cannot go in midway: a NUL in a text, a row PostgreSQL itself refuses', async () => {
    if (skipped) return void console.warn(`skipped: ${skipped}`);
    const broken = join(dir.path, 'broken.sqlite');
    db.$client.prepare('VACUUM INTO ?').run(broken);
    const other = openDb(broken);
    try {
      // web_sessions comes last in the order (it refers to users): every other table is copied before it fails.
      other.$client.prepare("UPDATE web_sessions SET id_hash = 'a' || char(0) || 'b' WHERE id_hash = 'session-hash'").run();
    } finally {
      closeDb(other);
    }
    const target = await fresh('midway');
    const nul = dozor(broken, 'db', 'copy', '--to', target.url);
    expect(nul.status).toBe(1);
    expect(nul.stderr).toBe('dozor: web_sessions row id_hash="a\\u0000b": id_hash holds a NUL character, which PostgreSQL cannot store in text; correct or delete that row in SQLite and copy again (nothing was copied)\n');
    expect(Object.values(await counts(target.url)).every((n) => n === 0)).toBe(true);

    // PostgreSQL refuses a row the copy cannot foresee (here a trigger stands for it): all is rolled back too.
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      await client.query("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no sessions here'; END $$");
      await client.query('CREATE TRIGGER refuse BEFORE INSERT ON web_sessions FOR EACH ROW EXECUTE FUNCTION refuse()');
      const refused = dozor(database, 'db', 'copy', '--to', target.url);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/^dozor: copying web_sessions failed: no sessions here; the PostgreSQL database at postgres:\/\/\S+ was left without any of the rows\n$/);
      expect(Object.values(await counts(target.url)).every((n) => n === 0)).toBe(true);
      await client.query('DROP TRIGGER refuse ON web_sessions');
    } finally {
      await client.end();
    }
    // Nothing half written stands in the way: the same database takes the copy now.
    const retried: CliResult = dozor(database, 'db', 'copy', '--to', target.url);
    expect(retried.status, retried.stderr).toBe(0);
    expect((await counts(target.url)).web_sessions).toBe(2);
  });

  it('takes an empty database whose schema is already there', async () => {
    if (skipped) return void console.warn(`skipped: ${skipped}`);
    const target = await fresh('premigrated');
    const pool = new pg.Pool({ connectionString: target.url });
    try {
      await migrate(drizzle(pool), { migrationsFolder: join(ROOT, 'db/migrations-pg') });
    } finally {
      await pool.end();
    }
    const copy = dozor(database, 'db', 'copy', '--to', target.url);
    expect(copy.status, copy.stderr).toBe(0);
    expect((await counts(target.url)).users).toBe(6 + STAFF);
  });
});

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
