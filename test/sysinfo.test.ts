import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { factsFromSysinfo, MappingMatcher, sysinfoMappingSchema, type SysinfoMapping } from '../core/sysinfo-mapping.ts';
import { eq } from 'drizzle-orm';
import { auditLog } from '../db/schema.ts';
import { getState } from '../db/state.ts';
import { getIncidentViews, listIncidentsWithNames } from '../db/incidents.ts';
import { renderAlert } from '../bot/render/alert.ts';
import { createUploadToken, setUploadName } from '../registry/uploads.ts';
import { getClientStatus } from '../db/status.ts';
import { findLatestSysinfo } from '../db/uploads.ts';
import { renderClientStatus } from '../bot/render/status.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { useSysinfoMapping } from '../intake/sysinfo-facts.ts';
import { DEFAULT_SYSINFO_MAPPING, loadSysinfoMapping } from '../intake/sysinfo-mapping-file.ts';
import { READ_LIMITS, readSysinfo } from '../intake/sysinfo-reader.ts';
import { reparseSysinfo } from '../intake/sysinfo-reparse.ts';
import { describeReadingProblem } from '../i18n/sysinfo.ts';
import { dozorWithEnv } from './cli-helpers.ts';
import { postReport, seedFleet, silentLogger, tempDir, testClock, testDb, zipOf, type TestDb } from './helpers.ts';

/**
 * The real sysinfo schema is not published, so these tests bring a synthetic
 * document and a mapping of their own for it: they check the machinery (paths,
 * reading, encodings, limits), not any claim about Kodeks' element names.
 */
const SYNTHETIC = `<?xml version="1.0" encoding="windows-1251"?>
<sysinfo made="30.11.2026 06:55:00">
  <product name="Техэксперт" version="6.4.5.127 (x64)"/>
  <update>2251</update>
  <operups>
    <file name="2330nvd.ud6" date="2026-11-26T03:00:00"/>
    <file name="2330thes.udt" date="27.11.2026 04:10"/>
    <file name="broken.ud6" date="вчера"/>
  </operups>
  <key>Работает</key>
  <users limit="10" peak="7"/>
</sysinfo>
`;

const MAPPING: SysinfoMapping = sysinfoMappingSchema.parse({
  fields: {
    generatedAt: ['sysinfo/@made'],
    shellVersion: ['sysinfo/product/@version'],
    updateNumber: ['sysinfo/update'],
    operapDate: ['sysinfo/operups/*/@date'],
    senselockState: ['sysinfo/key'],
    licenseLimit: ['sysinfo/users/@limit'],
    licensePeak: ['sysinfo/users/@peak'],
  },
  senselockStates: { ok: ['работает'], lost: ['Потерян'], absent: ['нет ключа'] },
});


const cp1251 = (text: string) => Buffer.from(iconv1251(text));

/** windows-1251 by hand (Node decodes it but has no encoder): Latin as is, Cyrillic by table. */
function iconv1251(text: string): Uint8Array {
  return Uint8Array.from([...text].map((c) => {
    const code = c.codePointAt(0)!;
    if (code < 0x80) return code;
    if (code >= 0x410 && code <= 0x44f) return code - 0x410 + 0xc0;
    if (code === 0x401) return 0xa8;
    if (code === 0x451) return 0xb8;
    throw new Error(`no windows-1251 byte for ${c}`);
  }));
}

