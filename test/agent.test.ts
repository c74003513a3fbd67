import { execFile, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { chmodSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import type { InputFile } from 'grammy';
import { hashAgentToken } from '../core/agent-token.ts';
import { getInstallation } from '../db/installations.ts';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { getMetricsSnapshot } from '../db/metrics-snapshots.ts';
import { getState } from '../db/state.ts';
import { listUploadsOf } from '../db/uploads.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { runSweep } from '../jobs/sweep.ts';
import { loadAgentTemplate } from '../agent/render.ts';
import { issueAgent, type AgentOptions } from '../registry/agent.ts';
import { addUser } from '../registry/users.ts';
import { botHarness, buttonsOf } from './bot-helpers.ts';
import { DAY, seedFleet, silentLogger, testClock, testDb, zipOf, type TestDb } from './helpers.ts';

const METRICS = ['# TYPE kserver_main_page gauge', 'kserver_main_page{service="kodweb",path="/docs"} 1', ''].join('\n');

const sysinfoZip = () => zipOf({ 'sysinfo.xml': '<sysinfo><shell version="6.4.5.127"/></sysinfo>' });

/**
 * A Kodeks server as the agent sees it: the main page (which sets a session
 * cookie), the sysinfo archive on a POST with type=zip, and the metrics
 * behind Basic auth. Requests are recorded with the cookie they carried.
 */
async function fakeKodeks(zip: Buffer): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}${request.headers.cookie ? ` (${request.headers.cookie})` : ''}`);
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/') {
        response.setHeader('set-cookie', 'kodeks-session=s1; Path=/');
        return response.end('<html>Кодекс</html>');
      }
      if (request.url === '/sysinfo/si_save_request' && request.method === 'POST' && new URLSearchParams(body).get('type') === 'zip') {
        response.setHeader('content-type', 'application/zip');
        response.setHeader('content-disposition', 'attachment; filename="report_srv_20261130_0700.zip"');
        return response.end(zip);
      }
      if (request.url === '/sysmon/metrics') {
        if (request.headers.authorization !== `Basic ${Buffer.from('smartlogin:p\'a"ss\\word').toString('base64')}`) {
          response.statusCode = 401;
          return response.end();
        }
        response.setHeader('content-type', 'text/plain; version=0.0.4');
        return response.end(METRICS);
      }
      response.statusCode = 404;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests };
}

interface AgentRun {
  code: number;
  stdout: string;
}

describe('the Linux agent, run for real under bash', () => {
  // The agent dates its report with the machine's clock: the service's clock starts at the real time.
  const clock = testClock(new Date().toISOString());
  let t: TestDb;
  let app: FastifyInstance;
  let dozorPort = 0;
  let kodeks: Awaited<ReturnType<typeof fakeKodeks>>;
  let installationId = 0;
  let folder = '';
  let operapDir = '';
  let fakeBin = '';
  const ctx = () => ({ db: t.db, clock, actor: 'test' });
  const open = () => listIncidentsWithNames(t.db, { includeResolved: false }).map((i) => i.ruleId);
  const spool = () => readdirSync(join(folder, 'spool')).sort();

  async function startDozor(port = 0): Promise<void> {
    app = buildHttpServer({
      db: t.db,
      clock,
      logger: silentLogger(),
      settings: DEFAULT_INCIDENT_SETTINGS,
      uploads: { dataDir: join(t.dir, 'data'), maxBytes: 1024 * 1024 },
      failedAuthLimit: 50,
    });
    await app.listen({ host: '127.0.0.1', port });
    dozorPort = (app.server.address() as AddressInfo).port;
  }

  function writeAgent(options: AgentOptions = {}): string {
    const { agent } = issueAgent(ctx(), installationId, {
      os: 'linux',
      publicUrl: `http://127.0.0.1:${dozorPort}/`,
      options: { kodeksUrl: kodeks.url, operapDir, service: 'kodeks', ...options },
    });
    const path = join(folder, agent.fileName);
    writeFileSync(path, agent.script, { mode: 0o700 });
    return path;
  }

  /** The service manager as the agent asks it: `systemctl show -p <property> --value kodeks`. */
  function fakeService(active: string, user: string, load = 'loaded'): void {
    const systemctl = join(fakeBin, 'systemctl');
    writeFileSync(systemctl, `#!/usr/bin/env bash\ncase "$3" in ActiveState) echo ${active} ;; User) echo ${user} ;; LoadState) echo ${load} ;; esac\n`);
    chmodSync(systemctl, 0o755);
  }

  function runAgent(script: string): Promise<AgentRun> {
    return new Promise((resolve) => {
      execFile('bash', [script], { env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, TZ: 'Europe/Moscow' } }, (err, stdout) => {
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout });
      });
    });
  }

  beforeEach(async () => {
    clock.set(new Date().toISOString());
    t = testDb();
    installationId = seedFleet(ctx()).installation.id;
    folder = join(t.dir, 'agent');
    operapDir = join(t.dir, 'OperUp');
    fakeBin = join(t.dir, 'bin');
    for (const dir of [folder, operapDir, fakeBin]) mkdirSync(dir, { recursive: true });
    fakeService('active', 'kodeks');
    kodeks = await fakeKodeks(await sysinfoZip());
    await startDozor();
  });
  afterEach(async () => {
    await app.close();
    kodeks.server.close();
    t.close();
  });

  it('sends the sysinfo, the metrics and its own report; an operap folder four days old opens KodeksOperapStale', async () => {
    const operap = join(operapDir, 'op20261126.zip');
    writeFileSync(operap, 'operap');
    const fourDaysAgo = new Date(clock().getTime() - 4 * DAY);
    utimesSync(operap, fourDaysAgo, fourDaysAgo);
    const script = writeAgent({ metricsUser: 'smartlogin', metricsPassword: 'p\'a"ss\\word' });

    const run = await runAgent(script);
    expect(run.stdout).toMatch(/main page 200, sent 3, waiting 0\n$/);
    expect(run.code).toBe(0);
    expect(readFileSync(join(folder, 'dozor-agent.log'), 'utf8')).toBe(run.stdout);
    expect(spool()).toEqual([]);
    expect(kodeks.requests).toEqual(['GET /', 'POST /sysinfo/si_save_request (kodeks-session=s1)', 'GET /sysmon/metrics']);

    expect(listUploadsOf(t.db, installationId).map((u) => u.kind).sort()).toEqual(['status', 'zip']);
    expect(getMetricsSnapshot(t.db, installationId)?.samples).toContainEqual(expect.objectContaining({ name: 'kserver_main_page', value: 1 }));
    const state = getState(t.db, installationId)!;
    // The newest file's date as the server's clock reads it (the agent runs in Moscow time here).
    expect(state.operapDate).toBe(fourDaysAgo.toLocaleDateString('sv-SE', { timeZone: 'Europe/Moscow' }));
    expect(state.serviceState).toBe('running');
    expect(state.serviceAccount).toBe('user');

    runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
    expect(open()).toContain('KodeksOperapStale');
    expect(open()).not.toContain('KodeksXmlMissing');
  });

  it('reports a stopped service and storage that does not answer; both open at once', async () => {
    fakeService('inactive', '');
    const script = writeAgent({ storage: join(t.dir, 'nas-gone') });
    const run = await runAgent(script);
    expect(run.code).toBe(0);
    const state = getState(t.db, installationId)!;
    expect(state.serviceState).toBe('stopped');
    expect(state.serviceAccount).toBe('system');
    expect(state.storageReachable).toBe(false);
    expect(open()).toEqual(expect.arrayContaining(['KodeksServiceDown']));
  });

  it('catches seed story 3 on its first run: the service under the system account, the NAS out of reach, operaps aging', async () => {
    fakeService('active', '');
    const operap = join(operapDir, '2330nvd.ud6');
    writeFileSync(operap, 'operap');
    const fourDaysAgo = new Date(clock().getTime() - 4 * DAY);
    utimesSync(operap, fourDaysAgo, fourDaysAgo);
    const run = await runAgent(writeAgent({ storage: join(t.dir, 'nas', 'kodeks') }));
    expect(run.code).toBe(0);
    // At once, from the report: the storage, with the account that explains it.
    const storage = listIncidentsWithNames(t.db, { includeResolved: false }).find((i) => i.ruleId === 'KodeksStorageUnreachable');
    expect(storage?.details).toMatchObject({ serviceAccount: 'system', storagePath: join(t.dir, 'nas', 'kodeks') });
    // And at the next sweep, the operaps.
    runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
    expect(open()).toEqual(expect.arrayContaining(['KodeksStorageUnreachable', 'KodeksOperapStale']));
  });

  it('says so, and reports nothing about them, when the service name or the operap folder given does not exist', async () => {
    fakeService('inactive', '', 'not-found');
    const script = writeAgent({ operapDir: join(t.dir, 'no-such-folder') });
    const run = await runAgent(script);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/sent 2, waiting 0; problems: operap-dir-missing service-not-found\n$/);
    const state = getState(t.db, installationId)!;
    expect(state.serviceState).toBeUndefined();
    expect(state.operapDate).toBeUndefined();
    expect(open()).not.toContain('KodeksServiceDown');
  });

  it('keeps its files while dozor is away and sends them, oldest first, when it is back', async () => {
    const script = writeAgent();
    const port = dozorPort;
    await app.close();

    const away = await runAgent(script);
    expect(away.code).not.toBe(0);
    expect(away.stdout).toMatch(/sent 0, waiting 2; problems: dozor-unreachable-000/);
    const waiting = spool();
    expect(waiting).toHaveLength(2);
    expect(waiting[0]).toMatch(/^\d{23}-0-installation-\d+\.report$/);
    expect(waiting[1]).toMatch(/^\d{23}-1-installation-\d+\.zip$/);

    await startDozor(port);
    const back = await runAgent(script);
    expect(back.stdout).toMatch(/sent 4, waiting 0\n$/);
    expect(back.code).toBe(0);
    expect(listUploadsOf(t.db, installationId)).toHaveLength(2);
  });

  it('never lets the spool grow past its bound: the oldest go first', async () => {
    const script = writeAgent();
    await app.close();
    mkdirSync(join(folder, 'spool'), { recursive: true });
    for (let i = 0; i < 60; i++) writeFileSync(join(folder, 'spool', `2026010100000000000${String(i).padStart(4, '0')}-0-old.report`), '<report/>');
    const run = await runAgent(script);
    expect(run.stdout).toMatch(/waiting 48; problems/);
    const left = spool();
    expect(left).toHaveLength(48);
    // The run's own two files are among those kept; the oldest of the rest went.
    expect(left.filter((name) => name.endsWith('-old.report'))).toHaveLength(46);
    expect(left).not.toContain('20260101000000000000000-0-old.report');
  });

  it('tells dozor when the Kodeks server does not answer at all: the service counts as down', async () => {
    const script = writeAgent();
    await new Promise<void>((resolve) => kodeks.server.close(() => resolve()));
    const run = await runAgent(script);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/main page 000, sent 1, waiting 0; problems: kodeks-no-answer/);
    expect(getState(t.db, installationId)!.serviceState).toBe('stopped');
    expect(open()).toContain('KodeksServiceDown');
    expect(listUploadsOf(t.db, installationId)).toEqual([]);
  });

  it('a refused file is dropped with the reason in the log, so it cannot block the ones behind it', async () => {
    const script = writeAgent();
    mkdirSync(join(folder, 'spool'), { recursive: true });
    writeFileSync(join(folder, 'spool', '20260101000000000000000-0-bad.report'), '<report version="1" generated-at="not a date"/>');
    const run = await runAgent(script);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/sent 2, waiting 0; problems: refused-20260101000000000000000-0-bad.report-4\d\d:/);
    expect(spool()).toEqual([]);
  });
});

