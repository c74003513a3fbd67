import { execFile, spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import type { InputFile } from 'grammy';
import { hashAgentToken } from '../core/agent-token.ts';
import { getInstallation, updateInstallation } from '../db/installations.ts';
import { parseConfig } from '../app/config.ts';
import { addInstallation } from '../registry/installations.ts';
import { dozor, dozorWithEnv } from './cli-helpers.ts';
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
async function fakeKodeks(zip: Buffer, port = 0): Promise<{ url: string; server: Server; requests: string[] }> {
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
      if (request.url === '/sysinfo/si_save_request' && zip.length === 0) {
        // A server whose sysinfo fails (busy building it, say) while its pages answer.
        response.statusCode = 503;
        return response.end();
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
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
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
  const open = async () => (await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => i.ruleId);
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

  async function writeAgent(options: AgentOptions = {}): Promise<string> {
    const {
      agents: [agent],
    } = await issueAgent(ctx(), installationId, {
      os: 'linux',
      publicUrl: `http://127.0.0.1:${dozorPort}/`,
      options: { kodeksUrl: kodeks.url, operapDir, service: 'kodeks', ...options },
    });
    const path = join(folder, agent!.fileName);
    writeFileSync(path, agent!.bytes, { mode: 0o700 });
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
    t = await testDb();
    installationId = (await seedFleet(ctx())).installation.id;
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
    await t.close();
  });

  it('sends the sysinfo, the metrics and its own report; an operap folder four days old opens KodeksOperapStale', async () => {
    const operap = join(operapDir, 'op20261126.zip');
    writeFileSync(operap, 'operap');
    const fourDaysAgo = new Date(clock().getTime() - 4 * DAY);
    utimesSync(operap, fourDaysAgo, fourDaysAgo);
    const script = await writeAgent({ metricsUser: 'smartlogin', metricsPassword: 'p\'a"ss\\word' });

    const run = await runAgent(script);
    expect(run.stdout).toMatch(/main page 200, sent 3, waiting 0\n$/);
    expect(run.code).toBe(0);
    expect(readFileSync(join(folder, 'dozor-agent.log'), 'utf8')).toBe(run.stdout);
    expect(spool()).toEqual([]);
    expect(kodeks.requests).toEqual(['GET /', 'POST /sysinfo/si_save_request (kodeks-session=s1)', 'GET /sysmon/metrics']);

    expect((await listUploadsOf(t.db, installationId)).map((u) => u.kind).sort()).toEqual(['status', 'zip']);
    expect((await getMetricsSnapshot(t.db, installationId))?.samples).toContainEqual(expect.objectContaining({ name: 'kserver_main_page', value: 1 }));
    const state = (await getState(t.db, installationId))!;
    // The newest file's date as the server's clock reads it (the agent runs in Moscow time here).
    expect(state.operapDate).toBe(fourDaysAgo.toLocaleDateString('sv-SE', { timeZone: 'Europe/Moscow' }));
    expect(state.serviceState).toBe('running');
    expect(state.serviceAccount).toBe('user');

    await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
    expect(await open()).toContain('KodeksOperapStale');
    expect(await open()).not.toContain('KodeksXmlMissing');
  });

  it('reports a stopped service (its main page gives no answer) and storage that does not answer; both open at once', async () => {
    fakeService('inactive', '');
    const script = await writeAgent({ storage: join(t.dir, 'nas-gone') });
    await new Promise<void>((resolve) => kodeks.server.close(() => resolve()));
    const run = await runAgent(script);
    expect(run.code).not.toBe(0);
    const state = (await getState(t.db, installationId))!;
    expect(state.serviceState).toBe('stopped');
    expect(state.serviceAccount).toBe('system');
    expect(state.storageReachable).toBe(false);
    expect(await open()).toEqual(expect.arrayContaining(['KodeksServiceDown']));
  });

  it('catches seed story 3 on its first run: the service under the system account, the NAS out of reach, operaps aging', async () => {
    fakeService('active', '');
    const operap = join(operapDir, '2330nvd.ud6');
    writeFileSync(operap, 'operap');
    const fourDaysAgo = new Date(clock().getTime() - 4 * DAY);
    utimesSync(operap, fourDaysAgo, fourDaysAgo);
    const run = await runAgent(await writeAgent({ storage: join(t.dir, 'nas', 'kodeks') }));
    expect(run.code).toBe(0);
    // At once, from the report: the storage, with the account that explains it.
    const storage = (await listIncidentsWithNames(t.db, { includeResolved: false })).find((i) => i.ruleId === 'KodeksStorageUnreachable');
    expect(storage?.details).toMatchObject({ serviceAccount: 'system', storagePath: join(t.dir, 'nas', 'kodeks') });
    // And at the next sweep, the operaps.
    await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
    expect(await open()).toEqual(expect.arrayContaining(['KodeksStorageUnreachable', 'KodeksOperapStale']));
  });

  it('says so, and reports nothing about them, when the service name or the operap folder given does not exist', async () => {
    fakeService('inactive', '', 'not-found');
    const script = await writeAgent({ operapDir: join(t.dir, 'no-such-folder') });
    const run = await runAgent(script);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/sent 2, waiting 0; problems: operap-dir-missing service-not-found\n$/);
    const state = (await getState(t.db, installationId))!;
    // Whether the service works is still said, by its main page; its account, which only the service manager knows, is not.
    expect(state.serviceState).toBe('running');
    expect(state.serviceAccount).toBeUndefined();
    expect(state.operapDate).toBeUndefined();
    expect(await open()).not.toContain('KodeksServiceDown');
  });

  it('leaves the account out, and says why, when systemd cannot be asked (a container without it): no guess', async () => {
    const systemctl = join(fakeBin, 'systemctl');
    writeFileSync(systemctl, '#!/usr/bin/env bash\necho "System has not been booted with systemd as init system (PID 1). Can\'t operate." >&2\nexit 1\n');
    chmodSync(systemctl, 0o755);
    const run = await runAgent(await writeAgent());
    expect(run.stdout).toMatch(/problems: service-manager-unreachable\n$/);
    const state = (await getState(t.db, installationId))!;
    expect(state.serviceState).toBe('running');
    expect(state.serviceAccount).toBeUndefined();
  });

  it('runs one at a time: a run that finds the previous one still going stops at once and says so', async () => {
    const script = await writeAgent();
    // The previous run, on a slow line, still holds the lock.
    const holder = spawn('flock', [join(folder, '.dozor-agent.lock'), 'sh', '-c', 'echo locked; sleep 30']);
    try {
      await new Promise((resolve) => holder.stdout.once('data', resolve));
      const run = await runAgent(script);
      expect(run.code).not.toBe(0);
      expect(run.stdout).toMatch(/the previous run is still going; this one stops\n$/);
      expect(await listUploadsOf(t.db, installationId)).toEqual([]);
    } finally {
      holder.kill();
    }
  });

  it('closes «служба остановлена» with the first run after the server answers again, with or without --service', async () => {
    for (const service of ['kodeks', undefined]) {
      const script = await writeAgent(service ? {} : { service: undefined });
      // The Kodeks server is down: no answer at all.
      const port = Number(new URL(kodeks.url).port);
      await new Promise<void>((resolve) => kodeks.server.close(() => resolve()));
      await runAgent(script);
      expect(await open()).toContain('KodeksServiceDown');
      // It answers again, on the same address (its sysinfo not yet): the agent's own report says the service works,
      // and the alert closes.
      kodeks.server.close();
      kodeks = await fakeKodeks(Buffer.alloc(0), port);
      const back = await runAgent(script);
      expect(back.stdout).toMatch(/main page 200/);
      expect((await getState(t.db, installationId))!.serviceState).toBe('running');
      expect(await open()).not.toContain('KodeksServiceDown');
      await new Promise<void>((resolve) => kodeks.server.close(() => resolve()));
      kodeks = await fakeKodeks(await sysinfoZip(), port);
    }
  });

  it('keeps its files while dozor is away and sends them, oldest first, when it is back', async () => {
    const script = await writeAgent();
    const port = dozorPort;
    await app.close();

    const away = await runAgent(script);
    expect(away.code).not.toBe(0);
    expect(away.stdout).toMatch(/sent 0, waiting 2; problems: dozor-unreachable\n/);
    const waiting = spool();
    expect(waiting).toHaveLength(2);
    expect(waiting[0]).toMatch(/^\d{23}-0-installation-\d+\.report$/);
    expect(waiting[1]).toMatch(/^\d{23}-1-installation-\d+\.zip$/);

    await startDozor(port);
    const back = await runAgent(script);
    expect(back.stdout).toMatch(/sent 4, waiting 0\n$/);
    expect(back.code).toBe(0);
    expect(await listUploadsOf(t.db, installationId)).toHaveLength(2);
  });

  it('keeps the files of 48 runs while dozor is away (two days of hourly runs), dropping the oldest runs whole, readable by no one else', async () => {
    const script = await writeAgent();
    await app.close();
    mkdirSync(join(folder, 'spool'), { recursive: true });
    // Sixty earlier runs that each left a report, a sysinfo and metrics behind.
    for (let i = 0; i < 60; i++) {
      const stamp = `2026010100000000000${String(i).padStart(4, '0')}`;
      for (const [n, ext] of [[0, 'report'], [1, 'zip'], [2, 'status']] as const) writeFileSync(join(folder, 'spool', `${stamp}-${n}-old.${ext}`), '<report/>');
    }
    const run = await runAgent(script);
    // This run's report and sysinfo, and 47 whole earlier runs.
    expect(run.stdout).toMatch(/waiting 143; problems/);
    const left = spool();
    const runs = new Set(left.map((name) => name.split('-')[0]));
    expect(runs.size).toBe(48);
    for (const stamp of runs) expect(left.filter((name) => name.startsWith(`${stamp}-`)).length).toBeGreaterThanOrEqual(2);
    expect(left.filter((name) => name.endsWith('-old.report'))).toHaveLength(47);
    expect(left).not.toContain('20260101000000000000012-1-old.zip');
    expect(left).toContain('20260101000000000000013-1-old.zip');
    // What this run wrote is for its user alone, in a folder no one else can list.
    const own = left.filter((name) => !name.includes('-old.'));
    expect(own).toHaveLength(2);
    for (const name of own) expect(statSync(join(folder, 'spool', name)).mode & 0o777).toBe(0o600);
    expect(statSync(join(folder, 'spool')).mode & 0o777).toBe(0o700);
  });

  it('tells dozor when the Kodeks server does not answer at all: the service counts as down', async () => {
    const script = await writeAgent();
    await new Promise<void>((resolve) => kodeks.server.close(() => resolve()));
    const run = await runAgent(script);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toMatch(/main page 000, sent 1, waiting 0; problems: kodeks-no-answer/);
    expect((await getState(t.db, installationId))!.serviceState).toBe('stopped');
    expect(await open()).toContain('KodeksServiceDown');
    expect(await listUploadsOf(t.db, installationId)).toEqual([]);
  });

  it('keeps a file dozor could not take yet (408 from a slow line, 429, 5xx) for the next run, sending the reports meanwhile; drops only what dozor refuses for good', async () => {
    const script = await writeAgent();
    const port = dozorPort;
    await app.close();
    // dozor as a slow line, a rate limit or a failing disk make it answer uploads; reports are taken.
    let uploadStatus = 408;
    const seen: string[] = [];
    const stub = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const upload = request.url!.startsWith('/upload');
        seen.push(`${upload ? 'upload' : 'report'} ${upload ? uploadStatus : 202}`);
        response.statusCode = upload ? uploadStatus : 202;
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify(upload && uploadStatus !== 200 ? { error: `refused with ${uploadStatus}` } : { ok: true }));
      });
    });
    await new Promise<void>((resolve) => stub.listen(port, '127.0.0.1', resolve));
    try {
      for (const status of [408, 429, 500, 503, 507]) {
        uploadStatus = status;
        const run = await runAgent(script);
        expect(run.code).not.toBe(0);
        expect(run.stdout).toMatch(new RegExp(`problems: upload-later-\\d{23}-1-installation-\\d+\\.zip-${status}\\n$`));
        // The zips wait (one per run so far), the reports went.
        expect(spool().filter((f) => f.endsWith('.report'))).toEqual([]);
        expect(spool().filter((f) => f.endsWith('.zip')).length).toBeGreaterThan(0);
      }
      // Waiting uploads hold back the later ones (one attempt per run), never the reports.
      expect(seen.filter((s) => s.startsWith('upload')).length).toBe(5);
      uploadStatus = 200;
      const back = await runAgent(script);
      expect(back.code).toBe(0);
      expect(back.stdout).toMatch(/sent 7, waiting 0\n$/);
      // Refused for good: dropped with the reason, so it cannot block the files behind it.
      for (const status of [400, 401, 403, 413, 415]) {
        uploadStatus = status;
        const run = await runAgent(script);
        expect(run.stdout).toMatch(new RegExp(`sent 1, waiting 0; problems: refused-\\d{23}-1-installation-\\d+\\.zip-${status}:`));
        expect(spool()).toEqual([]);
      }
    } finally {
      await new Promise<void>((resolve) => stub.close(() => resolve()));
      await startDozor();
    }
  });

  it('a refused file is dropped with the reason in the log, so it cannot block the ones behind it', async () => {
    const script = await writeAgent();
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
    // Dropped only when refused for good; a slow line's 408, a 429 or a 5xx waits for the next run, holding back later uploads only.
    expect(script).toContain(`elseif ($Status -match '^(400|401|403|413|415)$') {\r\n`);
    expect(script).toContain('$Problems += "refused-$($File.Name)-$Status`:$($Why.Substring(0, [Math]::Min(200, $Why.Length)))"');
    // One run at a time, per installation.
    expect(script).toContain(`$Running = New-Object System.Threading.Mutex($false, 'Global\\dozor-agent-61')`);
    expect(script).toContain(`elseif ($IsReport) { $Problems += "dozor-busy-$Status"; break }`);
    expect(script).toContain(`else { $Problems += "upload-later-$($File.Name)-$Status"; $UploadsWait = $true }`);
    expect(script).toContain(`if ($UploadsWait) { continue }`);
    expect(script).not.toMatch(/\$Status -match '\^4'/);
    expect(schedule('C:\\dozor-agent\\')).toBe(
      'schtasks /Create /F /TN "dozor agent 61" /SC HOURLY /ST 00:01 /RU SYSTEM /RL HIGHEST /TR "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File \\"C:\\dozor-agent\\dozor-agent.ps1\\""',
    );
  });
});

