import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { insertUpload } from '../db/uploads.ts';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase } from '../db/open.ts';
import { postReport, SAMPLE_XML, startIntake, tempDir } from './helpers.ts';
import { dozor, dozorJson, dozorWithEnv } from './cli-helpers.ts';
import { onPostgres } from './pg-helpers.ts';
import { serviceDatabase, type ServiceDatabase } from './process-helpers.ts';

describe('dozor command line', () => {
  const dir = tempDir();
  let target: ServiceDatabase;
  let database = '';
  afterAll(async () => {
    await target.drop();
    dir.cleanup();
  });

  let token = '';
  let installationId = 0;

  beforeAll(async () => {
    target = await serviceDatabase(dir.path);
    database = target.target;
    expect(dozor(database, 'user', 'add', '--telegram-id', '2001', '--role', 'lead', '--name', 'Ирина Петрова').status).toBe(0);
    const manager = dozorJson(database, 'user', 'add', '--telegram-id', '1001', '--role', 'manager', '--name', 'Ксения Шабанова', '--lead', '2001');
    expect(manager).toMatchObject({ id: 1001, role: 'manager', leadId: 2001 });
    const client = dozorJson<{ id: number }>(database, 'client', 'add', '--name', 'ООО «Ромашка»', '--inn', '7701234567', '--manager', '1001', '--chat', '-1001234567890');
    expect(client).toMatchObject({ name: 'ООО «Ромашка»', chatId: -1001234567890 });
    const installation = dozorJson<{ id: number; token: string }>(
      database,
      'installation', 'add', '--client', 'ООО «Ромашка»', '--name', 'Сервер офиса', '--kind', 'network',
      '--host', 'romashka.example.ru', '--ip', '10.1.2.3', '--url', 'https://romashka.example.ru/', '--provider', 'Техэксперт.Облако',
    );
    expect(installation.token).toMatch(/^dzr_[A-Za-z0-9_-]{43}$/);
    token = installation.token;
    installationId = installation.id;
  });

  it('prints the agent token when adding an installation in text mode too', () => {
    const result = dozor(database, 'installation', 'add', '--client', '1', '--name', 'Локальная копия', '--kind', 'local');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Installation \d+ "Локальная копия" added/);
    expect(result.stdout).toMatch(/^dzr_[A-Za-z0-9_-]{43}$/m);
  });

  it('shows the latest state of each installation after a report', async () => {
    const db = await target.open();
    const intake = await startIntake(db, () => new Date('2023-02-15T06:15:00Z'));
    try {
      expect((await postReport(intake.url, SAMPLE_XML, { token })).status).toBe(202);
    } finally {
      await intake.close();
      await closeDatabase(db);
    }
    const text = dozor(database, 'client', 'show', 'ООО «Ромашка»');
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('shell 6.4.3.59');
    expect(text.stdout).toContain('update 2251');
    expect(text.stdout).toContain('operap 2023-02-14');

    const json = dozorJson<{ installations: { id: number; state: Record<string, unknown> | null }[] }>(database, 'client', 'show', '1');
    const shown = json.installations.find((i) => i.id === installationId)!;
    expect(shown.state).toMatchObject({ shellVersion: '6.4.3.59', updateNumber: 2251, operapDate: '2023-02-14' });
    expect(JSON.stringify(json)).not.toContain('tokenHash');
  });

  it('lists users, clients and installations as JSON', () => {
    expect(dozorJson<unknown[]>(database, 'user', 'list')).toHaveLength(2);
    expect(dozorJson<{ installationCount: number }[]>(database, 'client', 'list')[0]!.installationCount).toBeGreaterThanOrEqual(1);
    const installations = dozorJson<{ id: number; client: string }[]>(database, 'installation', 'list', '--client', '1');
    expect(installations.map((i) => i.client)).toContain('ООО «Ромашка»');
  });

  it('shows the upload name wherever it shows an installation: installation show, installation list, client show, in text and JSON', () => {
    const added = dozorJson<{ id: number; uploadName: string | null }>(database, 'installation', 'add', '--client', '1', '--name', 'Касса', '--kind', 'local', '--upload-name', 'KASSA');
    expect(added.uploadName).toBe('KASSA');
    expect(dozor(database, 'installation', 'show', String(added.id)).stdout.split('\n')[0]).toBe(`#${added.id} Касса [local]  upload name KASSA`);
    expect(dozorJson(database, 'installation', 'show', String(added.id))).toMatchObject({ id: added.id, uploadName: 'KASSA' });
    const listed = dozor(database, 'installation', 'list', '--client', '1').stdout.split('\n');
    expect(listed[0]).toMatch(/^ID +CLIENT +NAME +KIND +HOST +IP +PROVIDER +UPLOAD NAME +MONITORING$/);
    expect(listed.find((line) => line.includes('Касса'))).toMatch(new RegExp(`^${added.id} +ООО «Ромашка» +Касса +local +KASSA +on$`));
    expect(dozorJson<{ id: number; uploadName: string | null }[]>(database, 'installation', 'list').find((i) => i.id === added.id)).toMatchObject({ uploadName: 'KASSA' });
    expect(dozor(database, 'client', 'show', '1').stdout).toContain(`#${added.id} Касса [local]  upload name KASSA`);
    const client = dozorJson<{ installations: { id: number; uploadName: string | null }[] }>(database, 'client', 'show', '1');
    expect(client.installations.find((i) => i.id === added.id)).toMatchObject({ uploadName: 'KASSA' });
    expect(client.installations.find((i) => i.id === installationId)).toMatchObject({ uploadName: null });
  });

  it('rotates a token: a new one is printed and differs', () => {
    const rotated = dozorJson<{ id: number; token: string }>(database, 'installation', 'token-rotate', String(installationId));
    expect(rotated.id).toBe(installationId);
    expect(rotated.token).not.toBe(token);
  });

  it('disables and enables monitoring', () => {
    expect(dozorJson(database, 'installation', 'disable', String(installationId))).toEqual({ id: installationId, monitoringEnabled: false });
    expect(dozorJson(database, 'installation', 'show', String(installationId))).toMatchObject({ monitoringEnabled: false });
    expect(dozorJson(database, 'installation', 'enable', String(installationId))).toEqual({ id: installationId, monitoringEnabled: true });
  });

  // SQLite's own: the database file's folder cannot be made (PostgreSQL has no file of the CLI's to place).
  it.skipIf(onPostgres())('says in one sentence when the database cannot be opened, without a stack trace', () => {
    // A file where the database's folder should be.
    writeFileSync(join(dir.path, 'not-a-folder'), '');
    const result = dozor(join(dir.path, 'not-a-folder', 'dozor.sqlite'), 'user', 'list');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^dozor: cannot create the folder of the database .*not-a-folder.*(EEXIST|ENOTDIR)/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports errors on stderr with a non-zero exit and nothing on stdout', () => {
    const unknownLead = dozor(database, 'user', 'add', '--telegram-id', '1002', '--role', 'manager', '--name', 'X', '--lead', '9999', '--json');
    expect(unknownLead.status).not.toBe(0);
    expect(unknownLead.stdout).toBe('');
    expect(unknownLead.stderr).toMatch(/lead 9999 is not a registered user/);

    const badInn = dozor(database, 'client', 'add', '--name', 'ИП Иванов', '--inn', '123', '--json');
    expect(badInn.status).not.toBe(0);
    expect(badInn.stderr).toMatch(/inn: expected an INN of 10 or 12 digits/);

    const duplicate = dozor(database, 'client', 'add', '--name', 'ООО «Ромашка»');
    expect(duplicate.stderr).toMatch(/a client named "ООО «Ромашка»" already exists/);

    const badKind = dozor(database, 'installation', 'add', '--client', '1', '--name', 'X', '--kind', 'server');
    expect(badKind.status).not.toBe(0);
    expect(badKind.stderr).toMatch(/Allowed choices are network, local, cloud/);

    const noClient = dozor(database, 'client', 'show', 'ООО «Нет такого»');
    expect(noClient.status).not.toBe(0);
    expect(noClient.stderr).toMatch(/no client with id or name "ООО «Нет такого»"/);
  });

  it('makes fleet upload tokens, lists them without their secret, and gives an installation its upload name', async () => {
    const created = dozorJson<{ id: number; token: string }>(database, 'upload-token', 'create', '--label', '0000 Дилер');
    expect(created.token).toMatch(/^dzu_[A-Za-z0-9_-]{43}$/);
    const listed = dozorJson<Record<string, unknown>[]>(database, 'upload-token', 'list');
    expect(listed).toMatchObject([{ id: created.id, label: '0000 Дилер', revokedAt: null }]);
    expect(JSON.stringify(listed)).not.toContain(created.token);
    expect(JSON.stringify(listed)).not.toContain('tokenHash');
    expect(dozorJson(database, 'installation', 'set', String(installationId), '--upload-name', 'ROMASHKA')).toMatchObject({ id: installationId, uploadName: 'ROMASHKA', attached: 0 });
    const bad = dozor(database, 'installation', 'set', String(installationId), '--upload-name', 'Ромашка');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/is not an upload name/);
    expect(dozor(database, 'uploads', 'unmatched').stdout).toBe('No unmatched uploads.\n');
    const missing = dozorWithEnv(target.env, database, 'uploads', 'get', '999', '--out', join(dir.path, 'x.zip'));
    expect(missing.stderr).toBe('dozor: no upload with id "999"\n');
    // A kept file (as the service keeps it, beside the database, or in DATA_DIR on PostgreSQL) is copied out, never over an existing one.
    const dataDir = target.env.DATA_DIR ?? dir.path;
    mkdirSync(join(dataDir, 'uploads', String(installationId), 'xml'), { recursive: true });
    writeFileSync(join(dataDir, 'uploads', String(installationId), 'xml', 'kept.xml'), '<sysinfo/>');
    const db = await target.open();
    const upload = await insertUpload(db, { installationId, name: 'ROMASHKA', kind: 'xml', path: `uploads/${installationId}/xml/kept.xml`, size: 10, sha256: 'x', receivedAt: new Date() });
    await closeDatabase(db);
    const got = dozorWithEnv(target.env, database, 'uploads', 'get', String(upload.id), '--out', join(dir.path, 'out.xml'), '--json');
    expect(got.stderr).toBe('');
    expect(got.status).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: upload.id, size: 10 });
    expect(readFileSync(join(dir.path, 'out.xml'), 'utf8')).toBe('<sysinfo/>');
    expect(dozorWithEnv(target.env, database, 'uploads', 'get', String(upload.id), '--out', join(dir.path, 'out.xml')).stderr).toMatch(/^dozor: cannot write .*out\.xml: EEXIST/);
    expect(dozorJson(database, 'upload-token', 'revoke', String(created.id))).toMatchObject({ id: created.id });
  });

  it('writes a ready agent for an installation, keeping its token when given, else issuing a new one', () => {
    const added = dozorJson<{ id: number; token: string }>(database, 'installation', 'add', '--client', '1', '--name', 'Сервер склада', '--kind', 'network', '--upload-name', 'SKLAD');
    const out = join(dir.path, 'sklad-agent');
    const noAddress = dozor(database, 'installation', 'agent', String(added.id), '--os', 'linux', '--out', out);
    expect(noAddress.stderr).toBe('dozor: PUBLIC_URL is not set: agents need the address they reach dozor at (PUBLIC_URL=https://dozor.example.ru)\n');
    const env = { PUBLIC_URL: 'https://dozor.example.ru/' };

    const kept = dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'linux', '--out', out, '--token', added.token, '--json');
    expect(kept.status).toBe(0);
    const written = JSON.parse(kept.stdout) as { file: string; schedule: string; tokenRotated: boolean };
    expect(written).toMatchObject({ id: added.id, os: 'linux', file: join(out, 'dozor-agent.sh'), tokenRotated: false });
    // The schedule line names the folder on the Kodeks server, not the one it was written to here.
    expect(written.schedule).toBe(`(crontab -l 2>/dev/null | grep -vF /opt/dozor-agent/dozor-agent.sh; printf '%s\\n' '${added.id % 60} * * * * /opt/dozor-agent/dozor-agent.sh >/dev/null 2>&1') | crontab -`);
    // It holds the token: its owner's alone.
    expect(statSync(written.file).mode & 0o777).toBe(0o700);
    const script = readFileSync(written.file, 'utf8');
    expect(script).toContain(`TOKEN='${added.token}'`);
    expect(script).toContain("DOZOR_URL='https://dozor.example.ru'");
    expect(script).toContain("NAME='SKLAD'");
    expect(script).not.toContain('@@');

    const wrong = dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'linux', '--out', out, '--token', token);
    expect(wrong.stderr).toBe(`dozor: that is not the agent token of installation ${added.id}; leave --token out to issue a new one\n`);
    const invalid = dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'windows', '--out', out, '--proxy', 'proxy only', '--metrics-user', 'smartlogin');
    expect(invalid.stderr).toBe('dozor: invalid agent: proxy: expected a host and port such as proxy.example.ru:3128; metricsPassword: is required\n');

    const rotated = dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'windows', '--out', out, '--install-dir', 'D:\\Kodeks Agent');
    expect(rotated.status).toBe(0);
    expect(rotated.stdout).toContain('A new agent token is in it');
    expect(rotated.stdout).toContain(
      `schtasks /Create /F /TN "dozor agent ${added.id}" /SC HOURLY /ST 00:${String(added.id % 60).padStart(2, '0')} /RU SYSTEM /RL HIGHEST /TR "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File \\"D:\\Kodeks Agent\\dozor-agent.ps1\\""`,
    );
    const newToken = /^\$Token = '(dzr_[^']+)'\r$/m.exec(readFileSync(join(out, 'dozor-agent.ps1'), 'utf8'))?.[1];
    expect(newToken).toMatch(/^dzr_/);
    expect(newToken).not.toBe(added.token);
    // The old token is the installation's no more.
    expect(dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'linux', '--out', out, '--token', added.token).status).toBe(1);
    expect(dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'linux', '--out', out, '--token', newToken!).status).toBe(0);
  });

  it('says that writing a script replaces the old token, and writes the Linux and the Windows script with one token (--os both)', () => {
    const added = dozorJson<{ id: number; token: string }>(database, 'installation', 'add', '--client', '1', '--name', 'Сервер филиала', '--kind', 'local');
    const env = { PUBLIC_URL: 'https://dozor.example.ru' };
    const out = join(dir.path, 'filial-agent');
    const tokenIn = (file: string) => /^(?:TOKEN=|\$Token = )'(dzr_[^']+)'\r?$/m.exec(readFileSync(join(out, file), 'utf8'))![1]!;
    const works = (token: string) => dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'linux', '--out', join(dir.path, 'check'), '--token', token).status === 0;

    // The Linux script, then the Windows one: the second says in words that the first one's token is dead.
    expect(dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'linux', '--out', out).status).toBe(0);
    const linuxToken = tokenIn('dozor-agent.sh');
    const windows = dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'windows', '--out', out);
    expect(windows.stdout).toContain(
      'A new agent token is in it: the old token no longer works, so every agent of this installation written before (for Linux or Windows) is refused from now on until its script is replaced. To write the Linux and the Windows script with one token, use --os both.',
    );
    expect(works(linuxToken)).toBe(false);
    expect(works(tokenIn('dozor-agent.ps1'))).toBe(true);

    // Both at once: one token in the two files, which is the installation's.
    const both = dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'both', '--out', out);
    expect(both.stderr).toBe('');
    const lines = both.stdout.split('\n');
    expect(lines[0]).toBe(`Agents for installation ${added.id} "Сервер филиала" written to ${join(out, 'dozor-agent.sh')} and ${join(out, 'dozor-agent.ps1')}, with one token.`);
    expect(lines[1]).toBe('A new agent token is in them: the old token no longer works, so every agent of this installation written before (for Linux or Windows) is refused from now on until its script is replaced.');
    expect(lines).toContain('On the Kodeks server (Linux), as root, with the script in /opt/dozor-agent, run it once to see it work, then schedule it hourly:');
    expect(lines).toContain('Put dozor-agent.ps1 in C:\\dozor-agent on the Kodeks server (Windows), run it once in PowerShell to see it work, then schedule it hourly (in an administrator\'s command prompt):');
    expect(lines.some((line) => line.startsWith('(crontab -l'))).toBe(true);
    expect(lines.some((line) => line.startsWith('schtasks /Create'))).toBe(true);
    expect(tokenIn('dozor-agent.ps1')).toBe(tokenIn('dozor-agent.sh'));
    expect(works(tokenIn('dozor-agent.sh'))).toBe(true);

    // --json: each file with its schedule; kept with --token, both still share it.
    const kept = JSON.parse(dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'both', '--out', out, '--token', tokenIn('dozor-agent.sh'), '--json').stdout);
    expect(kept).toMatchObject({ id: added.id, os: 'both', tokenRotated: false, files: [{ os: 'linux', file: join(out, 'dozor-agent.sh') }, { os: 'windows', file: join(out, 'dozor-agent.ps1') }] });
    expect(kept.files[1].schedule).toContain('-File \\"C:\\dozor-agent\\dozor-agent.ps1\\"');
    // One --install-dir cannot be a Linux and a Windows folder at once.
    const folder = dozorWithEnv(env, database, 'installation', 'agent', String(added.id), '--os', 'both', '--out', out, '--install-dir', '/opt/dozor-agent');
    expect(folder.status).not.toBe(0);
    expect(folder.stderr).toContain("--install-dir names one system's folder");
  });

  it('imports a CSV file, with a dry run first', () => {
    const csv = join(dir.path, 'fleet.csv');
    writeFileSync(
      csv,
      [
        'client;inn;manager;installation;kind;host;ip;provider',
        'АО «Вектор»;7801234567;1001;Облако;cloud;vector.cloud.example;192.0.2.10;Техэксперт.Облако',
        'АО «Вектор»;7801234567;1001;Бухгалтерия;local;;;',
      ].join('\n'),
    );
    const dry = dozorJson<{ dryRun: boolean; installations: { token?: string }[] }>(database, 'import', csv, '--dry-run');
    expect(dry.dryRun).toBe(true);
    expect(dry.installations).toHaveLength(2);
    expect(dry.installations[0]!.token).toBeUndefined();
    expect(dozorJson<{ name: string }[]>(database, 'client', 'list').map((c) => c.name)).not.toContain('АО «Вектор»');

    const real = dozorJson<{ clientsCreated: unknown[]; installations: { token: string }[] }>(database, 'import', csv);
    expect(real.clientsCreated).toHaveLength(1);
    expect(real.installations.every((i) => /^dzr_/.test(i.token))).toBe(true);
  });

  it('refuses a CSV file with a bad row, importing nothing, and names the line', () => {
    const csv = join(dir.path, 'bad.csv');
    writeFileSync(csv, ['client,installation,kind,ip', 'ООО «Север»,Сервер,network,10.0.0.1', 'ООО «Север»,Второй,network,999.1.1.1'].join('\n'));
    const result = dozor(database, 'import', csv);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/line 3: invalid installation: ip: expected an IPv4 or IPv6 address/);
    expect(dozorJson<{ name: string }[]>(database, 'client', 'list').map((c) => c.name)).not.toContain('ООО «Север»');
  });
});
