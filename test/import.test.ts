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
  const counts = () => ({
    clients: t.db.select({ n: count() }).from(clients).get()!.n,
    installations: t.db.select({ n: count() }).from(installations).get()!.n,
  });

  beforeEach(() => {
    t = testDb();
    addUser(ctx(), { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова' });
  });
  afterEach(() => t.close());

  const good = [
    '\uFEFFClient,INN,Manager,Chat,Installation,Kind,Host,IP,URL,Provider,TZ',
    'ООО «Ромашка»,7701234567,1001,-1001234567890,Сервер офиса,network,romashka.example.ru,10.1.2.3,https://romashka.example.ru/,,',
    'ООО «Ромашка»,7701234567,1001,-1001234567890,Облако,cloud,romashka.cloud.example,192.0.2.1,,Техэксперт.Облако,',
    '"ИП Сидоров, бухгалтерия",770123456789,1001,,Локальная,local,,,,,Asia/Yekaterinburg',
  ].join('\r\n');

  it('imports clients and installations, each with its own working token', () => {
    const result = importCsv(ctx(), good, { dryRun: false });
    expect(result.clientsCreated.map((c) => c.name)).toEqual(['ООО «Ромашка»', 'ИП Сидоров, бухгалтерия']);
    expect(result.installations).toHaveLength(3);
    expect(counts()).toEqual({ clients: 2, installations: 3 });
    const stored = listInstallations(t.db);
    for (const imported of result.installations) {
      const row = stored.find((i) => i.id === imported.installationId)!;
      expect(row.tokenHash).toBe(hashAgentToken(imported.token!));
    }
    expect(stored.find((i) => i.name === 'Локальная')!.tz).toBe('Asia/Yekaterinburg');
    expect(t.db.select().from(auditLog).all().map((a) => a.action)).toContain('import.csv');
  });

  it('reads semicolon-separated files', () => {
    const csv = 'client;installation;kind\nООО «Ромашка»;Сервер;network\n';
    expect(importCsv(ctx(), csv, { dryRun: false }).installations).toHaveLength(1);
  });

  it('writes nothing in a dry run but reports the plan', () => {
    const result = importCsv(ctx(), good, { dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.installations).toHaveLength(3);
    expect(result.installations.every((i) => i.token === undefined)).toBe(true);
    expect(counts()).toEqual({ clients: 0, installations: 0 });
  });

  it('refuses the whole file when one row is bad, naming every bad line', () => {
    const csv = [
      'client,inn,manager,installation,kind,ip',
      'ООО «Ромашка»,7701234567,1001,Сервер,network,10.1.2.3',
      'ООО «Вектор»,,4242,Сервер,network,',
      'ООО «Ромашка»,7701234567,1001,Сервер,network,',
      'ООО «Север»,12345,,Сервер,mainframe,',
    ].join('\n');
    let error: ImportError | undefined;
    try {
      importCsv(ctx(), csv, { dryRun: false });
    } catch (err) {
      error = err as ImportError;
    }
    expect(error).toBeInstanceOf(ImportError);
    expect(error!.problems.map((p) => p.line)).toEqual([3, 4, 5]);
    expect(error!.message).toMatch(/line 3: manager 4242 is not a registered user/);
    expect(error!.message).toMatch(/line 4: client "ООО «Ромашка»" already has an installation named "Сервер"/);
    expect(error!.message).toMatch(/line 5: invalid client: inn: expected an INN of 10 or 12 digits/);
    expect(counts()).toEqual({ clients: 0, installations: 0 });
  });

  it('refuses a row whose client details contradict an existing client', () => {
    importCsv(ctx(), 'client,inn,installation,kind\nООО «Ромашка»,7701234567,Сервер,network', { dryRun: false });
    expect(() =>
      importCsv(ctx(), 'client,inn,installation,kind\nООО «Ромашка»,7707654321,Второй,network', { dryRun: false }),
    ).toThrowError(/matches existing client 1, but its INN is 7701234567/);
  });

  it('names unknown and missing columns', () => {
    expect(() => importCsv(ctx(), 'client,installation,kind,hots\nА,Б,local,x', { dryRun: false })).toThrowError(
      /unknown column\(s\) hots; the columns are: client, inn, manager/,
    );
    expect(() => importCsv(ctx(), 'client,installation\nА,Б', { dryRun: false })).toThrowError(/required column\(s\) missing: kind/);
    expect(() => importCsv(ctx(), 'client,installation,kind\n', { dryRun: false })).toThrowError(/no rows/);
    expect(() => importCsv(ctx(), 'client,installation,kind\nА,Б,local,extra', { dryRun: false })).toThrowError(
      /cannot read the CSV file/,
    );
  });
});