describe('the sysinfo mapping', () => {
  it('ships with no path at all: nothing about the unpublished schema is presented as fact', () => {
    const { mapping } = loadSysinfoMapping(DEFAULT_SYSINFO_MAPPING);
    expect(Object.values(mapping.fields).flat()).toEqual([]);
    expect(Object.values(mapping.senselockStates).flat()).toEqual([]);
  });

  it('refuses a mapping file that cannot be used, naming every problem', () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'mapping.json');
      writeFileSync(file, JSON.stringify({ fields: { shellVersion: ['sysinfo//version'], seats: ['a/b'], updateNumber: ['a/@'] } }));
      expect(() => loadSysinfoMapping(file)).toThrow(
        `the sysinfo mapping ${file} is not usable: fields.shellVersion.0: "sysinfo//version" "" is not an element name (or *); fields.updateNumber.0: "a/@" "@" is not an attribute name; fields: Unrecognized key: "seats"`,
      );
      writeFileSync(file, '{ not json');
      expect(() => loadSysinfoMapping(file)).toThrow(/is not JSON/);
      expect(() => loadSysinfoMapping(join(dir.path, 'missing.json'))).toThrow(/cannot read the sysinfo mapping .*missing\.json: ENOENT/);
    } finally {
      dir.cleanup();
    }
  });

  it('reads each field its own way: a version out of text, whole numbers, the latest operap date, SenseLock by its table, dates in the installation\'s zone', () => {
    const found = {
      generatedAt: [{ path: 'x/@made', value: '30.11.2026 06:55:00' }],
      shellVersion: [{ path: 'x/a', value: 'нет' }, { path: 'x/b', value: '6.4.5.127 (x64) [patch]' }],
      updateNumber: [{ path: 'x/u', value: ' 2251 ' }],
      operapDate: [
        { path: 'x/f/@date', value: '2026-11-26T03:00:00' },
        { path: 'x/f/@date', value: '27.11.2026 04:10' },
        { path: 'x/f/@date', value: 'вчера' },
      ],
      senselockState: [{ path: 'x/k', value: ' ПОТЕРЯН ' }],
    };
    const read = factsFromSysinfo(MAPPING, found, 'Asia/Yekaterinburg');
    expect(read.facts).toEqual({ shellVersion: '6.4.5.127', updateNumber: 2251, operapDate: '2026-11-27', senselockState: 'lost' });
    expect(read.generatedAt).toEqual(new Date('2026-11-30T01:55:00Z'));
    expect(read.unreadable).toEqual([
      { field: 'shellVersion', value: 'нет', path: 'x/a' },
      { field: 'operapDate', value: 'вчера', path: 'x/f/@date' },
    ]);
  });

  it('matches * to any one element and nothing else', () => {
    const matcher = new MappingMatcher(MAPPING);
    expect(matcher.match('sysinfo/operups/file/@date')).toEqual([{ field: 'operapDate', path: 'sysinfo/operups/*/@date' }]);
    expect(matcher.match('sysinfo/operups/a/b/@date')).toEqual([]);
    expect(matcher.match('sysinfo/operups/file')).toEqual([]);
  });
});

