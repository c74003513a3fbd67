import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getInstallation, updateInstallation } from '../db/installations.ts';
import { getMetricsSnapshot } from '../db/metrics-snapshots.ts';
import { pullMetrics, type MetricsPullDeps } from '../intake/pull-metrics.ts';
import { addInstallation } from '../registry/installations.ts';
import { metricsAccountOf, setMetricsAccount } from '../registry/metrics-account.ts';
import { seedFleet, testClock, testDb, type TestDb } from './helpers.ts';
import { onPostgres } from './pg-helpers.ts';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { ingestReport } from '../intake/ingest.ts';
import { parseReport } from '../intake/parse-report.ts';
import { runSweep } from '../jobs/sweep.ts';
import { isIP } from 'node:net';
import { pullAddressPolicy } from '../core/pull-address.ts';
import { parseSubnetList } from '../core/subnets.ts';
import { describeMetricsError } from '../i18n/network.ts';
import { parseConfig } from '../app/config.ts';

const SECRET_KEY = 'k'.repeat(40);
const PASSWORD = 'пароль: "smart" \\ 1';
const MINUTE = 60_000;
/** Names the tests resolve, as DNS would answer them. */
const NAMES: Record<string, string[]> = {
  'slow.test': ['127.0.0.1'],
  'moved.test': ['127.0.0.1'],
  'kodeks.test': ['127.0.0.1'],
  'metadata.test': ['169.254.169.254'],
  'split.test': ['10.1.2.3', 'fe80::1'],
};