describe('agent scripts as written', () => {
  const hostile = `it's $(touch /tmp/pwned) \`id\` "q" \\ ‘typographic’ %`;
  const settings = {
    dozorUrl: 'https://dozor.example.ru/',
    token: 'dzr_TOKENTOKENTOKENTOKENTOKENTOKENTOKENTOKENTOK',
    installation: { id: 61, name: 'Сервер @@TOKEN@@', clientName: 'ООО «Ромашка»' },
    fileName: 'ROMASHKA',
    kodeksUrl: 'http://127.0.0.1:8080',
    metricsUser: 'smartlogin',
    metricsPassword: hostile,
    operapDir: 'C:\\Kodeks\\OperUp',
    service: 'Kodeks Server',
    storage: '\\\\nas\\kodeks',
    generatedAt: new Date('2026-11-30T07:00:00Z'),
  };

  it('Linux: every value reaches bash exactly as given, however it is quoted', () => {
    const { script } = loadAgentTemplate('linux')(settings);
    const assignments = script.slice(script.indexOf('DOZOR_URL='), script.indexOf('SPOOL_MAX='));
    const printed = spawnSync('bash', ['-c', `${assignments}\nprintf '%s\\n' "$DOZOR_URL" "$TOKEN" "$METRICS_PASSWORD" "$OPERAP_DIR" "$STORAGE" "$SERVICE"`], { encoding: 'utf8' });
    expect(printed.stdout).toBe(['https://dozor.example.ru', settings.token, hostile, settings.operapDir, settings.storage, settings.service, ''].join('\n'));
    expect(spawnSync('bash', ['-n', '-c', script]).status).toBe(0);
    // A placeholder inside a name is text, not a slot.
    expect(script).toContain('# dozor agent for «Сервер @@TOKEN@@» (ООО «Ромашка») (installation 61).');
  });

  it('Windows: PowerShell quoting, curl.exe calls with secrets on standard input, and the hourly task (it cannot run here)', () => {
    const { script, schedule } = loadAgentTemplate('windows')(settings);
    expect(script).not.toMatch(/[^\r]\n/);
    expect(script).toContain(`$MetricsPassword = 'it''s $(touch /tmp/pwned) \`id\` "q" \\ ‘‘typographic’’ %'\r\n`);
    expect(script).toContain(`$Storage = '\\\\nas\\kodeks'\r\n`);
    // The token is written once, and reaches curl.exe only through -K - (standard input).
    expect(script.split(settings.token)).toHaveLength(2);
    expect(script).toContain(`$Options = @(CurlOption 'header' "Authorization: Bearer $Token")`);
    expect(script).toContain(`& curl.exe -s -c $Jar -o NUL -w '%{http_code}' --max-time 20 "$KodeksUrl/"`);
    expect(script).toContain(`& curl.exe -s --max-time 600 -c $Jar -b $Jar -d 'type=zip' -o $Sysinfo -w '%{http_code}' "$KodeksUrl/sysinfo/si_save_request"`);
    expect(script).toContain(`(CurlOption 'user' "\${MetricsUser}:\${MetricsPassword}") | & curl.exe -K - -s --max-time 60 -D $Headers -o $Metrics -w '%{http_code}' "$KodeksUrl/sysmon/metrics"`);
    expect(script).toContain(`'-F', "file=@$($File.FullName);filename=$SentAs", "$DozorUrl/upload")`);
    expect(script).toContain(`'--data-binary', "@$($File.FullName)", "$DozorUrl/api/v1/reports")`);
    expect(script).toContain(`Get-CimInstance -ClassName Win32_Service -Filter "Name='$Wql' OR DisplayName='$Wql'"`);
    expect(schedule('C:\\dozor-agent\\')).toBe(
      'schtasks /Create /F /TN "dozor agent 61" /SC HOURLY /ST 00:01 /RU SYSTEM /RL HIGHEST /TR "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File \\"C:\\dozor-agent\\dozor-agent.ps1\\""',
    );
  });
});

