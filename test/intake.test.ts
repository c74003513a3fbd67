import { count, eq } from 'drizzle-orm';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { closeDatabase } from '../db/open.ts';
import { getRejection } from '../db/rejections.ts';
import { addClient } from '../registry/clients.ts';
import { reports } from '../db/schema.ts';
import { getState } from '../db/state.ts';
import { addInstallation, rotateToken } from '../registry/installations.ts';
import {
  postReport,
  SAMPLE_XML,
  seedFleet,
  sqlRows,
  sqlValue,
  startIntake,
  testClock,
  testDb,
  type TestDb,
  type TestIntake,
} from './helpers.ts';
import { onPostgres } from './pg-helpers.ts';

describe('agent report intake', () => {
  const clock = testClock('2023-02-15T06:15:00Z');
  let t: TestDb;
  let intake: TestIntake;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  const storedReports = async () => (await t.db.select({ n: count() }).from(reports))[0]!.n;

  beforeEach(async () => {
    clock.set('2023-02-15T06:15:00Z');
    t = await testDb();
    fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    intake = await startIntake(t.db, clock);
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  it('stores the sample report (202) and updates the latest state', async () => {
    const res = await postReport(intake.url, SAMPLE_XML, { token: fleet.token });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ status: 'stored', installation: fleet.installation.id });
    const state = (await getState(t.db, fleet.installation.id))!;
    expect(state).toMatchObject({
      shellVersion: '6.4.3.59',
      updateNumber: 2251,
      operapDate: '2023-02-14',
      serviceState: 'running',
      serviceAccount: 'user',
      senselockState: 'ok',
      kitAssembled: true,
      dailyUpdate: true,
      copybaseweb: true,
      storagePath: '\\\\nas\\kodeks',
      storageReachable: true,
      licenseLimit: 10,
      licensePeak: 10,
      licenseExhausted: 3,
    });
    expect(state.lastReceivedAt.toISOString()).toBe('2023-02-15T06:15:00.000Z');
    expect(state.lastGeneratedAt?.toISOString()).toBe('2023-02-15T06:12:00.000Z');
  });

  it('accepts the same fields as JSON', async () => {
    const body = JSON.stringify({
      version: 1,
      id: 'json-1',
      generatedAt: '2023-02-15T09:12:00+03:00',
      shell: { version: '6.4.3.59' },
      update: { number: 2251, operapDate: '2023-02-14' },
      service: { state: 'stopped', account: 'system' },
      senselock: { state: 'lost' },
      kit: { assembled: false, dailyUpdate: false, copybaseweb: true },
      storage: { path: '\\\\nas\\kodeks', reachable: false },
      license: { limit: 5, peak: 5, exhausted: 0 },
    });
    const res = await postReport(intake.url, body, { token: fleet.token, contentType: 'application/json' });
    expect(res.status).toBe(202);
    expect(await getState(t.db, fleet.installation.id)).toMatchObject({
      serviceState: 'stopped',
      serviceAccount: 'system',
      senselockState: 'lost',
      kitAssembled: false,
      dailyUpdate: false,
      storageReachable: false,
      licenseExhausted: 0,
    });
  });

  it('accepts text/xml with a charset and windows-1251 documents', async () => {
    const res = await postReport(intake.url, SAMPLE_XML, { token: fleet.token, contentType: 'text/xml; charset=utf-8' });
    expect(res.status).toBe(202);
    const cp1251 = Buffer.from(
      // "\\nas\Кодекс" in windows-1251: Cyrillic letters are single bytes 0xC0-0xFF.
      `<?xml version="1.0" encoding="windows-1251"?><report id="cp"><storage path="\\\\nas\\${'\xca\xee\xe4\xe5\xea\xf1'}"/></report>`,
      'latin1',
    );
    const res2 = await postReport(intake.url, cp1251, { token: fleet.token });
    expect(res2.status).toBe(202);
    expect((await getState(t.db, fleet.installation.id))!.storagePath).toBe('\\\\nas\\Кодекс');
  });

  it('accepts a repeated report id without storing it twice', async () => {
    expect((await postReport(intake.url, SAMPLE_XML, { token: fleet.token })).status).toBe(202);
    const again = await postReport(intake.url, SAMPLE_XML, { token: fleet.token });
    expect(again.status).toBe(202);
    expect(again.json.status).toBe('duplicate');
    expect(await storedReports()).toBe(1);
  });

  it('counts a report without an id every time it arrives, the same content included', async () => {
    const body = '<report><shell version="6.4.3.59"/></report>';
    expect((await postReport(intake.url, body, { token: fleet.token })).json.status).toBe('stored');
    clock.advance(15_000);
    expect((await postReport(intake.url, body, { token: fleet.token })).json.status).toBe('stored');
    // The agent is alive: its last report is the latest arrival, so no "reports missing" while it reports.
    expect((await getState(t.db, fleet.installation.id))!.lastReceivedAt).toEqual(clock());
    expect(await storedReports()).toBe(2);
  });

  it('stores and judges a report whose id was used before with other content (a fixed id cannot hide a lost key)', async () => {
    expect((await postReport(intake.url, '<report id="fixed"><senselock state="ok"/></report>', { token: fleet.token })).json.status).toBe('stored');
    const changed = await postReport(intake.url, '<report id="fixed"><senselock state="lost"/></report>', { token: fleet.token });
    expect(changed.json.status).toBe('stored');
    expect((await getState(t.db, fleet.installation.id))!.senselockState).toBe('lost');
    expect((await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId)).toEqual(['KodeksXmlSensLockStatus']);
    // The very same report again is a repeat.
    expect((await postReport(intake.url, '<report id="fixed"><senselock state="lost"/></report>', { token: fleet.token })).json.status).toBe('duplicate');
  });

  it('ignores unknown elements and attributes', async () => {
    const body = `<report version="2" id="future" future-attr="x">
      <shell version="6.5.0.1" build="42"/>
      <telemetry cpu="12"><disk free="100"/></telemetry>
      <senselock state="ok" serial="abc"/>
    </report>`;
    const res = await postReport(intake.url, body, { token: fleet.token });
    expect(res.status).toBe(202);
    expect(await getState(t.db, fleet.installation.id)).toMatchObject({ shellVersion: '6.5.0.1', senselockState: 'ok' });
  });

  it('treats a missing element as "not reported", keeping what was known', async () => {
    await postReport(intake.url, SAMPLE_XML, { token: fleet.token });
    clock.advance(60_000);
    await postReport(intake.url, '<report id="2" generated-at="2023-02-15T09:20:00+03:00"><service state="stopped"/></report>', {
      token: fleet.token,
    });
    const state = (await getState(t.db, fleet.installation.id))!;
    expect(state.serviceState).toBe('stopped');
    expect(state.senselockState).toBe('ok');
    expect(state.kitAssembled).toBe(true);
    expect(state.lastReceivedAt.toISOString()).toBe('2023-02-15T06:16:00.000Z');
  });

  it('reads dates without an offset in the installation time zone', async () => {
    const tz = await seedFleetExtra(t, clock, 'Asia/Yekaterinburg');
    await postReport(intake.url, '<report id="tz" generated-at="2023-02-15T09:12:00"><update operap-date="2023-02-14"/></report>', {
      token: tz.token,
    });
    const state = (await getState(t.db, tz.installation.id))!;
    expect(state.lastGeneratedAt?.toISOString()).toBe('2023-02-15T04:12:00.000Z'); // UTC+5
    expect(state.operapDate).toBe('2023-02-14');
    // An explicit offset wins over the installation's zone.
    await postReport(intake.url, '<report id="tz2" generated-at="2023-02-15T09:12:00Z"/>', { token: tz.token });
    expect((await getState(t.db, tz.installation.id))!.lastGeneratedAt?.toISOString()).toBe('2023-02-15T09:12:00.000Z');
  });

  it('does not roll facts back when an older report arrives late', async () => {
    await postReport(intake.url, SAMPLE_XML, { token: fleet.token });
    clock.advance(60_000);
    const late = '<report id="old" generated-at="2023-02-14T09:00:00+03:00"><senselock state="lost"/></report>';
    expect((await postReport(intake.url, late, { token: fleet.token })).status).toBe(202);
    const state = (await getState(t.db, fleet.installation.id))!;
    expect(state.senselockState).toBe('ok');
    expect(state.lastReceivedAt.toISOString()).toBe('2023-02-15T06:16:00.000Z');
    expect(await storedReports()).toBe(2);
  });

  it('remembers a shell version change with the old version and when', async () => {
    await postReport(intake.url, '<report id="a" generated-at="2023-02-15T08:00:00+03:00"><shell version="6.4.2.73"/></report>', {
      token: fleet.token,
    });
    await postReport(intake.url, '<report id="b" generated-at="2023-02-15T12:00:00+03:00"><shell version="6.4.3.59"/></report>', {
      token: fleet.token,
    });
    expect(await getState(t.db, fleet.installation.id)).toMatchObject({
      shellVersion: '6.4.3.59',
      previousShellVersion: '6.4.2.73',
      shellVersionChangedAt: new Date('2023-02-15T09:00:00Z'),
    });
  });

  describe('401 for a missing or unknown token, with no hint which', () => {
    it.each([
      ['no header', null],
      ['an unknown token', 'dzr_unknown'],
      ['an empty token', ''],
    ])('%s', async (_label, token) => {
      const res = await postReport(intake.url, SAMPLE_XML, { token });
      expect(res.status).toBe(401);
      expect(res.json.error).toBe('missing or invalid agent token');
      expect(await storedReports()).toBe(0);
    });

    it('a non-Bearer scheme', async () => {
      const response = await fetch(`${intake.url}/api/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Basic ${fleet.token}`, 'content-type': 'application/xml' },
        body: SAMPLE_XML,
      });
      expect(response.status).toBe(401);
    });

    it('comes before the body is looked at', async () => {
      const res = await postReport(intake.url, 'x'.repeat(300 * 1024), { token: 'dzr_nope' });
      expect(res.status).toBe(401);
    });
  });

  it('keeps tokens only as hashes: the token is nowhere in the database file', async () => {
    await postReport(intake.url, SAMPLE_XML, { token: fleet.token });
    if (!onPostgres()) {
      // The SQLite file's bytes, the WAL checkpointed into it (PostgreSQL has no one file to read: below, every row of every table).
      t.db.$client.pragma('wal_checkpoint(TRUNCATE)');
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(t.path).includes(Buffer.from(fleet.token))).toBe(false);
      expect(readFileSync(t.path).includes(Buffer.from(fleet.token.slice(4)))).toBe(false);
    } else {
      const tables = await sqlRows<{ name: string }>(t.db, "select table_name as name from information_schema.tables where table_schema = 'public'");
      expect(tables.length).toBeGreaterThan(10);
      for (const { name } of tables) {
        expect(Number(await sqlValue(t.db, `select count(*) from "${name}" x where x::text like ?`, `%${fleet.token.slice(4)}%`)), name).toBe(0);
      }
    }
  });

  it('stops accepting the old token once it is rotated', async () => {
    const rotated = await rotateToken({ db: t.db, clock, actor: 'test' }, fleet.installation.id);
    expect((await postReport(intake.url, SAMPLE_XML, { token: fleet.token })).status).toBe(401);
    expect((await postReport(intake.url, SAMPLE_XML, { token: rotated.token })).status).toBe(202);
  });

  it('refuses the old token at once when it is rotated after reports came with it (the intake remembers tokens it has seen), storing nothing under it', async () => {
    const report = (id: string) => SAMPLE_XML.replace('id="agent-unique-report-id"', `id="${id}"`);
    expect((await postReport(intake.url, report('before'), { token: fleet.token })).status).toBe(202);
    const storedBefore = await sqlValue(t.db, 'select count(*) from reports');
    // Rotated behind the intake's back, as another instance or the command line does it.
    const rotated = await rotateToken({ db: t.db, clock, actor: 'test' }, fleet.installation.id);
    expect((await postReport(intake.url, report('after-1'), { token: fleet.token })).status).toBe(401);
    expect((await postReport(intake.url, report('after-2'), { token: fleet.token })).status).toBe(401);
    expect(Number(await sqlValue(t.db, 'select count(*) from reports'))).toBe(Number(storedBefore));
    expect((await postReport(intake.url, report('new'), { token: rotated.token })).status).toBe(202);
  });

  describe('400 with a message naming the problem, nothing stored', () => {
    it.each([
      ['malformed XML', '<report><shell version="1"></report>', /malformed XML at line 1/],
      ['a wrong root element', '<status/>', /root element must be <report>/],
      ['a bad boolean', '<report><kit daily-update="maybe"/></report>', /<kit daily-update>: expected true or false, got "maybe"/],
      ['a bad enum', '<report><senselock state="gone"/></report>', /<senselock state>: expected one of ok, lost, absent/],
      ['a negative number', '<report><license limit="-1"/></report>', /<license limit>: expected a whole number/],
      ['a bad version', '<report><shell version="six"/></report>', /<shell version>: expected a version such as 6.4.3.59/],
      ['an impossible date', '<report><update operap-date="2023-02-30"/></report>', /<update operap-date>: expected a date/],
      ['a date before 1990', '<report><update operap-date="1900-01-01"/></report>', /before 1990/],
      ['a date after 2100', '<report generated-at="2101-01-01T00:00:00Z"/>', /after 2100/],
      ['a repeated element', '<report><shell version="1"/><shell version="2"/></report>', /<shell>: appears more than once/],
      ['invalid UTF-8', Buffer.from([0x3c, 0x72, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x72, 0x3e]), /not valid UTF-8/],
    ])('%s', async (_label, body, message) => {
      const res = await postReport(intake.url, body, { token: fleet.token });
      expect(res.status).toBe(400);
      expect(String(res.json.error)).toMatch(message);
      expect(await storedReports()).toBe(0);
      expect(await getState(t.db, fleet.installation.id)).toBeNull();
    });

    it('malformed JSON', async () => {
      const res = await postReport(intake.url, '{"id": ', { token: fleet.token, contentType: 'application/json' });
      expect(res.status).toBe(400);
      expect(String(res.json.error)).toMatch(/malformed JSON/);
    });

    it('a JSON field of the wrong type', async () => {
      const res = await postReport(intake.url, JSON.stringify({ update: { number: 'many' } }), {
        token: fleet.token,
        contentType: 'application/json',
      });
      expect(res.status).toBe(400);
      expect(String(res.json.error)).toMatch(/update.number: expected a whole number, got "many"/);
    });

    it('remembers the refusal for the installation', async () => {
      await postReport(intake.url, '<report><kit daily-update="maybe"/></report>', { token: fleet.token });
      expect(await getRejection(t.db, fleet.installation.id)).toMatchObject({ count: 1, reason: expect.stringMatching(/daily-update/) });
    });
  });

  describe('entity and DOCTYPE refusal', () => {
    it('refuses a billion-laughs document within a second', async () => {
      const lol = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE lolz [',
        ' <!ENTITY lol "lol">',
        ...Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`),
        ']>',
        '<report id="&lol9;"/>',
      ].join('\n');
      const started = performance.now();
      const res = await postReport(intake.url, lol, { token: fleet.token });
      expect(performance.now() - started).toBeLessThan(1000);
      expect(res.status).toBe(400);
      expect(String(res.json.error)).toMatch(/DOCTYPE and entity declarations are not allowed/);
      expect(await storedReports()).toBe(0);
    });

    it('refuses an external entity', async () => {
      const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><report id="&x;"/>';
      const res = await postReport(intake.url, xxe, { token: fleet.token });
      expect(res.status).toBe(400);
      expect(await storedReports()).toBe(0);
    });
  });

  it('413 over 256 KiB', async () => {
    const padding = `<!-- ${'x'.repeat(260 * 1024)} -->`;
    const res = await postReport(intake.url, `<report id="big">${padding}</report>`, { token: fleet.token });
    expect(res.status).toBe(413);
    expect(await storedReports()).toBe(0);
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], [null]])('415 for content type %s', async (contentType) => {
    const res = await postReport(intake.url, SAMPLE_XML, { token: fleet.token, contentType });
    expect(res.status).toBe(415);
    expect(await storedReports()).toBe(0);
  });

  it('503 while storage refuses writes, and recovers by itself', async () => {
    await refuseWrites(t, true);
    const res = await postReport(intake.url, SAMPLE_XML, { token: fleet.token });
    expect(res.status).toBe(503);
    await refuseWrites(t, false);
    expect((await postReport(intake.url, SAMPLE_XML, { token: fleet.token })).status).toBe(202);
  });

  it('GET /healthz answers 200 while the database answers, 503 when it does not', async () => {
    const ok = await fetch(`${intake.url}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok' });
    // Its connection closed (SQLite), its pool ended (PostgreSQL).
    await closeDatabase(t.db);
    expect((await fetch(`${intake.url}/healthz`)).status).toBe(503);
    expect((await postReport(intake.url, SAMPLE_XML, { token: fleet.token })).status).toBe(503);
  });

  it('keeps each installation to its own state', async () => {
    const other = await seedFleetExtra(t, clock, 'Europe/Moscow');
    await postReport(intake.url, SAMPLE_XML, { token: other.token });
    expect(await getState(t.db, fleet.installation.id)).toBeNull();
    expect((await t.db.select({ n: count() }).from(reports).where(eq(reports.installationId, other.installation.id)))[0]!.n).toBe(1);
  });
});

let extra = 0;
async function seedFleetExtra(t: TestDb, clock: () => Date, tz: string) {
  const ctx = { db: t.db, clock, actor: 'test' };
  const client = await addClient(ctx, { name: `Клиент ${++extra}`, managerId: 1001 });
  return addInstallation(ctx, { client: String(client.id), name: 'Сервер', kind: 'local', tz });
}

/**
 * Storage refusing writes, or taking them again: SQLite's query_only; on
 * PostgreSQL read-only transactions (25006), for the connections opened from
 * now on, so the pool's are closed under it and it opens new ones.
 */
async function refuseWrites(t: TestDb, refuse: boolean): Promise<void> {
  if (!onPostgres()) {
    t.db.$client.pragma(`query_only = ${refuse ? 'ON' : 'OFF'}`);
    return;
  }
  const admin = new pg.Client({ connectionString: t.path });
  await admin.connect();
  try {
    const name = new URL(t.path).pathname.slice(1);
    // This session writes, whatever the database's default is.
    await admin.query('set default_transaction_read_only = off');
    await admin.query(`alter database "${name}" ${refuse ? 'set default_transaction_read_only = on' : 'reset default_transaction_read_only'}`);
    const others = 'from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()';
    await admin.query(`select pg_terminate_backend(pid) ${others}`);
    while (Number((await admin.query(`select count(*) as n ${others}`)).rows[0].n) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    // The pool hears of its connections' end and drops them.
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    await admin.end();
  }
}
