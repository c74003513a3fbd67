import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { downloadKeyOf } from '../core/download-link.ts';
import { sysinfoMappingSchema } from '../core/sysinfo-mapping.ts';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { closeDatabase, closeDb, openDb, type DB } from '../db/open.ts';
import { openPostgres } from '../db/open-postgres.ts';
import { getState } from '../db/state.ts';
import { listRecentReports } from '../db/reports.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { useSysinfoMapping } from '../intake/sysinfo-facts.ts';
import { reparseSysinfo } from '../intake/sysinfo-reparse.ts';
import { addInstallation } from '../registry/installations.ts';
import { botHarness, type Person } from './bot-helpers.ts';
import { onPostgres } from './pg-helpers.ts';
import { alertmanagerWebhook } from './alertmanager-helpers.ts';
import { postReport, seedFleet, silentLogger, sqlValue, testClock, testDb, type TestDb } from './helpers.ts';

/**
 * Two instances on one database, each a real HTTP server (the intake, uploads, the cabinet) on a handle of its own:
 * two pools on PostgreSQL, two connections to one file on SQLite. They share what instances behind a balancer share:
 * the database, SECRET_KEY (the download links' key) and DATA_DIR. Whichever instance a request reaches, the outcome
 * is the same.
 */
const SECRET_KEY = 'one-secret-key-every-instance-is-given-0123456789';
const MANAGER: Person = { id: 1001, first_name: 'Ксения' };
const ALERTMANAGER_TOKEN = 'alertmanager-shared-secret';