describe('the Windows script\'s bytes at every door: a BOM, so Windows PowerShell 5.1 reads a Cyrillic path as written', () => {
  const clock = testClock('2026-11-30T07:00:00Z');
  let t: TestDb;
  let installationId = 0;
  const ctx = () => ({ db: t.db, clock, actor: 'test' });
  const anna = { id: 3001, first_name: 'Анна' };
  const OPERAP = 'D:\\Кодекс\\OperUp';
  const BOM = [0xef, 0xbb, 0xbf];
  const head = (bytes: Uint8Array) => [...bytes.subarray(0, 3)];

  /**
   * What the scheduled task's powershell.exe (5.1) reads: with a BOM, UTF-8;
   * without one, the ANSI code page, windows-1251 on a Russian Windows.
   */
  function readByPowerShell51(bytes: Uint8Array): string {
    const marked = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    return new TextDecoder(marked ? 'utf-8' : 'windows-1251').decode(bytes);
  }

  /** The Windows file is right: a BOM, the Cyrillic path intact as 5.1 reads it; the same bytes without the BOM are not. */
  function expectReadable(bytes: Uint8Array): void {
    expect(head(bytes)).toEqual(BOM);
    expect(readByPowerShell51(bytes)).toContain(`$OperapDir = '${OPERAP}'\r\n`);
    const unmarked = readByPowerShell51(bytes.subarray(3));
    expect(unmarked).toContain("$OperapDir = 'D:\\РљРѕРґРµРєСЃ\\OperUp'\r\n");
    expect(unmarked).not.toContain(OPERAP);
  }

  /** The Linux file has no BOM, at its start or anywhere. */
  function expectNoBom(bytes: Uint8Array): void {
    expect(Buffer.from(bytes).indexOf(Buffer.from(BOM))).toBe(-1);
    expect(new TextDecoder().decode(bytes).startsWith('#!/')).toBe(true);
  }

  beforeEach(async () => {
    t = await testDb();
    installationId = (await seedFleet(ctx(), { uploadName: 'ROMASHKA' })).installation.id;
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна' });
    await updateInstallation(t.db, installationId, { agentOptions: { kodeksUrl: 'http://127.0.0.1:80', operapDir: OPERAP, service: 'Kodeks' } });
  });
  afterEach(() => t.close());

  it('the writer: the .ps1 starts with EF BB BF and nothing else does; the script text itself carries no mark', () => {
    const settings = {
      dozorUrl: 'https://dozor.example.ru/',
      token: 'dzr_TOKENTOKENTOKENTOKENTOKENTOKENTOKENTOKENTOK',
      installation: { id: 61, name: 'Сервер', clientName: 'ООО «Ромашка»' },
      fileName: 'ROMASHKA',
      kodeksUrl: 'http://127.0.0.1:8080',
      operapDir: OPERAP,
      generatedAt: new Date('2026-11-30T07:00:00Z'),
    };
    const windows = loadAgentTemplate('windows')(settings);
    expectReadable(windows.bytes);
    expect(windows.bytes.subarray(3).toString('utf8')).toBe(windows.script);
    expect(windows.script.includes('\uFEFF')).toBe(false);
    const linux = loadAgentTemplate('linux')(settings);
    expectNoBom(linux.bytes);
    expect(linux.bytes.toString('utf8')).toBe(linux.script);
  });

  it('the command line writes the file with the BOM (both scripts with --os both, the bash one without)', () => {
    const out = join(t.dir, 'out');
    const env = { PUBLIC_URL: 'https://dozor.example.ru' };
    const run = dozorWithEnv(env, t.path, 'installation', 'agent', String(installationId), '--os', 'windows', '--operap-dir', OPERAP, '--out', out);
    expect(run.stderr).toBe('');
    expectReadable(readFileSync(join(out, 'dozor-agent.ps1')));
    const both = dozorWithEnv(env, t.path, 'installation', 'agent', String(installationId), '--os', 'both', '--operap-dir', OPERAP, '--out', join(t.dir, 'both'));
    expect(both.stderr).toBe('');
    expectReadable(readFileSync(join(t.dir, 'both', 'dozor-agent.ps1')));
    expectNoBom(readFileSync(join(t.dir, 'both', 'dozor-agent.sh')));
  });

  it('the bot sends the document with the BOM', async () => {
    const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
    await h.press(anna, `ag:${installationId}:windows`, { chatId: 3001, messageId: 1001 });
    const windows = h.lastSent('sendDocument')!.payload.document as InputFile;
    expect(windows.filename).toBe('dozor-agent.ps1');
    expectReadable((await windows.toRaw()) as Uint8Array);
    await h.press(anna, `ag:${installationId}:linux`, { chatId: 3001, messageId: 1002 });
    expectNoBom((await (h.lastSent('sendDocument')!.payload.document as InputFile).toRaw()) as Uint8Array);
  });

  it('the cabinet\'s download has the BOM, and the page says before it that the old token stops working', async () => {
    const app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, web: { publicUrl: 'https://dozor.example.ru', displayTz: 'Europe/Moscow', morningHour: 9 } });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
      await h.say(anna, '/web');
      const link = /https:\/\/dozor\.example\.ru(\/web\/login\?token=[A-Za-z0-9_-]+)/.exec(String(h.lastSent()!.payload.text))![1]!;
      const cookie = (await fetch(`${url}${link}`, { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0]!;
      const page = await (await fetch(`${url}/web/installations/${installationId}`, { headers: { cookie } })).text();
      // Before the button: the new script's token replaces the old one, whichever system's script holds it.
      expect(page).toContain('Новый скрипт выдаётся с новым токеном: старый токен сразу перестаёт работать — агент этой установки, который уже работает на сервере (для Linux или Windows), перестанет приниматься');
      const csrf = new RegExp(`action="/web/installations/${installationId}/agent" class="filters">\\s*<input type="hidden" name="csrf" value="([^"]+)">`).exec(page)![1]!;
      const download = (os: string) =>
        fetch(`${url}/web/installations/${installationId}/agent`, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: `csrf=${encodeURIComponent(csrf)}&os=${os}`,
        });
      const windows = await download('windows');
      expect(windows.status).toBe(200);
      expect(windows.headers.get('content-disposition')).toBe('attachment; filename="dozor-agent.ps1"');
      expectReadable(new Uint8Array(await windows.arrayBuffer()));
      expectNoBom(new Uint8Array(await (await download('linux')).arrayBuffer()));
    } finally {
      await app.close();
    }
  });
});

