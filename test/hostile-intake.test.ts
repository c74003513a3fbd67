import Database from 'better-sqlite3';
import { count } from 'drizzle-orm';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '../core/errors.ts';
import { closeDb, openDb } from '../db/open.ts';
import { first } from '../db/query.ts';
import { reports } from '../db/schema.ts';
import { getState } from '../db/state.ts';
import { parseReport } from '../intake/parse-report.ts';
import { noteUnmatchedAlert } from '../db/unmatched-alerts.ts';
import { dozor } from './cli-helpers.ts';
import { onPostgres } from './pg-helpers.ts';
import { postReport, SAMPLE_XML, seedFleet, startIntake, testClock, testDb, type TestDb, type TestIntake } from './helpers.ts';

describe('hostile input to the intake', () => {
  const clock = testClock('2023-02-15T06:15:00Z');
  let t: TestDb;
  let intake: TestIntake;
  let token: string;
  let installationId: number;
  const stored = async () => (await first(t.db.select({ n: count() }).from(reports)))!.n;
  const post = (body: string | Buffer, contentType = 'application/xml') => postReport(intake.url, body, { token, contentType });

  beforeEach(async () => {
    clock.set('2023-02-15T06:15:00Z');
    t = await testDb();
    const fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    token = fleet.token;
    installationId = fleet.installation.id;
    intake = await startIntake(t.db, clock, { failedAuthLimit: 20 });
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  it('refuses nesting 10,000 deep, quickly, storing nothing', async () => {
    const deep = `<report id="deep">${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</report>`;
    const started = performance.now();
    const res = await post(deep);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(res.status).toBe(400);
    expect(await stored()).toBe(0);
  });

  it('reads 60,000 unknown elements without collecting them, and refuses 9,000 copies of a known one by name', async () => {
    const unknown = await post(`<report id="many">${'<a/>'.repeat(60_000)}<senselock state="lost"/></report>`);
    expect(unknown.status).toBe(202);
    expect((await getState(t.db, installationId))!.senselockState).toBe('lost');
    const repeated = await post(`<report id="copies">${'<shell version="6.4.3.59"/>'.repeat(9_000)}</report>`);
    expect(repeated.status).toBe(400);
    expect(repeated.json.error).toMatch(/<shell>: appears more than once/);
  });

  it('answers 400 with a short message for values that are not what a field takes, whatever they are', async () => {
    const json = (body: unknown) => post(JSON.stringify(body), 'application/json');
    // An object that brings its own toString, a deep array, a huge array: each a plain 400, never a 500 or an echo.
    const cases = [
      { kit: { assembled: { toString: 1, valueOf: 2 } } },
      { kit: { assembled: JSON.parse(`${'['.repeat(2000)}1${']'.repeat(2000)}`) as unknown } },
      { update: { number: Array.from({ length: 40_000 }, (_, i) => i) } },
      { shell: { version: { toString: 'x' } } },
    ];
    for (const body of cases) {
      const res = await json(body);
      expect(res.status).toBe(400);
      expect(String(res.json.error).length).toBeLessThan(300);
    }
    expect(await stored()).toBe(0);
  });

  it('refuses a 10 MB body with 413', async () => {
    const res = await post(`<report id="huge">${' '.repeat(10 * 1024 * 1024)}</report>`);
    expect(res.status).toBe(413);
    expect(await stored()).toBe(0);
  });

  describe('every field with the wrong type or out of range is a 400 naming it', () => {
    const cases: [string, string, RegExp][] = [
      ['<report version="two"/>', 'report version', /<report version>/],
      ['<report generated-at="yesterday"/>', 'generated-at', /<report generated-at>/],
      ['<report generated-at="2200-01-01T00:00:00Z"/>', 'generated-at in 2200', /<report generated-at>/],
      ['<report><shell version="6.4.x"/></report>', 'shell version', /<shell version>/],
      ['<report><update number="12.5"/></report>', 'update number', /<update number>/],
      ['<report><update number="99999999999"/></report>', 'update number too large', /<update number>: expected at most/],
      ['<report><update operap-date="1899-12-31"/></report>', 'operap date', /<update operap-date>/],
      ['<report><service state="maybe"/></report>', 'service state', /<service state>/],
      ['<report><service account="root"/></report>', 'service account', /<service account>/],
      ['<report><senselock state="1"/></report>', 'senselock', /<senselock state>/],
      ['<report><kit assembled="yes please"/></report>', 'kit assembled', /<kit assembled>/],
      ['<report><kit daily-update="2"/></report>', 'daily update', /<kit daily-update>/],
      ['<report><kit copybaseweb=""/></report>', 'copybaseweb', /<kit copybaseweb>/],
      ['<report><storage reachable="perhaps"/></report>', 'storage reachable', /<storage reachable>/],
      ['<report><license limit="-5"/></report>', 'licence limit', /<license limit>/],
      ['<report><license peak="1e9"/></report>', 'licence peak', /<license peak>/],
      ['<report><license exhausted="9999999"/></report>', 'licence exhausted', /<license exhausted>/],
    ];
    it.each(cases)('%s (%s)', async (xml, _label, message) => {
      const res = await post(xml);
      expect(res.status).toBe(400);
      expect(String(res.json.error)).toMatch(message);
      expect(await stored()).toBe(0);
    });

    it.each([
      [{ shell: { version: 6.4 } }, /shell.version/],
      [{ update: { number: '2251a' } }, /update.number/],
      [{ kit: { assembled: 'maybe' } }, /kit.assembled/],
      [{ license: { limit: true } }, /license.limit/],
      [{ storage: 'nas' }, /storage/],
      [[1, 2, 3], /expected a report object/],
      ['just a string', /expected a report object/],
    ])('JSON %j', async (body, message) => {
      const res = await post(JSON.stringify(body), 'application/json');
      expect(res.status).toBe(400);
      expect(String(res.json.error)).toMatch(message);
    });
  });

  describe('what lenient parsers would take', () => {
    it.each([
      ['<report><update operap-date="0095-06-15"/></report>', /<update operap-date>: 0095-06-15 is before 1990/],
      ['<report generated-at="2099-12-31T24:00"/>', /<report generated-at>: "24:00" is not a time of day/],
      ['<report generated-at="2023-02-15T09:12:00+99:99"/>', /<report generated-at>: the offset \+99:99 is not a time zone's/],
      ['<report generated-at="2023-02-15T09:61:00+03:00"/>', /"09:61:00" is not a time of day/],
      ['<report><kit daily-update="true" dailyUpdate="false"/></report>', /<kit>: daily-update and dailyUpdate are the same attribute/],
      ['<report><storage path="\\\\nas\u202Exod.exe"/></report>', /<storage path>: contains control characters or invisible formatting marks/],
      ['<report><storage path="\\\\nas\u0085kodeks"/></report>', /<storage path>: contains control characters or invisible formatting marks/],
      ['<report id="\u200Fid"/>', /<report id>: contains control characters/],
    ])('%s is a 400 naming the field', async (body, message) => {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(String(res.json.error)).toMatch(message);
      expect(await stored()).toBe(0);
    });

    it('takes the real dates next to them: 1995, an offset of −12:00 or +14:00, 23:59:59', async () => {
      for (const [id, body] of [
        ['a', '<update operap-date="1995-06-15"/>'],
        ['b', ''],
      ] as const) {
        const res = await post(`<report id="${id}" generated-at="2023-02-15T23:59:59+14:00">${body}</report>`);
        expect(res.status).toBe(202);
      }
      expect((await post('<report id="c" generated-at="2023-02-15T00:00:00-12:00"/>')).status).toBe(202);
    });

    it('reads the words DOCTYPE and ENTITY in a comment or CDATA as text, and still refuses a real declaration', async () => {
      const res = await post('<report id="d"><!-- <!DOCTYPE x> <!ENTITY y "z"> --><![CDATA[<!DOCTYPE q>]]><storage path="x"/></report>');
      expect(res.status).toBe(202);
      const declared = await post('<!DOCTYPE report [<!ENTITY a "aaaaaaaa">]><report id="e">&a;</report>');
      expect(declared.status).toBe(400);
      expect(String(declared.json.error)).toMatch(/DOCTYPE and entity declarations are not allowed/);
    });
  });

  it('stores SQL and HTML in strings as plain data', async () => {
    const nasty = `x'); DROP TABLE reports; -- <script>alert(1)</script> &amp; "q"`;
    const xml = `<report id="${nasty.replace(/&(?!amp;)/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')}"><storage path="${nasty.replace(/</g, '&lt;').replace(/"/g, '&quot;')}"/></report>`;
    const res = await post(xml);
    expect(res.status).toBe(202);
    expect((await getState(t.db, installationId))!.storagePath).toBe(`x'); DROP TABLE reports; -- <script>alert(1)</script> & "q"`);
    expect(await stored()).toBe(1);
  });

  it('rate-limits a flood of bad tokens per address with 429, while a good token keeps being served', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await postReport(intake.url, SAMPLE_XML, { token: `dzr_guess_${i}` })).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    expect((await post(SAMPLE_XML)).status).toBe(202);
  });

  // SQLite's own: a second connection's BEGIN IMMEDIATE holding the file's write lock past the busy timeout (SQLITE_BUSY).
  it.skipIf(onPostgres())('answers 503 while the database is locked by another writer, and recovers', async () => {
    await intake.close();
    closeDb(t.db);
    t.db = openDb(t.path, { busyTimeoutMs: 50 });
    intake = await startIntake(t.db, clock);
    const other = new Database(t.path);
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      expect((await post(SAMPLE_XML)).status).toBe(503);
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    expect((await post(SAMPLE_XML)).status).toBe(202);
  });

  // SQLite's own: the file's max_page_count pragma stands in for a full disk (SQLITE_FULL).
  it.skipIf(onPostgres())('answers 503 when the disk is full, and recovers', async () => {
    const pages = t.db.$client.pragma('page_count', { simple: true }) as number;
    t.db.$client.pragma(`max_page_count = ${pages}`);
    const filler = (i: number) => `<report id="fill-${i}"><storage path="${'x'.repeat(900)}"/></report>`;
    const statuses: number[] = [];
    for (let i = 0; i < 40 && !statuses.includes(503); i++) statuses.push((await post(filler(i))).status);
    expect(statuses).toContain(503);
    expect(statuses.every((s) => s === 202 || s === 503)).toBe(true);
    t.db.$client.pragma('max_page_count = 1073741823');
    expect((await post(filler(1000))).status).toBe(202);
  });

  it('dozor alerts unmatched shows control characters and reordering marks in Alertmanager labels as �, never raw on the terminal', async () => {
    await noteUnmatchedAlert(
      t.db,
      {
        fingerprint: 'f'.repeat(16),
        alertname: 'Disk\u202Eesrever',
        labels: { alertname: 'Disk\u202Eesrever', instance: 'host\u009B31m:9100', team: 'a\u2066b' },
        annotations: {},
        startsAt: null,
        reason: 'none',
        candidates: [],
        status: 'firing',
      },
      clock(),
    );
    const listed = dozor(t.path, 'alerts', 'unmatched');
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain('Disk\uFFFDesrever');
    expect(listed.stdout).toContain('instance=host\uFFFD31m:9100');
    expect(listed.stdout).toContain('team=a\uFFFDb');
    expect(listed.stdout).not.toMatch(/[\u202E\u009B\u2066]/);
  });

  describe('fuzzing (fast-check)', () => {
    const element = fc.constantFrom('shell', 'update', 'service', 'senselock', 'kit', 'storage', 'license', 'x', 'report');
    const attribute = fc.constantFrom('version', 'number', 'operap-date', 'state', 'account', 'assembled', 'daily-update', 'copybaseweb', 'path', 'reachable', 'limit', 'peak', 'exhausted', 'id', 'generated-at');
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String), fc.constantFrom('true', 'false', 'ok', 'lost', 'running', '2023-02-14', '6.4.3.59', '', '&amp;', '&#x41;'));
    const xmlish = fc
      .array(fc.tuple(element, fc.array(fc.tuple(attribute, value), { maxLength: 4 })), { maxLength: 8 })
      .map((children) => `<report id="f${Math.random()}">${children.map(([name, attrs]) => `<${name} ${attrs.map(([a, v]) => `${a}="${v.replace(/[<&"]/g, '')}"`).join(' ')}/>`).join('')}</report>`);
    const mutated = fc.tuple(fc.constant(SAMPLE_XML), fc.nat(SAMPLE_XML.length), fc.nat(40), fc.string({ maxLength: 10 })).map(
      ([base, at, cut, insert]) => base.slice(0, at) + insert + base.slice(Math.min(base.length, at + cut)),
    );
    const bytes = fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a));

    it('the parser only ever answers with a report or an InputError', () => {
      fc.assert(
        fc.property(fc.oneof(xmlish, mutated, fc.string({ maxLength: 300 })), bytes, (text, raw) => {
          for (const body of [Buffer.from(text), raw]) {
            for (const format of ['xml', 'json'] as const) {
              try {
                parseReport(body, format, { tz: 'Europe/Moscow' });
              } catch (err) {
                if (!(err instanceof InputError)) throw err;
              }
            }
          }
        }),
        { numRuns: 400 },
      );
    });

    it('the handler never answers 5xx and never writes half a report', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(xmlish, mutated), async (body) => {
          const before = await stored();
          const stateBefore = JSON.stringify(await getState(t.db, installationId));
          const res = await post(body);
          expect([202, 400]).toContain(res.status);
          if (res.status === 400 || res.json.status === 'duplicate') {
            expect(await stored()).toBe(before);
            expect(JSON.stringify(await getState(t.db, installationId))).toBe(stateBefore);
          } else {
            expect(await stored()).toBe(before + 1);
          }
        }),
        { numRuns: 150 },
      );
    });
  });
});