describe('instances on one database: whichever a request reaches', () => {
  const clock = testClock('2026-11-30T07:00:00Z');
  let t: TestDb;
  let otherDb: DB;
  let dataDir: string;
  const servers: FastifyInstance[] = [];

  beforeEach(async () => {
    clock.set('2026-11-30T07:00:00Z');
    t = await testDb();
    otherDb = onPostgres() ? await openPostgres(t.path, { maxConnections: 4 }) : openDb(t.path);
    // The directory every instance mounts.
    dataDir = join(t.dir, 'shared');
    mkdirSync(dataDir);
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    if (onPostgres()) await closeDatabase(otherDb);
    else closeDb(otherDb);
    await t.close();
  });

  /** One instance's HTTP server, on its own handle to the database. */
  async function instance(db: DB): Promise<string> {
    const downloadKey = downloadKeyOf(SECRET_KEY);
    const app = buildHttpServer({
      db,
      clock,
      logger: silentLogger(),
      settings: DEFAULT_INCIDENT_SETTINGS,
      uploads: { dataDir, maxBytes: 1024 * 1024, downloadKey },
      web: { publicUrl: 'https://dozor.example.ru', displayTz: 'Europe/Moscow', morningHour: 9, downloadKey },
      alertmanagerToken: ALERTMANAGER_TOKEN,
    });
    servers.push(app);
    return app.listen({ host: '127.0.0.1', port: 0 });
  }

  /** /web in the bot of the instance on `db`: the token of the one-time link it answers with. */
  async function cabinetLink(db: DB, person: Person): Promise<string> {
    const h = botHarness(db, clock, { publicUrl: 'https://dozor.example.ru' });
    await h.say(person, '/web');
    const text = String(h.lastSent()!.payload.text);
    const token = /https:\/\/dozor\.example\.ru\/web\/login\?token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
    expect(token, text).toBeDefined();
    return token!;
  }

  const get = (url: string, cookie?: string) => fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });

  it('ends two reports of one installation taken by two instances at the same moment as the same two taken one after the other', async () => {
    const ctx = { db: t.db, clock, actor: 'test' };
    const fleet = await seedFleet(ctx);
    const tokens = new Map<number, string>();
    const installations: number[] = [];
    for (const name of ['По порядку', 'В обратном порядке', 'Филиал 1', 'Филиал 2', 'Филиал 3', 'Филиал 4', 'Филиал 5', 'Филиал 6']) {
      const made = await addInstallation(ctx, { client: String(fleet.client.id), name, kind: 'local' });
      installations.push(made.installation.id);
      tokens.set(made.installation.id, made.token);
    }
    const [a, b] = [await instance(t.db), await instance(otherDb)];
    // Each report says half of what is wrong: a lost key, and operaps months old on a server out of licences.
    const lost = '<report id="key"><senselock state="lost"/><service state="running" account="user"/></report>';
    const stale = '<report id="operaps"><update number="2251" operap-date="2026-08-01"/><license limit="10" peak="10" exhausted="3"/></report>';
    const accepted = async (url: string, body: string, id: number) => expect((await postReport(url, body, { token: tokens.get(id)! })).status).toBe(202);

    const [inOrder, reversed, ...atOnce] = installations;
    await accepted(a, lost, inOrder!);
    await accepted(b, stale, inOrder!);
    await accepted(b, stale, reversed!);
    await accepted(a, lost, reversed!);
    // Each of the others gets both at once, one at each instance, and all of them at the same moment.
    await Promise.all(atOnce.flatMap((id) => [accepted(a, lost, id), accepted(b, stale, id)]));

    const incidents = await listIncidentsWithNames(t.db, { includeResolved: true });
    const outcome = async (id: number) => {
      // The newest report's row differs from installation to installation; that both reports are in its history does not.
      const { lastReceivedAt, lastGeneratedAt, lastReportId, ...state } = (await getState(t.db, id))!;
      const history = (await listRecentReports(t.db, id, 10)).map((report) => report.id);
      return {
        state: { ...state, received: [lastReceivedAt.toISOString(), lastGeneratedAt], history: { reports: history.length, newestFirst: history[0] === lastReportId } },
        incidents: incidents
          .filter((incident) => incident.installationId === id)
          .map((incident) => ({ rule: incident.ruleId, severity: incident.severity, status: incident.status, details: incident.details, openedAt: incident.openedAt.toISOString() }))
          .sort((x, y) => x.rule.localeCompare(y.rule)),
      };
    };
    const sequential = [await outcome(inOrder!), await outcome(reversed!)];
    // Neither report's facts were lost: the key and the operaps are both in the state, each with its incident.
    expect(sequential[0]!.state).toMatchObject({ senselockState: 'lost', operapDate: '2026-08-01', licenseExhausted: 3 });
    expect(sequential[0]!.incidents.map((i) => i.rule)).toEqual(['KodeksDetectOverUserError', 'KodeksOperapStale', 'KodeksXmlSensLockStatus']);
    for (const id of atOnce) expect(sequential).toContainEqual(await outcome(id));
  });

  it('serves a sysinfo one instance received from the other, by the cabinet\'s link, and the other reparses it', async () => {
    const fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    const [a, b] = [await instance(t.db), await instance(otherDb)];
    const sysinfo = '<sysinfo made="30.11.2026 06:55:00"><product name="Техэксперт" version="6.4.5.127 (x64)"/><update>2251</update></sysinfo>';
    const form = new FormData();
    form.set('file', new Blob([sysinfo]), 'ROMASHKA.xml');
    expect((await fetch(`${a}/upload?token=${fleet.token}`, { method: 'POST', body: form })).status).toBe(200);

    // Signed in at B, the installation's page offers the file A received; the link works at either instance.
    const opened = await get(`${b}/web/login?token=${await cabinetLink(otherDb, MANAGER)}`);
    expect(opened.status).toBe(303);
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    const page = await (await get(`${b}/web/installations/${fleet.installation.id}`, cookie)).text();
    const href = /href="(\/download\/\d+\?expires=\d+&(?:amp;)?sig=[A-Za-z0-9_-]+)"/.exec(page)?.[1]?.replace('&amp;', '&');
    expect(href, page).toBeDefined();
    for (const url of [b, a]) {
      const download = await get(`${url}${href}`);
      expect(download.status).toBe(200);
      expect(await download.text()).toBe(sysinfo);
    }

    // `dozor sysinfo reparse` on B's machine, with a mapping that reads the file: it opens the file A stored.
    const mapping = sysinfoMappingSchema.parse({ fields: { generatedAt: ['sysinfo/@made'], shellVersion: ['sysinfo/product/@version'], updateNumber: ['sysinfo/update'] } });
    const done = await reparseSysinfo({ db: otherDb, clock, actor: 'test', dataDir, sysinfo: useSysinfoMapping({ path: 'mapping.json', mapping }) });
    expect(done).toEqual([expect.objectContaining({ installationId: fleet.installation.id, reading: expect.objectContaining({ fields: expect.objectContaining({ shellVersion: '6.4.5.127' }) }) })]);
    expect(await getState(t.db, fleet.installation.id)).toMatchObject({ shellVersion: '6.4.5.127', updateNumber: 2251 });
  });

  it('opens a session at one instance from the one-time link the other made; the session works at both, the link at neither again', async () => {
    await seedFleet({ db: t.db, clock, actor: 'test' });
    const [a, b] = [await instance(t.db), await instance(otherDb)];
    const token = await cabinetLink(t.db, MANAGER);
    const opened = await get(`${b}/web/login?token=${token}`);
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/web/');
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    for (const url of [a, b, a]) {
      const page = await get(`${url}/web/`, cookie);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Сервер офиса');
    }
    // Used once, wherever it was used.
    expect((await get(`${a}/web/login?token=${token}`)).status).toBe(403);
    expect((await get(`${b}/web/login?token=${token}`)).status).toBe(403);
  });

  it('opens one incident for an alert Alertmanager sends to both instances at once, and either instance resolves it', async () => {
    const fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    const [a, b] = [await instance(t.db), await instance(otherDb)];
    // Alertmanager behind the balancer: its retries, or two Alertmanagers of a cluster, reach both instances.
    const alert = (status: 'firing' | 'resolved') =>
      alertmanagerWebhook([{ labels: { alertname: 'NodeDiskFull', installation_id: String(fleet.installation.id), severity: 'critical' }, annotations: { summary: 'Диск заполнен на 98%' } }], status);
    const send = async (url: string, status: 'firing' | 'resolved') => {
      const response = await fetch(`${url}/api/v1/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ALERTMANAGER_TOKEN}` },
        body: JSON.stringify(alert(status)),
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { opened?: number; unchanged?: number; resolved?: number };
    };
    const answers = await Promise.all([send(a, 'firing'), send(b, 'firing')]);
    // One of them opened it; the other found it open.
    expect(answers.map((answer) => answer.opened ?? 0).sort()).toEqual([0, 1]);
    expect(answers.map((answer) => answer.unchanged ?? 0).sort()).toEqual([0, 1]);
    const open = (await listIncidentsWithNames(t.db, { includeResolved: false })).filter((incident) => incident.ruleId.startsWith('am:NodeDiskFull:'));
    expect(open).toHaveLength(1);
    const announcements = Number(await sqlValue(t.db, `SELECT count(*) AS n FROM outbox WHERE incident_id = ${open[0]!.id} AND kind = 'incident.opened'`));
    expect(announcements).toBeGreaterThan(0);

    // Resolved through the other instance than the one that opened it: one incident, resolved once, announced once.
    expect(await send(b, 'resolved')).toMatchObject({ resolved: 1 });
    expect(await send(a, 'resolved')).toMatchObject({ resolved: 0 });
    expect((await listIncidentsWithNames(t.db, { includeResolved: false })).filter((incident) => incident.ruleId.startsWith('am:'))).toEqual([]);
    expect(Number(await sqlValue(t.db, `SELECT count(*) AS n FROM outbox WHERE incident_id = ${open[0]!.id} AND kind = 'incident.opened'`))).toBe(announcements);
  });
});