describe('«⚙️ Агент» in the bot', () => {
  const clock = testClock('2026-11-30T07:00:00Z');
  let t: TestDb;
  let installationId = 0;
  const ctx = () => ({ db: t.db, clock, actor: 'test' });
  const anna = { id: 3001, first_name: 'Анна' };
  const ksenia = { id: 1001, first_name: 'Ксения' };

  beforeEach(async () => {
    t = await testDb();
    installationId = (await seedFleet(ctx(), { uploadName: 'ROMASHKA' })).installation.id;
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна' });
  });
  afterEach(() => t.close());

  it('gives an admin, in private, the script with the settings last used and a fresh token, and the schedule line', async () => {
    await issueAgent(ctx(), installationId, { os: 'linux', publicUrl: 'https://dozor.example.ru', options: { operapDir: '/srv/kodeks/OperUp', service: 'kodeks' } });
    const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
    await h.say(anna, '/status Ромашка');
    expect(buttonsOf(h.lastSent()!)).toEqual([{ text: '⚙️ Агент · Сервер офиса', data: `ag:${installationId}` }]);
    await h.press(anna, `ag:${installationId}`, { chatId: 3001, messageId: 1000 });
    expect(h.lastSent()!.payload.text).toMatch(/^⚙️ Агент для «Сервер офиса»/);
    expect(buttonsOf(h.lastSent()!)).toEqual([
      { text: '🐧 Linux', data: `ag:${installationId}:linux` },
      { text: '🪟 Windows', data: `ag:${installationId}:windows` },
      { text: '🐧+🪟 Обе', data: `ag:${installationId}:both` },
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
    expect(hashAgentToken(token)).toBe((await getInstallation(t.db, installationId))!.tokenHash);
    expect(sent.payload.caption).toContain(`${installationId} * * * * /opt/dozor-agent/dozor-agent.sh`);
    expect(h.calls.some((c) => c.method === 'editMessageReplyMarkup')).toBe(true);
  });

  it('says in each caption that the old token no longer works, and «Обе» sends both scripts with one token', async () => {
    const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
    await h.press(anna, `ag:${installationId}:linux`, { chatId: 3001, messageId: 1001 });
    const linux = h.lastSent('sendDocument')!;
    expect(linux.payload.caption).toContain(
      'В скрипте новый токен: старый токен больше не работает — агент этой установки, записанный раньше (для Linux или Windows), не будет приниматься, пока его скрипт не заменят.',
    );
    const firstToken = (await getInstallation(t.db, installationId))!.tokenHash;

    await h.press(anna, `ag:${installationId}:both`, { chatId: 3001, messageId: 1002 });
    const [sh, ps1] = h.calls.filter((c) => c.method === 'sendDocument').slice(1);
    const files = await Promise.all([sh!, ps1!].map(async (call) => {
      const document = call.payload.document as InputFile;
      return { name: document.filename, text: Buffer.from((await document.toRaw()) as Uint8Array).toString('utf8'), caption: String(call.payload.caption) };
    }));
    expect(files.map((f) => f.name)).toEqual(['dozor-agent.sh', 'dozor-agent.ps1']);
    const shToken = /^TOKEN='(dzr_[^']+)'$/m.exec(files[0]!.text)![1]!;
    const ps1Token = /^\$Token = '(dzr_[^']+)'\r$/m.exec(files[1]!.text)![1]!;
    expect(ps1Token).toBe(shToken);
    expect(hashAgentToken(shToken)).toBe((await getInstallation(t.db, installationId))!.tokenHash);
    expect((await getInstallation(t.db, installationId))!.tokenHash).not.toBe(firstToken);
    expect(files[0]!.caption).toContain(`${installationId} * * * * /opt/dozor-agent/dozor-agent.sh`);
    expect(files[1]!.caption).toContain('schtasks /Create');
    for (const { caption } of files) expect(caption).toContain('В обоих скриптах один новый токен: старый токен больше не работает');
  });

  it('offers it to nobody else: not to a manager, not in a group, not without PUBLIC_URL', async () => {
    const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
    await h.say(ksenia, '/status Ромашка');
    expect(h.lastSent()!.payload.reply_markup).toBeUndefined();
    const before = (await getInstallation(t.db, installationId))!.tokenHash;
    await h.press(ksenia, `ag:${installationId}:linux`, { chatId: 1001, messageId: 1000 });
    expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
    await h.press(anna, `ag:${installationId}:linux`, { chatId: -1001234567890, messageId: 1000 });
    expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });
    expect(h.calls.filter((c) => c.method === 'sendDocument')).toEqual([]);
    expect((await getInstallation(t.db, installationId))!.tokenHash).toBe(before);

    const without = botHarness(t.db, clock, {});
    await without.say(anna, '/status Ромашка');
    expect(without.lastSent()!.payload.reply_markup).toBeUndefined();
  });
});