describe('metrics pulled from installations dozor can reach', () => {
  const clock = testClock('2026-11-30T07:00:00Z');
  let t: TestDb;
  let server: Server;
  let url = '';
  let requests: (string | undefined)[] = [];
  let paths: string[] = [];
  let metricsBody = '';
  let installationId = 0;
  let logged: string[] = [];
  const ctx = () => ({ db: t.db, clock, actor: 'test' });
  const deps = (overrides: Partial<MetricsPullDeps> = {}): MetricsPullDeps => ({
    db: t.db,
    clock,
    logger: pino({ level: 'debug' }, { write: (line: string) => void logged.push(line) }),
    secretKey: SECRET_KEY,
    everyMs: 15 * MINUTE,
    timeoutMs: 2_000,
    concurrency: 4,
    // The stand-in server listens on loopback, which a pull refuses unless PULL_ALLOW_PRIVATE allows it.
    addressPolicy: pullAddressPolicy(parseSubnetList('127.0.0.0/8')),
    resolveHost: async (name) => NAMES[name.replace(/\.$/, '')]?.map((address) => ({ address, family: isIP(address) })) ?? Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' })),
    ...overrides,
  });

  beforeEach(async () => {
    clock.set('2026-11-30T07:00:00Z');
    t = await testDb();
    requests = [];
    paths = [];
    logged = [];
    metricsBody = '# TYPE kserver_main_page gauge\nkserver_main_page{service="kodweb",path="/docs"} 1\n';
    server = createServer((request, response) => {
      requests.push(request.headers.authorization);
      paths.push(`${request.headers.host?.replace(/:\d+$/, '')} ${request.url}`);
      if (request.headers.host?.startsWith('slow.test')) return; // never answers
      if (request.url === '/sysmon/metrics' && request.headers.host?.startsWith('moved.test')) {
        response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        return response.end();
      }
      if (request.url === '/sysmon/metrics' && request.headers.authorization === `Basic ${Buffer.from(`smartlogin:${PASSWORD}`).toString('base64')}`) {
        response.setHeader('date', 'Mon, 30 Nov 2026 06:59:30 GMT');
        return response.end(metricsBody);
      }
      response.statusCode = request.url === '/sysmon/metrics' ? 401 : 404;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    installationId = (await seedFleet(ctx(), { kind: 'cloud', url: `${url}/kodeks/` })).installation.id;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await t.close();
  });

  it('reads them with Basic auth every PULL_EVERY, keeping the latest set with the server\'s time', async () => {
    await setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    expect(await pullMetrics(deps())).toEqual({ pulled: 1, failed: 0 });
    const snapshot = (await getMetricsSnapshot(t.db, installationId))!;
    expect(snapshot).toMatchObject({ takenAt: new Date('2026-11-30T06:59:30Z'), receivedAt: clock(), error: null, uploadId: null });
    expect(snapshot.samples).toEqual([{ name: 'kserver_main_page', labels: { service: 'kodweb', path: '/docs' }, value: 1 }]);

    // Not again until the latest are PULL_EVERY old.
    clock.advance(14 * MINUTE);
    expect(await pullMetrics(deps())).toEqual({ pulled: 0, failed: 0 });
    clock.advance(MINUTE);
    expect(await pullMetrics(deps())).toEqual({ pulled: 1, failed: 0 });
    expect(requests).toHaveLength(2);
  });

  it('keeps the password sealed: not in the database in clear, not in a log, not opened by another key or on another installation', async () => {
    await setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    const stored = (await getInstallation(t.db, installationId))!;
    expect(stored.metricsSecret).toMatch(/^v1\./);
    expect(stored.metricsSecret).not.toContain('smart');
    // The database file's bytes, the WAL checkpointed into it: SQLite's own (on PostgreSQL there is no file to read; the stored value is checked above).
    if (!onPostgres()) {
      t.db.$client.pragma('wal_checkpoint(TRUNCATE)');
      expect(readFileSync(t.path).includes(Buffer.from('"smart"'))).toBe(false);
    }
    expect(metricsAccountOf(stored, SECRET_KEY)).toEqual({ user: 'smartlogin', password: PASSWORD });
    expect(metricsAccountOf(stored, 'x'.repeat(40))).toBeNull();
    const other = (await addInstallation(ctx(), { client: '1', name: 'Другая', kind: 'cloud', url: `${url}/kodeks/` })).installation;
    await updateInstallation(t.db, other.id, { metricsUser: 'smartlogin', metricsSecret: stored.metricsSecret });
    expect(metricsAccountOf((await getInstallation(t.db, other.id))!, SECRET_KEY)).toBeNull();

    await pullMetrics(deps());
    expect(logged.join('\n')).not.toContain('smart"');
    // Pulled with another key, the stored one cannot be opened: said on the installation, not guessed.
    clock.advance(16 * MINUTE);
    expect(await pullMetrics(deps({ secretKey: 'y'.repeat(40) }))).toEqual({ pulled: 0, failed: 2 });
    expect((await getMetricsSnapshot(t.db, installationId))!.error).toMatch(/cannot be opened with this SECRET_KEY/);
    await expect(setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: 'x' }, undefined)).rejects.toThrow(/SECRET_KEY is not set/);
  });

  it('notes why they could not be read: a refused account, no answer in time; the samples read last stay', async () => {
    await setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    await pullMetrics(deps());
    await setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: 'wrong' }, SECRET_KEY);
    clock.advance(15 * MINUTE);
    expect(await pullMetrics(deps())).toEqual({ pulled: 0, failed: 1 });
    const refused = (await getMetricsSnapshot(t.db, installationId))!;
    expect(refused.error).toBe(`${url}/sysmon/metrics refused the account smartlogin (HTTP 401)`);
    expect(refused.samples).toHaveLength(1);

    const slow = url.replace('127.0.0.1', 'slow.test');
    await updateInstallation(t.db, installationId, { url: `${slow}/kodeks` });
    clock.advance(15 * MINUTE);
    expect(await pullMetrics(deps({ timeoutMs: 200 }))).toEqual({ pulled: 0, failed: 1 });
    expect((await getMetricsSnapshot(t.db, installationId))!.error).toBe(`${slow}/sysmon/metrics: no answer within 0.2 s`);
  });

  it('reads only <origin>/sysmon/metrics, whatever path the address has, and keeps only lines of the Prometheus text format', async () => {
    await setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    await updateInstallation(t.db, installationId, { url: `${url}/internal/admin/env#` });
    metricsBody = ['SECRET_TOKEN=abc123', 'PATH /usr/bin', '<html><body>env</body></html>', '# HELP kserver_main_page the main page', 'kserver_main_page{service="kodweb"} 1', 'PASSWORD{of="db"} hunter2'].join('\n');
    expect(await pullMetrics(deps())).toEqual({ pulled: 1, failed: 0 });
    expect(paths).toEqual(['127.0.0.1 /sysmon/metrics']);
    expect((await getMetricsSnapshot(t.db, installationId))!.samples).toEqual([{ name: 'kserver_main_page', labels: { service: 'kodweb' }, value: 1 }]);

    // Nothing but such lines: no metrics, and the words say so without repeating what came.
    metricsBody = 'SECRET_TOKEN=abc123\nAWS_SECRET_ACCESS_KEY wJalrXUtnFEMI\n';
    clock.advance(15 * MINUTE);
    expect(await pullMetrics(deps())).toEqual({ pulled: 0, failed: 1 });
    const snapshot = (await getMetricsSnapshot(t.db, installationId))!;
    expect(snapshot.error).toBe('no metrics in it');
    expect(JSON.stringify(snapshot)).not.toMatch(/SECRET|abc123|wJalr|hunter2/);
    expect(logged.join('\n')).not.toMatch(/abc123|wJalr|hunter2/);
  });

  it('refuses loopback, link-local and metadata addresses, by IP or by a name that leads there, unless PULL_ALLOW_PRIVATE allows them, and follows no redirect', async () => {
    await setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    const port = new URL(url).port;
    const pullFrom = async (address: string, overrides: Partial<MetricsPullDeps> = {}) => {
      await updateInstallation(t.db, installationId, { url: address });
      clock.advance(15 * MINUTE);
      const summary = await pullMetrics(deps(overrides));
      return { ...summary, error: (await getMetricsSnapshot(t.db, installationId))?.error ?? null };
    };
    const strict = { addressPolicy: pullAddressPolicy() };
    expect(await pullFrom('http://169.254.169.254/latest/meta-data/', strict)).toMatchObject({
      failed: 1,
      error: 'http://169.254.169.254/sysmon/metrics: address 169.254.169.254 refused (metadata); PULL_ALLOW_PRIVATE can allow it',
    });
    expect(await pullFrom(`http://metadata.test:${port}/`, strict)).toMatchObject({ failed: 1, error: expect.stringContaining('address 169.254.169.254 refused (metadata)') });
    expect(await pullFrom('http://[fe80::1]/', strict)).toMatchObject({ failed: 1, error: expect.stringContaining('address fe80::1 refused (link-local)') });
    expect(await pullFrom('http://0.0.0.0/', strict)).toMatchObject({ failed: 1, error: expect.stringContaining('refused (unspecified)') });
    // A name with one good address and one refused is refused: the connection could go to either.
    expect(await pullFrom(`http://split.test:${port}/`, strict)).toMatchObject({ failed: 1, error: expect.stringContaining('address fe80::1 refused (link-local)') });
    // Loopback is this very machine: refused by default, by the address and by a name that resolves there.
    expect(await pullFrom(url, strict)).toMatchObject({ failed: 1, error: expect.stringContaining('address 127.0.0.1 refused (loopback)') });
    expect(await pullFrom(`http://kodeks.test:${port}/`, strict)).toMatchObject({ failed: 1, error: expect.stringContaining('address 127.0.0.1 refused (loopback)') });
    expect(requests).toEqual([]);

    // Allowed, the name leads to the address that was checked, and the request still names the host.
    expect(await pullFrom(`http://kodeks.test:${port}/kodeks/`)).toMatchObject({ pulled: 1, error: null });
    expect(paths).toEqual(['kodeks.test /sysmon/metrics']);
    // A redirect (to the metadata service, say) is an answer, not followed: the account goes nowhere else.
    expect(await pullFrom(`http://moved.test:${port}/`)).toMatchObject({ failed: 1, error: `http://moved.test:${port}/sysmon/metrics answered HTTP 302` });
    expect(paths).toEqual(['kodeks.test /sysmon/metrics', 'moved.test /sysmon/metrics']);

    // Said on the card in words.
    expect(describeMetricsError('ru', 'http://169.254.169.254/sysmon/metrics: address 169.254.169.254 refused (metadata); PULL_ALLOW_PRIVATE can allow it')).toBe(
      'адрес 169.254.169.254 не опрашивается: это служба метаданных облака, а не сервер клиента; если это и есть сервер Кодекс, разрешите адрес в PULL_ALLOW_PRIVATE',
    );
    expect(describeMetricsError('en', 'http://127.0.0.1/sysmon/metrics: address 127.0.0.1 refused (loopback); PULL_ALLOW_PRIVATE can allow it')).toBe(
      "the address 127.0.0.1 is not pulled from: it is dozor's own machine (loopback); if it is the Kodeks server, allow it in PULL_ALLOW_PRIVATE",
    );
    expect(parseConfig({ PULL_ALLOW_PRIVATE: '127.0.0.1/32, fe80::/10,169.254.169.254' }).PULL_ALLOW_PRIVATE).toHaveLength(3);
    expect(() => parseConfig({ PULL_ALLOW_PRIVATE: '127.0.0.1/33' })).toThrow(/PULL_ALLOW_PRIVATE: expected addresses or subnets/);
  });

  it('leaves alone installations without an account, without an address, or not monitored', async () => {
    expect(await pullMetrics(deps())).toEqual({ pulled: 0, failed: 0 });
    await setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    await updateInstallation(t.db, installationId, { monitoringEnabled: false });
    expect(await pullMetrics(deps())).toEqual({ pulled: 0, failed: 0 });
    await updateInstallation(t.db, installationId, { monitoringEnabled: true, url: null });
    expect(await pullMetrics(deps())).toEqual({ pulled: 0, failed: 0 });
    await setMetricsAccount(ctx(), installationId, null, undefined);
    expect(await getInstallation(t.db, installationId)).toMatchObject({ metricsUser: null, metricsSecret: null });
    expect(requests).toEqual([]);
  });

  it('a refused service account opens KodeksAuthNotWork, which waits while every seat is taken, and closes when the login works', async () => {
    const settings = DEFAULT_INCIDENT_SETTINGS;
    const report = async (body: string) =>
      await ingestReport(t.db, settings, { id: installationId }, parseReport(Buffer.from(`<report>${body}</report>`), 'xml', { tz: 'Europe/Moscow' }), clock());
    const open = async () => (await listIncidentsWithNames(t.db, { includeResolved: false })).map((i) => [i.ruleId, i.announcedAt !== null]);
    await report('<seats licensed="10" used="10"/>');
    await setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: 'неверный' }, SECRET_KEY);
    await pullMetrics(deps({ settings }));
    // Every seat is taken: the account is one user too many, so its refusal waits.
    expect(await open()).toEqual([
      ['KodeksLimitsUsers', true],
      ['KodeksAuthNotWork', false],
    ]);
    expect((await listIncidentsWithNames(t.db, { includeResolved: false })).find((i) => i.ruleId === 'KodeksAuthNotWork')!.details).toEqual({ account: 'smartlogin' });
    // A seat frees: the refusal outlives its excuse and is announced at the next follow-up.
    await report('<seats licensed="10" used="4"/>');
    await runSweep({ db: t.db, settings }, clock());
    expect(await open()).toEqual([['KodeksAuthNotWork', true]]);
    // The right password: the login works, the alert closes.
    await setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    clock.advance(16 * MINUTE);
    await pullMetrics(deps({ settings }));
    expect(await open()).toEqual([]);
  });
});