describe('reading a sysinfo file', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('reads the XML entries of an archive in their declared encoding, lists the rest, and outlines every path', async () => {
    const file = join(dir.path, 'report.zip');
    writeFileSync(file, await zipOf({ 'report/sysinfo.xml': cp1251(SYNTHETIC), 'report/users.sqlite': 'SQLite format 3\u0000' }));
    const read = await readSysinfo(file, 'zip', { matcher: new MappingMatcher(MAPPING), outline: true });
    expect(read.documents).toEqual([
      { name: 'report/sysinfo.xml', kind: 'xml', bytes: cp1251(SYNTHETIC).length },
      { name: 'report/users.sqlite', kind: 'other', bytes: 16 },
    ]);
    expect(read.found.shellVersion).toEqual([{ path: 'sysinfo/product/@version', value: '6.4.5.127 (x64)' }]);
    expect(read.found.senselockState).toEqual([{ path: 'sysinfo/key', value: 'Работает' }]);
    expect(read.outlines.get('report/sysinfo.xml')).toContainEqual({ path: 'sysinfo/operups/file/@name', count: 3, sample: '2330nvd.ud6' });
  });

  it('refuses a DOCTYPE (no entity is ever expanded), malformed XML and a wrong encoding, per document, without throwing', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><sysinfo><update>&lol2;</update></sysinfo>`;
    const file = join(dir.path, 'bad.zip');
    writeFileSync(
      file,
      await zipOf({
        'a.xml': laughs,
        'b.xml': '<sysinfo><update>1</sysinfo>',
        'c.xml': Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e]),
        'd.xml': '<?xml version="1.0" encoding="x-klingon"?><a/>',
      }),
    );
    const read = await readSysinfo(file, 'zip', { matcher: new MappingMatcher(MAPPING) });
    expect(read.documents.map((d) => d.error)).toEqual([
      'a DOCTYPE (entity declarations) is not read',
      expect.stringMatching(/^malformed XML at line 1, column \d+: /),
      'not valid utf-8 text',
      'the document declares an encoding dozor does not know: x-klingon',
    ]);
    expect(read.found).toEqual({});
    // What a manager's card says of each, in words.
    expect(read.documents.map((d) => describeReadingProblem('ru', { kind: 'document', name: d.name, error: d.error! }))).toEqual([
      'документ a.xml: в нём объявление DOCTYPE, такие документы не читаются',
      'документ b.xml: XML повреждён (строка 1)',
      'документ c.xml: текст не в кодировке utf-8',
      'документ d.xml: объявлена неизвестная кодировка x-klingon',
    ]);
    expect(describeReadingProblem('ru', { kind: 'value', field: 'shellVersion', value: '6.4.x', path: 'a/@v' })).toBe('версия ПК: значение «6.4.x» не читается');
    expect(describeReadingProblem('ru', { kind: 'noXml' })).toBe('в нём нет ни одного XML-документа');
    // A reading an older dozor stored as text is shown as it was written.
    expect(describeReadingProblem('en', 'no XML document in it')).toBe('no XML document in it');
  });

  it('reads databases as records: each database element gives one, with its name, update, licence term and error codes', async () => {
    const mapping = sysinfoMappingSchema.parse({
      databaseElement: 'sysinfo/bases/base',
      fields: {
        seatsUsed: ['sysinfo/users/@now'],
        databaseName: ['sysinfo/bases/base/@name'],
        databaseUpdate: ['sysinfo/bases/base/@update'],
        databaseLicenseExpires: ['sysinfo/bases/base/license/@till'],
        databaseErrors: ['sysinfo/bases/base/errors/error/@code'],
      },
    });
    const file = join(dir.path, 'bases.xml');
    writeFileSync(
      file,
      `<sysinfo><users now="7"/><bases>
        <base name="Законодательство" update="2251"><license till="05.12.2026"/><errors><error code="4111"/><error code="696"/></errors></base>
        <base name="Охрана труда" update="2251"><license till="когда-нибудь"/></base>
        <base update="9"/>
      </bases><license till="01.01.2030"/></sysinfo>`,
    );
    const read = await readSysinfo(file, 'xml', { matcher: new MappingMatcher(mapping) });
    const facts = factsFromSysinfo(mapping, read.found, 'Europe/Moscow');
    expect(facts.facts).toEqual({
      seatsUsed: 7,
      databases: [
        { name: 'Законодательство', updateNumber: 2251, licenseExpires: '2026-12-05', errors: [4111, 696] },
        { name: 'Охрана труда', updateNumber: 2251, errors: [] },
      ],
    });
    // A term that cannot be read is said, not guessed; an element without a name is no database.
    expect(facts.unreadable).toEqual([{ field: 'databaseLicenseExpires', value: 'когда-нибудь', path: 'sysinfo/bases/base/license/@till' }]);
    // Database fields need the element; their paths lie inside it, written in full or relative to it.
    expect(sysinfoMappingSchema.safeParse({ fields: { databaseName: ['a/b/@name'] } }).error?.issues[0]?.message).toBe('needs databaseElement, the element that holds one database');
    expect(sysinfoMappingSchema.safeParse({ fields: { databaseName: ['@name'] } }).error?.issues[0]?.message).toBe('needs databaseElement, the element that holds one database');
    expect(sysinfoMappingSchema.safeParse({ databaseElement: 'a/b', fields: { databaseName: ['c/@'] } }).error?.issues[0]?.message).toBe('"c/@" "@" is not an attribute name');
    const relative = sysinfoMappingSchema.parse({
      databaseElement: 'sysinfo/bases/base',
      fields: { databaseName: ['@name'], databaseUpdate: ['sysinfo/bases/base/@update'], databaseLicenseExpires: ['license/@till'], databaseErrors: ['errors/error/@code'] },
    });
    expect(relative.fields).toMatchObject({
      databaseName: ['sysinfo/bases/base/@name'],
      databaseUpdate: ['sysinfo/bases/base/@update'],
      databaseLicenseExpires: ['sysinfo/bases/base/license/@till'],
      databaseErrors: ['sysinfo/bases/base/errors/error/@code'],
    });
    expect(factsFromSysinfo(relative, (await readSysinfo(file, 'xml', { matcher: new MappingMatcher(relative) })).found, 'Europe/Moscow').facts).toEqual({ databases: facts.facts.databases });
  });

  it('reads a large document in a stream: 200,000 elements, the values at the mapped paths only', async () => {
    const file = join(dir.path, 'large.xml');
    const rows = Array.from({ length: 200_000 }, (_, i) => `<file name="f${i}" date="2026-11-${String((i % 28) + 1).padStart(2, '0')}"/>`).join('');
    writeFileSync(file, `<sysinfo><operups>${rows}</operups></sysinfo>`);
    const read = await readSysinfo(file, 'xml', { matcher: new MappingMatcher(MAPPING) });
    expect(read.found.operapDate).toHaveLength(10_000);
    expect(factsFromSysinfo(MAPPING, read.found, 'Europe/Moscow').facts.operapDate).toBe('2026-11-28');
  });
});

describe('reading a sysinfo keeps memory bounded whatever the file holds', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());
  const mapping = sysinfoMappingSchema.parse({ fields: { updateNumber: ['sysinfo/update'], licenseLimit: ['sysinfo/users/@limit'] } });
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heapUsed = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };

  it('keeps the values it reads as copies: 40 documents whose mapped text and attribute hold a megabyte each leave a few megabytes, not 80', async () => {
    const file = join(dir.path, 'megabytes.zip');
    const document = (i: number) => `<sysinfo><update>${String(i).padEnd(1024 * 1024, 'x')}</update><users limit="${String(i).padEnd(1024 * 1024, 'y')}"/></sysinfo>`;
    writeFileSync(file, await zipOf(Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`d${i}.xml`, document(i)]))));
    const before = heapUsed();
    const read = await readSysinfo(file, 'zip', { matcher: new MappingMatcher(mapping) });
    const held = heapUsed() - before;
    expect(read.found.updateNumber).toHaveLength(40);
    expect(read.found.licenseLimit).toHaveLength(40);
    // What is kept of a value is its start, a thousand characters.
    expect(read.found.updateNumber![0]!.value).toHaveLength(1_000);
    expect(held).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a document past what the parser would have to gather whole, naming the limit: a text, a comment, an attribute value, attributes, a name', async () => {
    // Checked as the text goes to the parser, 64 KiB at a time: a run is refused within that much past the limit.
    const big = 'z'.repeat(READ_LIMITS.textRunChars + 100_000);
    const file = join(dir.path, 'runs.zip');
    writeFileSync(
      file,
      await zipOf({
        'text.xml': `<sysinfo><update>${big}</update></sysinfo>`,
        'comment.xml': `<sysinfo><!--${big}--></sysinfo>`,
        'cdata.xml': `<sysinfo><update><![CDATA[${big}]]></update></sysinfo>`,
        'attribute.xml': `<sysinfo><users limit="${big}"/></sysinfo>`,
        'attributes.xml': `<sysinfo><users ${Array.from({ length: 2 * READ_LIMITS.attributes }, (_, i) => `a${i}="1"`).join(' ')}/></sysinfo>`,
        'name.xml': `<sysinfo><${'n'.repeat(100_000)}/></sysinfo>`,
        'fine.xml': '<sysinfo><update>2251</update></sysinfo>',
      }),
    );
    const before = heapUsed();
    const read = await readSysinfo(file, 'zip', { matcher: new MappingMatcher(mapping) });
    expect(heapUsed() - before).toBeLessThan(16 * 1024 * 1024);
    expect(Object.fromEntries(read.documents.map((d) => [d.name, d.error ?? null]))).toEqual({
      'text.xml': 'a text, comment, CDATA section or attribute value longer than 4194304 characters',
      'comment.xml': 'a text, comment, CDATA section or attribute value longer than 4194304 characters',
      'cdata.xml': 'a text, comment, CDATA section or attribute value longer than 4194304 characters',
      'attribute.xml': 'a text, comment, CDATA section or attribute value longer than 4194304 characters',
      'attributes.xml': 'an element with more than 10000 attributes',
      'name.xml': 'a name longer than 1000 characters',
      'fine.xml': null,
    });
    expect(read.found.updateNumber).toEqual([{ path: 'sysinfo/update', value: '2251' }]);
    // The card says it in words.
    expect(describeReadingProblem('ru', { kind: 'document', name: 'text.xml', error: read.documents[0]!.error! })).toBe(
      'документ text.xml: в нём текст, имя или атрибуты больше, чем dozor читает',
    );
  });
});

/** curl as SMART's scripts run it. */
function curl(...args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args], (err, stdout) => (err && !stdout ? reject(err) : resolve(Number(stdout))));
  });
}

describe('a sysinfo upload, read by the mapping', () => {
  const clock = testClock('2026-11-30T04:00:00Z');
  let t: TestDb;
  let app: FastifyInstance | undefined;
  let dataDir = '';
  let token = '';
  let installationId = 0;
  const ctx = () => ({ db: t.db, clock, actor: 'test' });

  async function serve(mapping: SysinfoMapping): Promise<string> {
    app = buildHttpServer({
      db: t.db,
      clock,
      logger: silentLogger(),
      settings: DEFAULT_INCIDENT_SETTINGS,
      uploads: { dataDir, maxBytes: 1024 * 1024, sysinfo: useSysinfoMapping({ path: 'test', mapping }) },
    });
    return app.listen({ host: '127.0.0.1', port: 0 });
  }

  async function upload(url: string, xml = SYNTHETIC): Promise<void> {
    const file = join(t.dir, 'out', 'ROMASHKA.zip');
    mkdirSync(join(t.dir, 'out'), { recursive: true });
    writeFileSync(file, await zipOf({ 'sysinfo.xml': cp1251(xml) }));
    expect(await curl('-F', `file=@${file}`, `${url}/upload?token=${token}`)).toBe(200);
  }

  beforeEach(async () => {
    clock.set('2026-11-30T04:00:00Z');
    t = await testDb();
    dataDir = join(t.dir, 'data');
    const fleet = await seedFleet(ctx());
    token = fleet.token;
    installationId = fleet.installation.id;
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await t.close();
  });

  it('puts what the mapping reads into the state, and the card says when the sysinfo was made', async () => {
    await upload(await serve(MAPPING));
    expect(await getState(t.db, installationId)).toMatchObject({
      shellVersion: '6.4.5.127',
      updateNumber: 2251,
      operapDate: '2026-11-27',
      senselockState: 'ok',
      licenseLimit: 10,
      licensePeak: 7,
      lastReceivedAt: clock(),
      lastGeneratedAt: new Date('2026-11-30T03:55:00Z'),
    });
    const stored = (await findLatestSysinfo(t.db, installationId))!;
    expect(stored.takenAt).toEqual(new Date('2026-11-30T03:55:00Z'));
    expect(stored.reading!.problems).toEqual([{ kind: 'value', field: 'operapDate', value: 'вчера', path: 'sysinfo/operups/file/@date' }]);
    clock.advance(12 * 60_000);
    expect(renderClientStatus((await getClientStatus(t.db, 1, clock()))!, 'ru', 'Europe/Moscow', clock())).toContain(
      'Sysinfo: 12 минут назад (сегодня в 07:00, составлен сегодня в 06:55)\n⚠️ Sysinfo: прочитан не полностью: дата операпа: значение «вчера» не читается',
    );
  });

  it("judges an installation by its own agent's reports over a fleet upload's, and the card and the alert say what came from the fleet upload", async () => {
    const url = await serve(MAPPING);
    const { token: fleetToken } = await createUploadToken(ctx(), '0000 Дилер');
    await setUploadName(ctx(), installationId, 'ROMASHKA');
    // The installation's own agent reports every hour: the key works.
    expect((await postReport(url, '<report id="a1"><senselock state="ok"/></report>', { token })).status).toBe(202);
    // A file under the fleet token, which any client's server holds, says the key is lost.
    const lost = SYNTHETIC.replace('<key>Работает</key>', '<key>Потерян</key>');
    const send = async (xml: string) => {
      const file = join(t.dir, 'out', 'ROMASHKA.zip');
      mkdirSync(join(t.dir, 'out'), { recursive: true });
      writeFileSync(file, await zipOf({ 'sysinfo.xml': cp1251(xml) }));
      expect(await curl('-F', `file=@${file}`, `${url}/upload?token=${fleetToken}`)).toBe(200);
    };
    const agentAt = clock();
    clock.advance(10 * 60_000);
    await send(lost);
    const state = (await getState(t.db, installationId))!;
    // Not a sign of life either: the installation has an agent of its own to say so.
    expect(state).toMatchObject({ senselockState: 'ok', shellVersion: '6.4.5.127', lastReceivedAt: agentAt });
    expect(state.factSources).toMatchObject({ shellVersion: '0000 Дилер', updateNumber: '0000 Дилер' });
    expect(state.factSources!.senselockState).toBeUndefined();
    expect((await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId)).not.toContain('KodeksXmlSensLockStatus');
    const card = renderClientStatus((await getClientStatus(t.db, 1, clock()))!, 'ru', 'Europe/Moscow', clock());
    expect(card).toContain('📥 По файлу из общей загрузки («0000 Дилер»), не от агента установки: версия ПК, номер обновления, дата операпа, лимит лицензии, пик пользователей');

    // An agent silent for more than a day no longer speaks for it: the file's word goes, and the alert says whose word it is.
    clock.advance(25 * 3_600_000);
    await send(lost);
    expect((await getState(t.db, installationId))!.factSources).toMatchObject({ senselockState: '0000 Дилер' });
    const alert = (await listIncidentsWithNames(t.db, { includeResolved: false })).find((i) => i.ruleId === 'KodeksXmlSensLockStatus')!;
    expect((await getState(t.db, installationId))!.lastReceivedAt).toEqual(agentAt);
    expect(alert.details).toMatchObject({ senselockState: 'lost', fleetUpload: '0000 Дилер' });
    const [view] = await getIncidentViews(t.db, [alert.id]);
    expect(renderAlert(view!, { lang: 'ru', tz: 'Europe/Moscow', now: clock(), runbookUrl: () => null }).text).toContain('📥 По файлу из общей загрузки («0000 Дилер»), не от агента установки');
  });

  it('a sysinfo alone brings the databases: a licence ending in 5 days opens the week\'s alert, naming the database and the date', async () => {
    const mapping = sysinfoMappingSchema.parse({
      databaseElement: 'sysinfo/bases/base',
      fields: { databaseName: ['sysinfo/bases/base/@name'], databaseLicenseExpires: ['sysinfo/bases/base/@till'], databaseErrors: ['sysinfo/bases/base/error'] },
    });
    const xml = SYNTHETIC.replace('</sysinfo>', '<bases><base name="Законодательство" till="05.12.2026"><error>696</error></base></bases>\n</sysinfo>');
    await upload(await serve(mapping), xml);
    expect((await getState(t.db, installationId))!.databases).toEqual([{ name: 'Законодательство', licenseExpires: '2026-12-05', errors: [696] }]);
    const open = await listIncidentsWithNames(t.db, { includeResolved: false });
    expect(open.map((i) => [i.ruleId, i.details.database ?? null, i.details.expires ?? null]).sort()).toEqual([
      ['KodeksDBErrors', null, null],
      ['KodeksLicenseExpiring7day', 'Законодательство', '2026-12-05'],
    ]);
  });

  it('with the mapping as it ships, keeps and counts the file without opening it; a reparse with a completed mapping reads it then', async () => {
    const empty = sysinfoMappingSchema.parse({ fields: {} });
    await upload(await serve(empty));
    expect((await getState(t.db, installationId))!.shellVersion).toBeUndefined();
    expect((await findLatestSysinfo(t.db, installationId))!.reading).toBeNull();

    clock.advance(60 * 60_000);
    const done = await reparseSysinfo({ db: t.db, clock, actor: 'test', dataDir, sysinfo: useSysinfoMapping({ path: 'completed.json', mapping: MAPPING }) });
    expect(done).toEqual([{ installationId, uploadId: 1, reading: { fields: expect.objectContaining({ shellVersion: '6.4.5.127' }), problems: [expect.objectContaining({ kind: 'value', field: 'operapDate' })] } }]);
    const state = (await getState(t.db, installationId))!;
    expect(state).toMatchObject({ shellVersion: '6.4.5.127', operapDate: '2026-11-27' });
    // Read again, not received again.
    expect(state.lastReceivedAt).toEqual(new Date('2026-11-30T04:00:00Z'));
    expect((await t.db.select().from(auditLog).where(eq(auditLog.action, 'sysinfo.reparse')))[0]).toMatchObject({ subjectId: String(installationId), details: { upload: 1, mapping: 'completed.json' } });
  });

  it('dozor sysinfo inspect says what reparse puts into the state, the database fields too, with their paths relative to databaseElement', async () => {
    const xml = SYNTHETIC.replace(
      '</sysinfo>',
      '<bases><base name="Законодательство" update="2251"><license till="05.12.2026"/><error>696</error></base><base name="Охрана труда" update="2250"/></bases>\n</sysinfo>',
    );
    await upload(await serve(sysinfoMappingSchema.parse({ fields: {} })), xml);
    await app!.close();
    app = undefined;
    const file = join(t.dir, 'out', 'ROMASHKA.zip');
    const mappingFile = join(t.dir, 'bases.json');
    // As a person writes it from the README: the database fields inside databaseElement, relative to it.
    writeFileSync(
      mappingFile,
      JSON.stringify({
        databaseElement: 'sysinfo/bases/base',
        fields: { updateNumber: ['sysinfo/update'], databaseName: ['@name'], databaseUpdate: ['@update'], databaseLicenseExpires: ['license/@till'], databaseErrors: ['error'] },
      }),
    );
    const env = { DATA_DIR: dataDir };

    const inspected = dozorWithEnv(env, t.path, 'sysinfo', 'inspect', file, '--mapping', mappingFile);
    expect(inspected.stderr).toBe('');
    expect(inspected.stdout).toMatch(/^databaseName +Законодательство; Охрана труда +sysinfo\/bases\/base\/@name /m);
    expect(inspected.stdout).toMatch(/^databaseUpdate +Законодательство: 2251; Охрана труда: 2250 +sysinfo\/bases\/base\/@update /m);
    expect(inspected.stdout).toMatch(/^databaseLicenseExpires +Законодательство: 2026-12-05 +sysinfo\/bases\/base\/license\/@till /m);
    expect(inspected.stdout).toMatch(/^databaseErrors +Законодательство: 696 +sysinfo\/bases\/base\/error /m);
    expect(inspected.stdout).not.toContain('(not found)');
    const json = JSON.parse(dozorWithEnv(env, t.path, 'sysinfo', 'inspect', file, '--mapping', mappingFile, '--json').stdout) as { extracted: { field: string; value: string }[] };
    const inspectedFields = Object.fromEntries(json.extracted.map((e) => [e.field, e.value]));

    // reparse reads the same, and the state holds it.
    const reparsed = dozorWithEnv({ ...env, SYSINFO_MAPPING: mappingFile }, t.path, 'sysinfo', 'reparse', '--installation', String(installationId), '--json');
    expect(reparsed.stderr).toBe('');
    const [done] = (JSON.parse(reparsed.stdout) as { installations: { reading: { fields: Record<string, string> } }[] }).installations;
    expect(done!.reading.fields).toEqual(inspectedFields);
    expect((await getState(t.db, installationId))!.databases).toEqual([
      { name: 'Законодательство', updateNumber: 2251, licenseExpires: '2026-12-05', errors: [696] },
      { name: 'Охрана труда', updateNumber: 2250, errors: [] },
    ]);

    // A path that finds nothing says which full path was looked at.
    writeFileSync(mappingFile, JSON.stringify({ databaseElement: 'sysinfo/bases/base', fields: { databaseName: ['@name'], databaseLicenseExpires: ['@till'] } }));
    expect(dozorWithEnv(env, t.path, 'sysinfo', 'inspect', file, '--mapping', mappingFile).stdout).toMatch(/^databaseLicenseExpires +\(not found\) +sysinfo\/bases\/base\/@till /m);
    expect(dozorWithEnv(env, t.path, 'sysinfo', 'inspect', '--help').stdout).toContain('relative to databaseElement');
  });

  it('dozor sysinfo inspect prints the outline and what a mapping reads; reparse runs from the command line', async () => {
    await upload(await serve(sysinfoMappingSchema.parse({ fields: {} })));
    await app!.close();
    app = undefined;
    const file = join(t.dir, 'out', 'ROMASHKA.zip');
    const mappingFile = join(t.dir, 'mapping.json');
    writeFileSync(mappingFile, JSON.stringify(MAPPING));
    const env = { DATA_DIR: dataDir };

    const inspected = dozorWithEnv(env, t.path, 'sysinfo', 'inspect', file, '--mapping', mappingFile);
    expect(inspected.status).toBe(0);
    expect(inspected.stdout).toMatch(/^sysinfo\/product\/@version +1 +6\.4\.5\.127 \(x64\)$/m);
    expect(inspected.stdout).toMatch(/^shellVersion +6\.4\.5\.127 +sysinfo\/product\/@version /m);
    expect(inspected.stdout).toMatch(/^licensePeak +7 +sysinfo\/users\/@peak /m);
    const plain = dozorWithEnv(env, t.path, 'sysinfo', 'inspect', file);
    expect(plain.stdout).toMatch(/^shellVersion +\(no path in the mapping\)/m);

    const reparsed = dozorWithEnv({ ...env, SYSINFO_MAPPING: mappingFile }, t.path, 'sysinfo', 'reparse', '--installation', String(installationId), '--json');
    expect(reparsed.stderr).toBe('');
    expect(JSON.parse(reparsed.stdout)).toMatchObject({ mapping: mappingFile, installations: [{ installationId, reading: { fields: { updateNumber: '2251' } } }] });
    expect((await getState(t.db, installationId))!.updateNumber).toBe(2251);
  });
});
