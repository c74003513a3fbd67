import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { outbox } from '../db/schema.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { addUser } from '../registry/users.ts';
import { seedFleet, silentLogger, testClock, testDb, type TestDb } from './helpers.ts';

const TOKEN = 'alertmanager-shared-secret';

function payload(status: 'firing' | 'resolved', labels: Record<string, string>, annotations: Record<string, string> = {}) {
  return {
    version: '4',
    status,
    receiver: 'dozor',
    groupLabels: {},
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: 'http://alertmanager:9093',
    alerts: [{ status, labels, annotations, startsAt: '2023-02-15T06:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'abc' }],
  };
}

describe('Alertmanager receiver', () => {
  const clock = testClock('2023-02-15T06:00:00Z');
  let t: TestDb;
  let url: string;
  let close: () => Promise<void>;
  let installationId: number;

  beforeEach(async () => {
    t = testDb();
    installationId = seedFleet({ db: t.db, clock, actor: 'test' }).installation.id;
    addUser({ db: t.db, clock, actor: 'test' }, { telegramId: 3001, role: 'admin', name: 'Анна' });
    const app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, alertmanagerToken: TOKEN });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
  });
  afterEach(async () => {
    await close();
    t.close();
  });

  const send = (body: unknown, token = TOKEN) =>
    fetch(`${url}/api/v1/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

  it('opens an incident for a firing alert, under its alert name, and closes it when resolved', async () => {
    const firing = await send(payload('firing', { alertname: 'NodeDiskFull', instance: 'romashka.example.ru:9100', severity: 'critical' }, { summary: 'Диск заполнен на 98%' }));
    expect(firing.status).toBe(200);
    expect(await firing.json()).toMatchObject({ opened: 1, unmatched: 0 });
    const [incident] = listIncidentsWithNames(t.db, { includeResolved: false });
    expect(incident).toMatchObject({ ruleId: 'NodeDiskFull', severity: 'critical', installationId, details: { summary: 'Диск заполнен на 98%', source: 'alertmanager' } });
    // A repeat of the firing alert changes nothing.
    expect(await (await send(payload('firing', { alertname: 'NodeDiskFull', instance: 'romashka.example.ru:9100' }))).json()).toMatchObject({ opened: 0, unchanged: 1 });
    const resolved = await send(payload('resolved', { alertname: 'NodeDiskFull', instance: 'romashka.example.ru:9100' }));
    expect(await resolved.json()).toMatchObject({ resolved: 1 });
    expect(listIncidentsWithNames(t.db, { includeResolved: false })).toEqual([]);
  });

  it('matches by the installation label, and by instance against the IP', async () => {
    await send(payload('firing', { alertname: 'A', installation: String(installationId) }));
    await send(payload('firing', { alertname: 'B', instance: '10.1.2.3' }));
    expect(listIncidentsWithNames(t.db, { includeResolved: false }).map((i) => i.ruleId).sort()).toEqual(['A', 'B']);
  });

  it('reports an alert that matches nothing to the admins, once', async () => {
    const body = payload('firing', { alertname: 'NodeDown', instance: 'unknown.example:9100' });
    expect(await (await send(body)).json()).toMatchObject({ unmatched: 1 });
    await send(body);
    const notices = t.db.select().from(outbox).where(eq(outbox.chatId, 3001)).all();
    expect(notices).toHaveLength(1);
    expect(String(notices[0]!.payload.text)).toContain('NodeDown');
    expect(String(notices[0]!.payload.text)).toContain('unknown.example:9100');
  });

  it('refuses a wrong token and a malformed payload', async () => {
    expect((await send(payload('firing', { alertname: 'X' }), 'wrong-token-of-some-length')).status).toBe(401);
    const bad = await send({ alerts: [{ status: 'burning', labels: {} }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/alerts.0.status/);
  });
});
