import { count } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashAgentToken } from '../core/agent-token.ts';
import { auditLog, clients, installations } from '../db/schema.ts';
import { listInstallations } from '../db/installations.ts';
import { ImportError, importCsv } from '../registry/import-csv.ts';
import { addUser } from '../registry/users.ts';
import { testClock, testDb, type TestDb } from './helpers.ts';

describe('CSV import', () => {
  const clock = testClock('2023-02-15T06:00:00Z');
  let t: TestDb;
  const ctx = () => ({ db: t.db, clock, actor: 'test' });
  const counts = async () => ({
    clients: (await t.db.select({ n: count() }).from(clients))[0]!.n,
    installations: (await t.db.select({ n: count() }).from(installations))[0]!.n,
  });

  beforeEach(async () => {
    t = await testDb();
    await addUser(ctx(), { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова' });
  });
  afterEach(() => t.close());

  const good = [
    '\uFEFFClient,INN,Manager,Chat,Installation,Kind,Host,IP,URL,Provider,TZ',
    'ООО «Ромашка»,7701234567,1001,-1001234567890,Сервер офиса,network,romashka.example.ru,10.1.2.3,https://romashka.example.ru/,,',
    'ООО «Ромашка»,7701234567,1001,-1001234567890,Облако,cloud,romashka.cloud.example,192.0.2.1,,Техэксперт.Облако,',
    '"ИП Сидоров, бухгалтерия",770123456789,1001,,Локальная,local,,,,,Asia/Yekaterinburg',
  ].join('\r\n');

  it('imports clients and installations, each with its own working token', async () => {
    const result = await importCsv(ctx(), good, { dryRun: false });
    expect(result.clientsCreated.map((c) => c.name)).toEqual(['ООО «Ромашка»', 'ИП Сидоров, бухгалтерия']);
    expect(result.installations).toHaveLength(3);
    expect(await counts()).toEqual({ clients: 2, installations: 3 });
    const stored = await listInstallations(t.db);
    for (const imported of result.installations) {
      const row = stored.find((i) => i.id === imported.installationId)!;
      expect(row.tokenHash).toBe(hashAgentToken(imported.token!));
    }
    expect(stored.find((i) => i.name === 'Локальная')!.tz).toBe('Asia/Yekaterinburg');
    expect((await t.db.select().from(auditLog)).map((a) => a.action)).toContain('import.csv');
  });

  it('takes upload names, refusing one given twice or held already', async () => {
    const csv = ['client,installation,kind,upload_name', 'ООО «Ромашка»,Сервер,network,ROMASHKA', 'ООО «Ромашка»,Облако,cloud,romashka', 'ООО «Ромашка»,Склад,local,bad name'].join('\n');
    let error: ImportError | undefined;
    try {
      await importCsv(ctx(), csv, { dryRun: false });
    } catch (err) {
      error = err as ImportError;
    }
    expect(error!.problems).toEqual([
      { line: 3, message: 'the upload name romashka is given on line 2 already' },
      { line: 4, message: expect.stringMatching(/uploadName: expected Latin letters/) },
    ]);
    await importCsv(ctx(), 'client,installation,kind,upload_name\nООО «Ромашка»,Сервер,network,ROMASHKA', { dryRun: false });
    expect((await listInstallations(t.db))[0]!.uploadName).toBe('ROMASHKA');
    await expect(importCsv(ctx(), 'client,installation,kind,upload_name\nООО «Вектор»,Сервер,network,Romashka', { dryRun: false })).rejects.toThrowError(
      /the upload name Romashka belongs to installation 1 "Сервер" already/,
    );
  });

  it('reads semicolon-separated files', async () => {
    const csv = 'client;installation;kind\nООО «Ромашка»;Сервер;network\n';
    expect((await importCsv(ctx(), csv, { dryRun: false })).installations).toHaveLength(1);
  });

  it('writes nothing in a dry run but reports the plan', async () => {
    const result = await importCsv(ctx(), good, { dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.installations).toHaveLength(3);
    expect(result.installations.every((i) => i.token === undefined)).toBe(true);
    expect(await counts()).toEqual({ clients: 0, installations: 0 });
  });

  it('refuses the whole file when one row is bad, naming every bad line', async () => {
    const csv = [
      'client,inn,manager,installation,kind,ip',
      'ООО «Ромашка»,7701234567,1001,Сервер,network,10.1.2.3',
      'ООО «Вектор»,,4242,Сервер,network,',
      'ООО «Ромашка»,7701234567,1001,Сервер,network,',
      'ООО «Север»,12345,,Сервер,mainframe,',
    ].join('\n');
    let error: ImportError | undefined;
    try {
      await importCsv(ctx(), csv, { dryRun: false });
    } catch (err) {
      error = err as ImportError;
    }
    expect(error).toBeInstanceOf(ImportError);
    expect(error!.problems.map((p) => p.line)).toEqual([3, 4, 5]);
    expect(error!.message).toMatch(/line 3: manager 4242 is not a registered user/);
    expect(error!.message).toMatch(/line 4: client "ООО «Ромашка»" already has an installation named "Сервер"/);
    expect(error!.message).toMatch(/line 5: invalid client: inn: expected an INN of 10 or 12 digits/);
    expect(await counts()).toEqual({ clients: 0, installations: 0 });
  });

  it('refuses a row whose client details contradict an existing client', async () => {
    await importCsv(ctx(), 'client,inn,installation,kind\nООО «Ромашка»,7701234567,Сервер,network', { dryRun: false });
    await expect(
      importCsv(ctx(), 'client,inn,installation,kind\nООО «Ромашка»,7707654321,Второй,network', { dryRun: false }),
    ).rejects.toThrowError(/matches existing client 1, but its INN is 7701234567/);
  });

  it('names unknown and missing columns', async () => {
    await expect(importCsv(ctx(), 'client,installation,kind,hots\nА,Б,local,x', { dryRun: false })).rejects.toThrowError(
      /unknown column\(s\) hots; the columns are: client, inn, manager/,
    );
    await expect(importCsv(ctx(), 'client,installation\nА,Б', { dryRun: false })).rejects.toThrowError(/required column\(s\) missing: kind/);
    await expect(importCsv(ctx(), 'client,installation,kind\n', { dryRun: false })).rejects.toThrowError(/no rows/);
    await expect(importCsv(ctx(), 'client,installation,kind\nА,Б,local,extra', { dryRun: false })).rejects.toThrowError(
      /cannot read the CSV file/,
    );
  });

  describe('the file as spreadsheets write it', () => {
    const rows = ['client;installation;kind', 'ООО «Ромашка»;Сервер офиса;network', 'ИП Сидоров №2;Локальная — бухгалтерия;local', ''].join('\r\n');

    it('reads windows-1251, what Russian Excel saves as CSV, with every name intact', async () => {
      const bytes = Buffer.from(new Uint8Array([...rows].map((char) => WINDOWS_1251.get(char) ?? char.charCodeAt(0))));
      expect(bytes.includes(0xd0)).toBe(true); // "Р" in windows-1251, not UTF-8's lead byte pair
      const result = await importCsv(ctx(), bytes, { dryRun: false });
      expect(result.encoding).toBe('windows-1251');
      expect((await listInstallations(t.db)).map((i) => `${i.clientName} / ${i.name}`).sort()).toEqual(['ИП Сидоров №2 / Локальная — бухгалтерия', 'ООО «Ромашка» / Сервер офиса']);
    });

    it('reads UTF-8 with and without a BOM, and UTF-16 with one (tab-separated "Unicode text")', async () => {
      expect((await importCsv(ctx(), Buffer.from(rows, 'utf8'), { dryRun: true })).encoding).toBe('utf-8');
      expect((await importCsv(ctx(), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rows, 'utf8')]), { dryRun: true })).installations[0]!.client).toBe('ООО «Ромашка»');
      const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(rows.replaceAll(';', '\t'), 'utf16le')]);
      const result = await importCsv(ctx(), utf16, { dryRun: true });
      expect(result.encoding).toBe('utf-16le');
      expect(result.installations.map((i) => i.installation)).toEqual(['Сервер офиса', 'Локальная — бухгалтерия']);
    });

    it('refuses what it cannot read for sure instead of storing broken names', async () => {
      // DOS (cp866) "Сервер": neither UTF-8 nor Russian text when read as windows-1251.
      const cp866 = Buffer.concat([Buffer.from('client,installation,kind\r\nA,'), Buffer.from([0x91, 0xa5, 0xe0, 0xa2, 0xa5, 0xe0]), Buffer.from(',local\r\n')]);
      await expect(importCsv(ctx(), cp866, { dryRun: false })).rejects.toThrowError(/neither UTF-8 nor windows-1251/);
      const workbook = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]);
      await expect(importCsv(ctx(), workbook, { dryRun: false })).rejects.toThrowError(/Excel workbook, not CSV/);
      await expect(importCsv(ctx(), Buffer.from('client,installation,kind\nA,\u0001B,local\n'), { dryRun: false })).rejects.toThrowError(/neither UTF-8/);
      expect(await counts()).toEqual({ clients: 0, installations: 0 });
    });

    it('refuses a header that names a column twice', async () => {
      await expect(importCsv(ctx(), 'client,installation,kind,Host,host\nА,Б,network,a.example,b.example', { dryRun: false })).rejects.toThrowError(
        /column\(s\) named twice in the header: host/,
      );
    });
  });

  it('imports 10,000 installations of one client at a cost that grows with the rows, not their square', async () => {
    const csv = ['client,installation,kind,host', ...Array.from({ length: 10_000 }, (_, i) => `ООО «Ромашка»,Сервер ${i},network,s${i}.example.ru`)].join('\n');
    const result = await importCsv(ctx(), csv, { dryRun: false });
    expect(result.installations).toHaveLength(10_000);
    expect(new Set(result.installations.map((i) => i.token)).size).toBe(10_000);
    const stored = await listInstallations(t.db);
    expect(stored.find((i) => i.name === 'Сервер 9999')!.tokenHash).toBe(hashAgentToken(result.installations[9999]!.token!));
    // A second file naming one of them again is refused whole.
    await expect(importCsv(ctx(), 'client,installation,kind\nООО «Ромашка»,Новый,local\nООО «Ромашка»,Сервер 5000,local', { dryRun: false })).rejects.toThrowError(
      /line 3: client "ООО «Ромашка»" already has an installation named "Сервер 5000"/,
    );
    expect((await counts()).installations).toBe(10_000);
  });
});

/** The windows-1251 bytes of the characters the tests write (the rest are ASCII). */
const WINDOWS_1251 = new Map<string, number>([
  ...[...'АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдежзийклмнопрстуфхцчшщъыьэюя'].map((char, i) => [char, 0xc0 + i] as const),
  ['Ё', 0xa8],
  ['ё', 0xb8],
  ['«', 0xab],
  ['»', 0xbb],
  ['№', 0xb9],
  ['—', 0x97],
]);