describe('«⚙️ Агент» in the bot', () => {
  const clock = testClock('2026-11-30T07:00:00Z');
  let t: TestDb;
  let installationId = 0;
  const ctx = () => ({ db: t.db, clock, actor: 'test' });
  const anna = { id: 3001, first_name: 'Анна' };
  const ksenia = { id: 1001, first_name: 'Ксения' };

  beforeEach(() => {
    t = testDb();
    installationId = seedFleet(ctx(), { uploadName: 'ROMASHKA' }).installation.id;
    addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна' });
  });
  afterEach(() => t.close());

  it('gives an admin, in private, the script with the settings last used and a fresh token, and the schedule line', async () => {
    issueAgent(ctx(), installationId, { os: 'linux', publicUrl: 'https://dozor.example.ru', options: { operapDir: '/srv/kodeks/OperUp', service: 'kodeks' } });
    const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
    await h.say(anna, '/status Ромашка');
    expect(buttonsOf(h.lastSent()!)).toEqual([{ text: '⚙️ Агент · Сервер офиса', data: `ag:${installationId}` }]);
    await h.press(anna, `ag:${installationId}`, { chatId: 3001, messageId: 1000 });
    expect(h.lastSent()!.payload.text).toMatch(/^⚙️ Агент для «Сервер офиса»/);
    expect(buttonsOf(h.lastSent()!)).toEqual([
      { text: '🐧 Linux', data: `ag:${installationId}:linux` },
      { text: '🪟 Windows', data: `ag:${installationId}:windows` },
    ]);

    await h.press(anna, `ag:${installationId}:linux`, { chatId: 3001, messageId: 1001 });
    const sent = h.lastSent('sendDocument')!;
    const document = sent.payload.document as InputFile;
    expect(document.filename).toBe('dozor-agent.sh');
    const script = Buffer.from((await document.toRaw()) as Uint8Array).toString('utf8');
    expect(script).toContain("OPERAP_DIR='/srv/kodeks/OperUp'");
    expect(script).toContain("SERVICE='kodeks'");
    expect(script).toContain("NAME='ROMASHKA'");
    const token = /^TOKEN='(dzr_[^']+)'$/m.exec(script)![1]!;
    expect(hashAgentToken(token)).toBe(getInstallation(t.db, installationId)!.tokenHash);
    expect(sent.payload.caption).toContain(`${installationId} * * * * /opt/dozor-agent/dozor-agent.sh`);
    expect(h.calls.some((c) => c.method === 'editMessageReplyMarkup')).toBe(true);
  });

  it('offers it to nobody else: not to a manager, not in a group, not without PUBLIC_URL', async () => {
    const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
    await h.say(ksenia, '/status Ромашка');
    expect(h.lastSent()!.payload.reply_markup).toBeUndefined();
    const before = getInstallation(t.db, installationId)!.tokenHash;
    await h.press(ksenia, `ag:${installationId}:linux`, { chatId: 1001, messageId: 1000 });
    expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
    await h.press(anna, `ag:${installationId}:linux`, { chatId: -1001234567890, messageId: 1000 });
    expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
    expect(h.calls.filter((c) => c.method === 'sendDocument')).toEqual([]);
    expect(getInstallation(t.db, installationId)!.tokenHash).toBe(before);

    const without = botHarness(t.db, clock, {});
    await without.say(anna, '/status Ромашка');
    expect(without.lastSent()!.payload.reply_markup).toBeUndefined();
  });
});