describe('addresses that go into a script or onto curl\'s command line', () => {
  const clock = testClock('2026-11-30T07:00:00Z');
  let t: TestDb;
  let installationId = 0;
  const ctx = () => ({ db: t.db, clock, actor: 'test' });
  const anna = { id: 3001, first_name: 'Анна' };
  /** The issue's own: Windows PowerShell 5.1 passes the quotes on to curl.exe, which then writes a file of the sender's choosing. */
  const QUOTED = 'http://h/a" --output C:\\x.ps1 "';
  const HOSTILE = [
    QUOTED,
    "http://h/a' -o x",
    'http://h/a b',
    'http://h/$(touch /tmp/pwned)',
    'http://h/`id`',
    'http://h/%22',
    'http://h/a;rm',
    'http://h\\a',
    'http://h/\u202ea',
    'http://h/\u201ca\u201d',
    'http://h/a\tb',
    'http://h/a{1,2}',
    'http://h/a[1-3]',
  ];

  beforeEach(async () => {
    t = await testDb();
    installationId = (await seedFleet(ctx())).installation.id;
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна' });
  });
  afterEach(() => t.close());

  it('refuses quotes, whitespace, backticks, $, %, ; and the like in an installation\'s URL, naming the field; real addresses pass', async () => {
    const add = (url: string, name = `Проверка ${Math.random()}`) => addInstallation(ctx(), { client: '1', name, kind: 'cloud', url });
    for (const url of HOSTILE) await expect(add(url), url).rejects.toThrow(/^invalid installation: url: expected an http:\/\/ or https:\/\/ address without quotes, spaces/);
    await expect(add('http://smart:secret@h/')).rejects.toThrow('invalid installation: url: must not carry a user name or password');
    await expect(add('ftp://h/')).rejects.toThrow('invalid installation: url: expected an http:// or https:// address');
    await expect(add('javascript:alert(1)')).rejects.toThrow(/invalid installation: url/);
    for (const url of ['https://romashka.example.ru/', 'http://10.1.2.3:8080/docs', 'http://[fe80::1]:8080/', 'https://кодекс.рф/', 'http://h/?a=1&b=2']) expect((await add(url)).installation.url, url).toBe(url);
  });

  it('refuses them at every door: the command line, the bot\'s dialogue, the agent options, and the script writer itself', async () => {
    // The command line: installation add --url, installation agent --kodeks and --proxy.
    const added = dozor(t.path, 'installation', 'add', '--client', '1', '--name', 'Резерв', '--kind', 'cloud', '--url', QUOTED);
    expect(added.status).not.toBe(0);
    expect(added.stderr).toContain('url: expected an http:// or https:// address without quotes');
    const env = { PUBLIC_URL: 'https://dozor.example.ru' };
    const out = join(t.dir, 'out');
    const kodeks = dozorWithEnv(env, t.path, 'installation', 'agent', String(installationId), '--os', 'windows', '--kodeks', QUOTED, '--out', out);
    expect(kodeks.status).not.toBe(0);
    expect(kodeks.stderr).toContain('kodeksUrl: expected an http:// or https:// address without quotes');
    const proxy = dozorWithEnv(env, t.path, 'installation', 'agent', String(installationId), '--os', 'windows', '--proxy', 'proxy:3128" -o C:\\x.ps1 "', '--out', out);
    expect(proxy.status).not.toBe(0);
    expect(proxy.stderr).toContain('proxy: expected a host and port such as proxy.example.ru:3128');
    expect(dozorWithEnv(env, t.path, 'installation', 'agent', String(installationId), '--os', 'linux', '--proxy', 'smart:secret@proxy:3128', '--out', out).stderr).toContain(
      'proxy: must not carry a user name or password',
    );
    expect(existsSync(out)).toBe(false);

    // The agent options as the registry takes them (the bot and the cabinet come this way).
    const issue = (options: AgentOptions) => issueAgent(ctx(), installationId, { os: 'windows', publicUrl: 'https://dozor.example.ru', options });
    for (const url of HOSTILE) await expect(issue({ kodeksUrl: url }), url).rejects.toThrow(/invalid agent: kodeksUrl: expected an http:\/\/ or https:\/\/ address without quotes/);
    await expect(issue({ proxy: 'proxy:3128;rm' })).rejects.toThrow('invalid agent: proxy: expected a host and port such as proxy.example.ru:3128');
    expect((await issue({ kodeksUrl: 'http://127.0.0.1:8080', proxy: 'http://proxy.example.ru:3128' })).agents[0]!.script).toContain("$KodeksUrl = 'http://127.0.0.1:8080'");

    // The bot's dialogue: the answer says which field and why, and asks again.
    const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
    const said = () => h.calls.filter((c) => c.method === 'sendMessage').map((c) => String(c.payload.text));
    await h.say(anna, '/addinstallation');
    await h.say(anna, 'ООО «Ромашка»');
    await h.say(anna, 'Резерв');
    await h.press(anna, 'kind:cloud', { chatId: 3001, messageId: 1 });
    await h.say(anna, '-');
    await h.say(anna, '-');
    await h.say(anna, QUOTED);
    expect(said().at(-1)).toMatch(/^Не подходит: Установка: веб-адрес — нужен адрес http:\/\/ или https:\/\/ без кавычек, пробелов, обратных косых черт и знаков ` \$ % ;/);

    // Settings stored before this check: the script is not written from them, and the admin is told why.
    await updateInstallation(t.db, installationId, { agentOptions: { kodeksUrl: QUOTED } });
    const before = (await getInstallation(t.db, installationId))!.tokenHash;
    await h.press(anna, `ag:${installationId}:windows`, { chatId: 3001, messageId: 1000 });
    expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true, text: expect.stringContaining('адрес сервера Кодекс — нужен адрес http:// или https:// без кавычек') });
    expect(h.calls.filter((c) => c.method === 'sendDocument')).toEqual([]);
    expect((await getInstallation(t.db, installationId))!.tokenHash).toBe(before);

    // The writer itself refuses, whoever calls it, naming the setting.
    const settings = {
      dozorUrl: 'https://dozor.example.ru/',
      token: 'dzr_TOKENTOKENTOKENTOKENTOKENTOKENTOKENTOKENTOK',
      installation: { id: 61, name: 'Сервер', clientName: 'ООО «Ромашка»' },
      fileName: 'ROMASHKA',
      kodeksUrl: 'http://127.0.0.1:8080',
      generatedAt: new Date('2026-11-30T07:00:00Z'),
    };
    for (const os of ['linux', 'windows'] as const) {
      const write = loadAgentTemplate(os);
      expect(() => write({ ...settings, kodeksUrl: QUOTED })).toThrow('invalid agent: kodeksUrl: expected an http:// or https:// address without quotes');
      expect(() => write({ ...settings, proxy: 'p:3128" -o x "' })).toThrow('invalid agent: proxy: expected a host and port such as proxy.example.ru:3128');
      expect(() => write({ ...settings, dozorUrl: 'https://dozor.example.ru/"x' })).toThrow('invalid agent: dozorUrl: expected an http:// or https:// address without quotes');
      expect(write(settings).script).toContain('http://127.0.0.1:8080');
    }
    expect(() => parseConfig({ PUBLIC_URL: 'https://dozor.example.ru/" -o x "' })).toThrow(/PUBLIC_URL: expected an address without quotes/);
  });
});
