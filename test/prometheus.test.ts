import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { createMetrics } from '../app/metrics.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { addInstallation } from '../registry/installations.ts';
import { ROOT } from './cli-helpers.ts';
import { DAY, postReport, seedFleet, silentLogger, testClock, testDb, type TestDb } from './helpers.ts';

/** Debian's `prometheus` package brings promtool; `.ci/run` installs it. */
const promtool = spawnSync('promtool', ['--version']).status === 0;

describe('what Prometheus reads from dozor', () => {
  const clock = testClock('2023-02-15T09:00:00Z');
  let t: TestDb;
  let url = '';
  let close: () => Promise<void>;
  let metrics = '';
  let silentId = 0;

  beforeAll(async () => {
    t = await testDb();
    const fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    clock.advance(3 * DAY);
    silentId = (await addInstallation({ db: t.db, clock, actor: 'test' }, { client: String(fleet.client.id), name: 'Новая', kind: 'local' })).installation.id;
    clock.advance(DAY);
    const registry = createMetrics(t.db, clock, {
      deliveries: () => ({ sent: 12, failed: 3, withdrawn: 0 }),
      lastSweepAt: () => clock(),
      telegram: () => ({ mode: 'polling', active: true, state: 'connected', since: clock().toISOString(), lastError: null }),
      cluster: { instance: 'dozor-a', roles: () => [{ role: 'outbox', mine: true }, { role: 'telegram-poll', mine: false }] },
    });
    const app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, metrics: { registry } });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
    await postReport(url, '<report id="m1"><update operap-date="2023-02-18"/><senselock state="ok"/><service state="running"/></report>', { token: fleet.token });
    metrics = await (await fetch(`${url}/metrics`)).text();
  });
  afterAll(async () => {
    await close();
    await t.close();
  });

  it('gives every monitored installation a report age, counted from registration when it never reported', () => {
    const age = (id: number) => Number(new RegExp(`dozor_installation_report_age_seconds\\{installation_id="${id}"[^}]*\\} (\\S+)`).exec(metrics)?.[1]);
    expect(age(silentId)).toBe(DAY / 1000);
    expect(age(1)).toBeLessThan(60);
    expect(metrics).toContain('dozor_outbox_deliveries_total{outcome="failed"} 3');
    expect(metrics).toContain('dozor_telegram_connected 1');
    expect(metrics).toContain('dozor_instance_info{dozor_instance="dozor-a"} 1');
    expect(metrics).toContain('dozor_role_held{role="outbox"} 1');
    expect(metrics).toContain('dozor_role_held{role="telegram-poll"} 0');
    expect(metrics).not.toMatch(/_total gauge/);
  });

  it('lists every metric it serves in docs/prometheus.md', () => {
    const readme = readFileSync(join(ROOT, 'docs/prometheus.md'), 'utf8');
    const served = [...metrics.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
    expect(served.length).toBeGreaterThan(20);
    // prom-client's process and Node.js metrics are named as a family; dozor's own one by one.
    const undocumented = served.filter((name) => !/^dozor_(process|nodejs)_/.test(name) && !readme.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it.runIf(promtool)('passes promtool check metrics', () => {
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.status).toBe(0);
  });

  it.runIf(promtool)('ships rules about dozor itself that promtool checks and tests', () => {
    const dir = join(ROOT, 'docs/prometheus');
    const checked = spawnSync('promtool', ['check', 'rules', 'dozor.rules.yml'], { cwd: dir, encoding: 'utf8' });
    expect(checked.stdout).toContain('SUCCESS: 7 rules found');
    const tested = spawnSync('promtool', ['test', 'rules', 'dozor.rules.test.yml'], { cwd: dir, encoding: 'utf8' });
    expect(tested.stdout).toContain('SUCCESS');
    expect(tested.status).toBe(0);
  });
});

describe('who may read /metrics', () => {
  const clock = testClock('2023-02-15T09:00:00Z');
  let t: TestDb;
  beforeAll(async () => {
    t = await testDb();
    await seedFleet({ db: t.db, clock, actor: 'test' });
  });
  afterAll(() => t.close());
  const serve = (token?: string, trustProxy?: string) => {
    const registry = createMetrics(t.db, clock, { deliveries: () => ({ sent: 0, failed: 0, withdrawn: 0 }), lastSweepAt: () => null, telegram: () => undefined });
    return buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, metrics: { registry, ...(token ? { token } : {}) }, ...(trustProxy ? { trustProxy } : {}) });
  };

  it('without METRICS_TOKEN answers this machine only, by the connection, not by what a header claims', async () => {
    const app = serve(undefined, '127.0.0.1');
    const scrape = (remoteAddress: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers });
    expect((await scrape('127.0.0.1')).statusCode).toBe(200);
    expect((await scrape('::1')).statusCode).toBe(200);
    expect((await scrape('::ffff:127.0.0.1')).statusCode).toBe(200);
    const outside = await scrape('10.1.2.3', { 'x-forwarded-for': '127.0.0.1' });
    expect(outside.statusCode).toBe(403);
    expect(outside.json()).toEqual({ error: 'METRICS_TOKEN is not set, so /metrics answers only on this machine (loopback); set METRICS_TOKEN to scrape it from elsewhere' });
    expect(outside.body).not.toContain('Ромашка');
    // Through a reverse proxy on this machine the connection is local, but the request is anyone's.
    expect((await scrape('127.0.0.1', { 'x-forwarded-for': '203.0.113.5' })).statusCode).toBe(403);
    expect((await scrape('127.0.0.1', { 'x-real-ip': '203.0.113.5' })).statusCode).toBe(403);
    await app.close();
  });

  it('with METRICS_TOKEN answers anyone who brings it, and nobody who does not', async () => {
    const token = 'm'.repeat(32);
    const app = serve(token);
    expect((await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode).toBe(401);
    await app.close();
  });
});
