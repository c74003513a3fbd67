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
import { listIncidentsWithNames } from '../db/incidents.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { ingestReport } from '../intake/ingest.ts';
import { parseReport } from '../intake/parse-report.ts';
import { runSweep } from '../jobs/sweep.ts';

const SECRET_KEY = 'k'.repeat(40);
const PASSWORD = 'пароль: "smart" \\ 1';
const MINUTE = 60_000;

describe('metrics pulled from installations dozor can reach', () => {
  const clock = testClock('2026-11-30T07:00:00Z');
  let t: TestDb;
  let server: Server;
  let url = '';
  let requests: (string | undefined)[] = [];
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
    ...overrides,
  });

  beforeEach(async () => {
    clock.set('2026-11-30T07:00:00Z');
    t = testDb();
    requests = [];
    logged = [];
    server = createServer((request, response) => {
      requests.push(request.headers.authorization);
      if (request.url === '/kodeks/sysmon/metrics' && request.headers.authorization === `Basic ${Buffer.from(`smartlogin:${PASSWORD}`).toString('base64')}`) {
        response.setHeader('date', 'Mon, 30 Nov 2026 06:59:30 GMT');
        return response.end('# TYPE kserver_main_page gauge\nkserver_main_page{service="kodweb",path="/docs"} 1\n');
      }
      if (request.url === '/slow/sysmon/metrics') return; // never answers
      response.statusCode = request.url?.endsWith('/sysmon/metrics') ? 401 : 404;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    installationId = seedFleet(ctx(), { kind: 'cloud', url: `${url}/kodeks/` }).installation.id;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    t.close();
  });

  it('reads them with Basic auth every PULL_EVERY, keeping the latest set with the server\'s time', async () => {
    setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    expect(await pullMetrics(deps())).toEqual({ pulled: 1, failed: 0 });
    const snapshot = getMetricsSnapshot(t.db, installationId)!;
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
    setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    const stored = getInstallation(t.db, installationId)!;
    expect(stored.metricsSecret).toMatch(/^v1\./);
    expect(stored.metricsSecret).not.toContain('smart');
    t.db.$client.pragma('wal_checkpoint(TRUNCATE)');
    expect(readFileSync(t.path).includes(Buffer.from('"smart"'))).toBe(false);
    expect(metricsAccountOf(stored, SECRET_KEY)).toEqual({ user: 'smartlogin', password: PASSWORD });
    expect(metricsAccountOf(stored, 'x'.repeat(40))).toBeNull();
    const other = addInstallation(ctx(), { client: '1', name: 'Другая', kind: 'cloud', url: `${url}/kodeks/` }).installation;
    updateInstallation(t.db, other.id, { metricsUser: 'smartlogin', metricsSecret: stored.metricsSecret });
    expect(metricsAccountOf(getInstallation(t.db, other.id)!, SECRET_KEY)).toBeNull();

    await pullMetrics(deps());
    expect(logged.join('\n')).not.toContain('smart"');
    // Pulled with another key, the stored one cannot be opened: said on the installation, not guessed.
    clock.advance(16 * MINUTE);
    expect(await pullMetrics(deps({ secretKey: 'y'.repeat(40) }))).toEqual({ pulled: 0, failed: 2 });
    expect(getMetricsSnapshot(t.db, installationId)!.error).toMatch(/cannot be opened with this SECRET_KEY/);
    expect(() => setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: 'x' }, undefined)).toThrow(/SECRET_KEY is not set/);
  });

  it('notes why they could not be read: a refused account, no answer in time; the samples read last stay', async () => {
    setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    await pullMetrics(deps());
    setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: 'wrong' }, SECRET_KEY);
    clock.advance(15 * MINUTE);
    expect(await pullMetrics(deps())).toEqual({ pulled: 0, failed: 1 });
    const refused = getMetricsSnapshot(t.db, installationId)!;
    expect(refused.error).toBe(`${url}/kodeks/sysmon/metrics refused the account smartlogin (HTTP 401)`);
    expect(refused.samples).toHaveLength(1);

    updateInstallation(t.db, installationId, { url: `${url}/slow` });
    clock.advance(15 * MINUTE);
    expect(await pullMetrics(deps({ timeoutMs: 200 }))).toEqual({ pulled: 0, failed: 1 });
    expect(getMetricsSnapshot(t.db, installationId)!.error).toBe(`${url}/slow/sysmon/metrics: no answer within 0.2 s`);
  });

  it('leaves alone installations without an account, without an address, or not monitored', async () => {
    expect(await pullMetrics(deps())).toEqual({ pulled: 0, failed: 0 });
    setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    updateInstallation(t.db, installationId, { monitoringEnabled: false });
    expect(await pullMetrics(deps())).toEqual({ pulled: 0, failed: 0 });
    updateInstallation(t.db, installationId, { monitoringEnabled: true, url: null });
    expect(await pullMetrics(deps())).toEqual({ pulled: 0, failed: 0 });
    setMetricsAccount(ctx(), installationId, null, undefined);
    expect(getInstallation(t.db, installationId)).toMatchObject({ metricsUser: null, metricsSecret: null });
    expect(requests).toEqual([]);
  });

  it('a refused service account opens KodeksAuthNotWork, which waits while every seat is taken, and closes when the login works', async () => {
    const settings = DEFAULT_INCIDENT_SETTINGS;
    const report = (body: string) =>
      ingestReport(t.db, settings, { id: installationId, tz: 'Europe/Moscow' }, parseReport(Buffer.from(`<report>${body}</report>`), 'xml', { tz: 'Europe/Moscow' }), clock());
    const open = () => listIncidentsWithNames(t.db, { includeResolved: false }).map((i) => [i.ruleId, i.announcedAt !== null]);
    report('<seats licensed="10" used="10"/>');
    setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: 'неверный' }, SECRET_KEY);
    await pullMetrics(deps({ settings }));
    // Every seat is taken: the account is one user too many, so its refusal waits.
    expect(open()).toEqual([
      ['KodeksLimitsUsers', true],
      ['KodeksAuthNotWork', false],
    ]);
    expect(listIncidentsWithNames(t.db, { includeResolved: false }).find((i) => i.ruleId === 'KodeksAuthNotWork')!.details).toEqual({ account: 'smartlogin' });
    // A seat frees: the refusal outlives its excuse and is announced at the next follow-up.
    report('<seats licensed="10" used="4"/>');
    runSweep({ db: t.db, settings }, clock());
    expect(open()).toEqual([['KodeksAuthNotWork', true]]);
    // The right password: the login works, the alert closes.
    setMetricsAccount(ctx(), installationId, { user: 'smartlogin', password: PASSWORD }, SECRET_KEY);
    clock.advance(16 * MINUTE);
    await pullMetrics(deps({ settings }));
    expect(open()).toEqual([]);
  });
});
