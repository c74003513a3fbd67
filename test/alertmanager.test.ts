import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { renderAlert, renderAlertGroup } from '../bot/render/alert.ts';
import { runbookLink } from '../bot/redraw.ts';
import { getIncidentViews, listIncidentsWithNames } from '../db/incidents.ts';
import { outbox } from '../db/schema.ts';
import { listUnmatchedAlerts } from '../db/unmatched-alerts.ts';
import { listAlertRoutes } from '../db/alert-routes.ts';
import { routeAlerts, unrouteAlerts } from '../registry/alert-routes.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { ingestReport } from '../intake/ingest.ts';
import { MAX_WEBHOOK_ALERTS } from '../intake/alertmanager.ts';
import { parseReport } from '../intake/parse-report.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation, setMonitoring } from '../registry/installations.ts';
import { addUser } from '../registry/users.ts';
import { botHarness, buttonsOf } from './bot-helpers.ts';
import { seedFleet, sqlValue, testClock, testDb, type TestDb } from './helpers.ts';
import { onPostgres } from './pg-helpers.ts';
import { alertmanagerWebhook as webhook, type AlertIn } from './alertmanager-helpers.ts';

const TOKEN = 'alertmanager-shared-secret';

function payload(status: 'firing' | 'resolved', labels: Record<string, string>, annotations: Record<string, string> = {}) {
  return webhook([{ status, labels, annotations }], status);
}

describe('Alertmanager receiver', () => {
  const clock = testClock('2023-02-15T06:00:00Z');
  let t: TestDb;
  let url: string;
  let close: () => Promise<void>;
  let installationId: number;
  let logLines: Record<string, unknown>[];
  const ctx = () => ({ db: t.db, clock, actor: 'test' });

  beforeEach(async () => {
    t = await testDb();
    installationId = (await seedFleet(ctx())).installation.id;
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна' });
    logLines = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
    const app = buildHttpServer({ db: t.db, clock, logger, settings: DEFAULT_INCIDENT_SETTINGS, alertmanagerToken: TOKEN });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
  });
  afterEach(async () => {
    await close();
    await t.close();
  });

  const send = (body: unknown, token = TOKEN) =>
    fetch(`${url}/api/v1/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const open = () => listIncidentsWithNames(t.db, { includeResolved: false });
  const openCount = () => sqlValue<number>(t.db, "SELECT count(*) AS n FROM incidents WHERE status <> 'resolved'");
  const noticesTo = async (chatId: number) => (await t.db.select().from(outbox).where(eq(outbox.chatId, chatId))).filter((m) => m.kind === 'system.notice');

  it('opens an incident for a firing alert, in a namespace of its own, and closes it when resolved', async () => {
    const firing = await send(payload('firing', { alertname: 'NodeDiskFull', instance: 'romashka.example.ru:9100', severity: 'critical' }, { summary: 'Диск заполнен на 98%' }));
    expect(firing.status).toBe(200);
    expect(await firing.json()).toMatchObject({ opened: 1, unmatched: 0 });
    const [incident] = await open();
    expect(incident).toMatchObject({ ruleId: expect.stringMatching(/^am:NodeDiskFull:[0-9a-f]{16}$/), severity: 'critical', installationId, details: { summary: 'Диск заполнен на 98%', source: 'alertmanager' } });
    // A repeat of the firing alert changes nothing.
    expect(await (await send(payload('firing', { alertname: 'NodeDiskFull', instance: 'romashka.example.ru:9100', severity: 'critical' }))).json()).toMatchObject({ opened: 0, unchanged: 1 });
    const resolved = await send(payload('resolved', { alertname: 'NodeDiskFull', instance: 'romashka.example.ru:9100', severity: 'critical' }));
    expect(await resolved.json()).toMatchObject({ resolved: 1 });
    expect(await open()).toEqual([]);
  });

  it('keeps alerts of one name apart by their labels: three disks are three incidents that resolve one by one', async () => {
    const disk = (letter: string, status: 'firing' | 'resolved' = 'firing'): AlertIn => ({
      status,
      labels: { alertname: 'WindowsDiskFull', instance: 'romashka.example.ru:9182', disk: `${letter}:` },
      annotations: { summary: `Диск ${letter}: заполнен`, runbook_url: 'https://wiki.example.ru/runbooks/disk' },
    });
    expect(await (await send(webhook([disk('C'), disk('D'), disk('E')]))).json()).toMatchObject({ opened: 3 });
    expect(await open()).toHaveLength(3);
    // D: comes back; C: and E: still fire.
    expect(await (await send(webhook([disk('C'), disk('D', 'resolved'), disk('E')]))).json()).toMatchObject({ resolved: 1, unchanged: 2, opened: 0 });
    expect((await open()).map((i) => i.details.labels)).toEqual([['disk=C:', 'instance=romashka.example.ru:9182'], ['disk=E:', 'instance=romashka.example.ru:9182']]);

    // The message says which disk, in the alert's own words, with the alert's own runbook.
    const [view] = await getIncidentViews(t.db, [(await open())[0]!.id]);
    const rendered = renderAlert(view!, { lang: 'ru', tz: 'Europe/Moscow', now: clock(), runbookUrl: runbookLink('https://dozor.example.ru/runbooks/') });
    expect(rendered.text).toContain('WindowsDiskFull');
    expect(rendered.text).toContain('Диск C: заполнен');
    expect(rendered.text).toContain('Метки: disk=C:, instance=romashka.example.ru:9182');
    expect(rendered.text).toContain('href="https://wiki.example.ru/runbooks/disk"');
    expect(rendered.text).not.toContain('dozor.example.ru/runbooks');
  });

  it('says after its severity what an external alert is, in its own words: the summary, else the description\'s first line, else its name', async () => {
    const id = String(installationId);
    await send(
      webhook([
        { labels: { alertname: 'NodeDiskFull', installation_id: id, severity: 'critical' }, annotations: { summary: 'Диск заполнен на 98%', description: 'Осталось 2 ГБ' } },
        { labels: { alertname: 'NodeLoadHigh', installation_id: id }, annotations: { description: 'Load average 12 at 4 cores\nfor 15 minutes' } },
        { labels: { alertname: 'NodeClockSkew', installation_id: id } },
      ]),
    );
    const lines = async (name: string, lang: 'ru' | 'en') => {
      const [view] = await getIncidentViews(t.db, [(await open()).find((i) => i.details.alertname === name)!.id]);
      return renderAlert(view!, { lang, tz: 'Europe/Moscow', now: clock(), runbookUrl: runbookLink(null) }).text.split('\n');
    };
    expect((await lines('NodeDiskFull', 'ru'))[2]).toBe('<b>Критично.</b> Диск заполнен на 98%');
    expect((await lines('NodeDiskFull', 'en'))[2]).toBe('<b>Critical.</b> Диск заполнен на 98%');
    // The summary is said once; the description follows among the facts.
    expect((await lines('NodeDiskFull', 'ru')).filter((line) => line.includes('Диск заполнен'))).toHaveLength(1);
    expect(await lines('NodeDiskFull', 'ru')).toContain('Осталось 2 ГБ');
    expect((await lines('NodeLoadHigh', 'ru'))[2]).toBe('<b>Внимание.</b> Load average 12 at 4 cores');
    expect((await lines('NodeLoadHigh', 'en'))[2]).toBe('<b>Warning.</b> Load average 12 at 4 cores');
    expect(await lines('NodeLoadHigh', 'ru')).toContain('for 15 minutes');
    expect((await lines('NodeLoadHigh', 'ru')).filter((line) => line.includes('Load average'))).toHaveLength(1);
    expect((await lines('NodeClockSkew', 'ru'))[2]).toBe('<b>Внимание.</b> NodeClockSkew');
    expect((await lines('NodeClockSkew', 'en'))[2]).toBe('<b>Warning.</b> NodeClockSkew');
  });

  it('keeps each external alert\'s own runbook link in a grouped message, the address escaped, in Russian and English', async () => {
    const id = String(installationId);
    const disk = (letter: string): AlertIn => ({
      labels: { alertname: 'windows_disk_full', installation_id: id, disk: `${letter}:`, severity: 'critical' },
      annotations: { summary: `Диск ${letter}: заполнен`, runbook_url: 'https://wiki.example.ru/runbooks/disk?os=windows&kind="full"' },
    });
    await send(
      webhook([
        disk('C'),
        disk('D'),
        { labels: { alertname: 'node_down', installation_id: id, severity: 'critical' }, annotations: { summary: 'Узел не отвечает', runbook_url: 'https://wiki.example.ru/runbooks/node' } },
        { labels: { alertname: 'no_runbook', installation_id: id, severity: 'critical' } },
      ]),
    );
    // Names with an underscore, as Prometheus rules often have them: a name, not English a Russian reader trips over.
    const h = botHarness(t.db, clock);
    // No grouping window to wait out: what is due goes now, together (the clock is shared by the tests).
    await h.dispatcher(0).runOnce();
    const sent = h.sent().filter((c) => c.payload.chat_id === 1001);
    expect(sent).toHaveLength(1);
    const text = String(sent[0]!.payload.text);
    expect(text).toContain('<b>🚨 4 новых оповещения</b>');
    const diskLink = '📖 <a href="https://wiki.example.ru/runbooks/disk?os=windows&amp;kind=&quot;full&quot;">Что делать</a>';
    // The two disks share one runbook: one link for them, after their facts; node_down has its own; no_runbook none.
    expect(text.split(diskLink)).toHaveLength(2);
    expect(text).toContain('📖 <a href="https://wiki.example.ru/runbooks/node">Что делать</a>');
    expect(text.match(/<a href=/g)).toHaveLength(2);

    const views = await getIncidentViews(t.db, (await open()).map((i) => i.id));
    const english = renderAlertGroup(views, { lang: 'en', tz: 'Europe/Moscow', now: clock(), runbookUrl: runbookLink(null) }).text;
    expect(english).toContain('📖 <a href="https://wiki.example.ru/runbooks/disk?os=windows&amp;kind=&quot;full&quot;">Runbook</a>');
    expect(english).toContain('📖 <a href="https://wiki.example.ru/runbooks/node">Runbook</a>');
    // Folded (many of one name), the list keeps the runbook too.
    const folded = renderAlertGroup(views, { lang: 'ru', tz: 'Europe/Moscow', now: clock(), runbookUrl: runbookLink(null) }, { massTotals: new Map([['am:windows_disk_full', 40]]) }).text;
    expect(folded.split(diskLink)).toHaveLength(2);
  });

  it('never touches dozor\'s own rules: an external alert of the same name opens and resolves only itself', async () => {
    const fleet = { id: installationId, tz: 'Europe/Moscow' };
    await ingestReport(t.db, DEFAULT_INCIDENT_SETTINGS, fleet, parseReport(Buffer.from('<report id="r1"><service state="stopped"/></report>'), 'xml', { tz: 'Europe/Moscow' }), clock());
    expect((await open()).map((i) => i.ruleId)).toEqual(['KodeksServiceDown']);
    await send(payload('firing', { alertname: 'KodeksServiceDown', installation_id: String(installationId) }));
    await send(payload('resolved', { alertname: 'KodeksServiceDown', installation_id: String(installationId) }));
    // The agent still says the service is stopped: dozor's incident stays open.
    expect((await open()).map((i) => i.ruleId)).toEqual(['KodeksServiceDown']);
    // An external alert without a link gets none (no dead link to a runbook dozor does not have).
    await send(payload('firing', { alertname: 'KodeksServiceDown', installation_id: String(installationId) }));
    const external = (await open()).find((i) => i.ruleId.startsWith('am:'))!;
    const [view] = await getIncidentViews(t.db, [external.id]);
    expect(renderAlert(view!, { lang: 'ru', tz: 'Europe/Moscow', now: clock(), runbookUrl: runbookLink('https://dozor.example.ru/runbooks/') }).text).not.toContain('href=');
  });

  it('matches by installation_id, by the installation label and by instance against the IP; an ambiguous name is reported as ambiguous; monitoring off opens nothing', async () => {
    await send(payload('firing', { alertname: 'ById', installation_id: String(installationId) }));
    await send(payload('firing', { alertname: 'ByLabel', installation: String(installationId) }));
    await send(payload('firing', { alertname: 'ByIp', instance: '10.1.2.3' }));
    expect((await open()).map((i) => i.details.alertname).sort()).toEqual(['ById', 'ByIp', 'ByLabel']);

    // A second client with an installation of the same name.
    const other = await addClient(ctx(), { name: 'АО «Вектор»' });
    const twin = (await addInstallation(ctx(), { client: String(other.id), name: 'Сервер офиса', kind: 'local' })).installation;
    const ambiguous = await send(payload('firing', { alertname: 'ByName', installation: 'Сервер офиса' }));
    expect(await ambiguous.json()).toMatchObject({ ambiguous: 1, unmatched: 0, opened: 0 });
    const [notice] = await noticesTo(3001);
    expect(String(notice!.payload.text)).toContain('подходит несколько установок');
    expect(String(notice!.payload.text)).toContain(`ООО «Ромашка» · Сервер офиса (id ${installationId})`);
    expect(String(notice!.payload.text)).toContain(`АО «Вектор» · Сервер офиса (id ${twin.id})`);
    expect(await listUnmatchedAlerts(t.db)).toEqual([expect.objectContaining({ alertname: 'ByName', reason: 'ambiguous', candidates: [installationId, twin.id] })]);

    await setMonitoring(ctx(), twin.id, false);
    await setMonitoring(ctx(), installationId, false);
    expect(await (await send(payload('firing', { alertname: 'Quiet', installation_id: String(installationId) }))).json()).toMatchObject({ ignored: 1, opened: 0 });
    expect(await open()).toEqual([]);
  });

  it('sums up unmatched alerts: 330 in one webhook are one message to each admin, and each is listed', async () => {
    await addUser(ctx(), { telegramId: 3002, role: 'admin', name: 'Борис' });
    const alerts = Array.from({ length: 330 }, (_, i) => ({ labels: { alertname: `NodeDown${i}`, instance: `unknown-${i}.example:9100` } }));
    expect(await (await send(webhook(alerts))).json()).toMatchObject({ received: 330, unmatched: 330 });
    for (const admin of [3001, 3002]) {
      const notices = await noticesTo(admin);
      expect(notices).toHaveLength(1);
      expect(String(notices[0]!.payload.text)).toContain('330 оповещений');
      expect(String(notices[0]!.payload.text)).toContain('NodeDown0');
      expect(String(notices[0]!.payload.text)).toContain('…и ещё 325');
    }
    expect(await listUnmatchedAlerts(t.db)).toHaveLength(330);
    // The same alerts again: nobody is told twice.
    await send(webhook(alerts));
    expect(await noticesTo(3001)).toHaveLength(1);
  });

  it('takes an admin\'s word for whose a source is: the waiting alerts open at once with their words, later ones follow, and it can be undone', async () => {
    await send(payload('firing', { alertname: 'NodeDown', instance: 'srv-7.local:9100', severity: 'critical' }, { summary: 'Узел не отвечает' }));
    await send(payload('firing', { alertname: 'DiskFull', instance: 'srv-7.local:9100', mountpoint: '/' }));
    await send(payload('firing', { alertname: 'Other', instance: 'srv-8.local:9100' }));
    const [notice] = await noticesTo(3001);
    expect(notice!.payload.keyboard).toEqual([[{ text: '🔗 Указать установки', data: 'aml' }]]);
    await expect(routeAlerts(ctx(), DEFAULT_INCIDENT_SETTINGS, 'srv-7.local', installationId)).rejects.toThrow(/not an alert source/);

    const routed = await routeAlerts(ctx(), DEFAULT_INCIDENT_SETTINGS, 'instance:srv-7.local', installationId);
    expect(routed).toMatchObject({ source: 'instance:srv-7.local', opened: 2 });
    const external = (await open()).filter((i) => i.ruleId.startsWith('am:'));
    expect(external.map((i) => [i.details.alertname, i.severity, i.details.summary ?? null]).sort()).toEqual([
      ['DiskFull', 'warning', null],
      ['NodeDown', 'critical', 'Узел не отвечает'],
    ]);
    // The placed ones are no longer unmatched; the other source still is.
    expect((await listUnmatchedAlerts(t.db)).map((a) => a.alertname)).toEqual(['Other']);
    // The same alert again changes nothing; a new alert of that source goes there, and resolving works by the route too.
    expect(await (await send(payload('firing', { alertname: 'NodeDown', instance: 'srv-7.local:9100', severity: 'critical' }))).json()).toMatchObject({ unchanged: 1 });
    expect(await (await send(payload('firing', { alertname: 'LoadHigh', instance: 'SRV-7.local:9100' }))).json()).toMatchObject({ opened: 1, unmatched: 0 });
    expect(await (await send(payload('resolved', { alertname: 'DiskFull', instance: 'srv-7.local:9100', mountpoint: '/' }))).json()).toMatchObject({ resolved: 1 });
    expect(await listAlertRoutes(t.db)).toEqual([expect.objectContaining({ source: 'instance:srv-7.local', installationId, createdBy: 'test' })]);

    await unrouteAlerts(ctx(), 'instance:srv-7.local');
    await expect(unrouteAlerts(ctx(), 'instance:srv-7.local')).rejects.toThrow(/no installation was set/);
    expect(await (await send(payload('firing', { alertname: 'Again', instance: 'srv-7.local:9100' }))).json()).toMatchObject({ unmatched: 1 });
  });

  it('lets an admin place them in the chat: the list by source, the client, the installation, and «↩️ Отменить»', async () => {
    await send(payload('firing', { alertname: 'NodeDown', instance: 'srv-7.local:9100' }, { summary: 'Узел не отвечает' }));
    await send(payload('firing', { alertname: 'DiskFull', instance: 'srv-7.local:9100' }));
    await send(payload('firing', { alertname: 'Nameless' }));
    const h = botHarness(t.db, clock);
    const anna = { id: 3001, first_name: 'Анна' };
    await h.press({ id: 1001, first_name: 'Ксения' }, 'aml', { chatId: 1001, messageId: 1 });
    expect(h.lastSent('answerCallbackQuery')!.payload).toMatchObject({ show_alert: true });

    await h.press(anna, 'aml', { chatId: 3001, messageId: 1 });
    const list = h.lastSent()!;
    expect(String(list.payload.text).split('\n')).toEqual([
      '<b>🔗 Оповещения Alertmanager без установки: 2 источника</b>',
      '',
      '1. <code>instance:srv-7.local</code> — <code>DiskFull</code>, <code>NodeDown</code>',
      '• <code>Nameless</code> — без меток <code>instance</code> и <code>installation</code>: нужна метка <code>installation_id</code> в настройке Alertmanager',
      '',
      'Нажмите «🔗 N» и укажите установку: её оповещения от этого источника пойдут туда, уже пришедшие откроются сразу.',
    ]);
    const [button] = buttonsOf(list);
    expect(button!.text).toBe('🔗 1');
    await h.press(anna, button!.data, { chatId: 3001, messageId: 2 });
    expect(String(h.lastSent()!.payload.text)).toBe('Чьи оповещения приходят от instance:srv-7.local? Напишите клиента (id или точное название):');
    await h.say(anna, 'Ромашка Лтд');
    expect(String(h.lastSent()!.payload.text)).toMatch(/^Не подходит: /);
    await h.say(anna, 'ООО «Ромашка»');
    expect(buttonsOf(h.lastSent()!)).toEqual([{ text: 'Сервер офиса', data: `ami:${installationId}` }]);
    await h.press(anna, `ami:${installationId}`, { chatId: 3001, messageId: 3 });
    const done = h.lastSent()!;
    expect(String(done.payload.text)).toBe('Оповещения от instance:srv-7.local теперь относятся к установке «Сервер офиса»; открыто сейчас: 2.');
    expect((await open()).filter((i) => i.ruleId.startsWith('am:')).map((i) => i.details.alertname).sort()).toEqual(['DiskFull', 'NodeDown']);
    expect(h.incidentChanges).toBe(1);

    const [undo] = buttonsOf(done);
    expect(undo!.text).toBe('↩️ Отменить');
    await h.press(anna, undo!.data, { chatId: 3001, messageId: 4 });
    expect(String(h.lastSent()!.payload.text)).toBe('Оповещения от instance:srv-7.local снова ищут установку только по своим меткам.');
    expect(await listAlertRoutes(t.db)).toEqual([]);
  });

  it('offers the installations that fit when several do', async () => {
    const other = await addClient(ctx(), { name: 'АО «Вектор»' });
    const twin = (await addInstallation(ctx(), { client: String(other.id), name: 'Сервер офиса', kind: 'local' })).installation;
    await send(payload('firing', { alertname: 'ByName', installation: 'Сервер офиса' }));
    const h = botHarness(t.db, clock);
    const anna = { id: 3001, first_name: 'Анна' };
    await h.say(anna, '/unmatched');
    const list = h.lastSent()!;
    expect(String(list.payload.text)).toContain(
      `1. <code>installation:Сервер офиса</code> — <code>ByName</code> (подходят несколько: ООО «Ромашка» · Сервер офиса; АО «Вектор» · Сервер офиса)`,
    );
    await h.press(anna, buttonsOf(list)[0]!.data, { chatId: 3001, messageId: 2 });
    expect(buttonsOf(h.lastSent()!)).toEqual([
      { text: 'ООО «Ромашка» · Сервер офиса', data: `ami:${installationId}` },
      { text: 'АО «Вектор» · Сервер офиса', data: `ami:${twin.id}` },
    ]);
    await h.press(anna, `ami:${twin.id}`, { chatId: 3001, messageId: 3 });
    expect((await open()).find((i) => i.ruleId.startsWith('am:ByName:'))!.installationId).toBe(twin.id);
    await h.say(anna, '/unmatched');
    expect(String(h.lastSent()!.payload.text)).toBe('Все оповещения Alertmanager нашли свои установки.');
  });

  it('a route settles an ambiguous source, but never overrides labels that name one installation', async () => {
    const other = await addClient(ctx(), { name: 'АО «Вектор»' });
    const twin = (await addInstallation(ctx(), { client: String(other.id), name: 'Сервер офиса', kind: 'local' })).installation;
    expect(await (await send(payload('firing', { alertname: 'ByName', installation: 'Сервер офиса' }))).json()).toMatchObject({ ambiguous: 1 });
    expect((await routeAlerts(ctx(), DEFAULT_INCIDENT_SETTINGS, 'installation:Сервер офиса', twin.id)).opened).toBe(1);
    expect((await open()).find((i) => i.ruleId.startsWith('am:ByName:'))!.installationId).toBe(twin.id);
    await routeAlerts(ctx(), DEFAULT_INCIDENT_SETTINGS, 'instance:10.1.2.3', twin.id);
    await send(payload('firing', { alertname: 'ByIp', instance: '10.1.2.3:9100' }));
    expect((await open()).find((i) => i.ruleId.startsWith('am:ByIp:'))!.installationId).toBe(installationId);
  });

  it('takes a large webhook whole, and refuses one over its limits saying which limit and what to set', async () => {
    const many = Array.from({ length: 1500 }, (_, i) => ({ labels: { alertname: 'Probe', installation_id: String(installationId), target: `t${i}` } }));
    expect(await (await send(webhook(many))).json()).toMatchObject({ received: 1500, opened: 1500 });
    const tooMany = Array.from({ length: MAX_WEBHOOK_ALERTS + 1 }, (_, i) => ({ labels: { alertname: 'X', n: String(i) } }));
    const refused = await send(webhook(tooMany));
    expect(refused.status).toBe(413);
    expect(((await refused.json()) as { error: string }).error).toMatch(/at most 10000 .* set max_alerts/);
    const huge = await fetch(`${url}/api/v1/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ alerts: [], padding: 'x'.repeat(33 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: string }).error).toMatch(/larger than 32 MiB/);
  });

  it('takes any alert name: spaces and other scripts open their incident, shown escaped with marks as �; only an alert without a name is unnamed, and said so', async () => {
    const id = String(installationId);
    // Grafana-managed alerts and Prometheus 3 allow any UTF-8 name.
    expect(await (await send(payload('firing', { alertname: 'High CPU usage', installation_id: id }))).json()).toMatchObject({ opened: 1, unmatched: 0 });
    expect(await (await send(payload('firing', { alertname: 'Диск <b>почти</b> полон\u202e', installation_id: id }))).json()).toMatchObject({ opened: 1, unmatched: 0 });
    const byName = async (name: string) => (await open()).find((i) => i.details.alertname === name)!;
    expect((await byName('High CPU usage')).ruleId).toMatch(/^am:High CPU usage:[0-9a-f]{16}$/);
    // The rule id (which the command line prints as it is) carries no reordering mark; the facts keep the name as sent.
    const hostile = await byName('Диск <b>почти</b> полон\u202e');
    expect(hostile.ruleId).toMatch(/^am:Диск <b>почти<\/b> полон\ufffd:[0-9a-f]{16}$/);
    const [view] = await getIncidentViews(t.db, [hostile.id]);
    const text = renderAlert(view!, { lang: 'ru', tz: 'Europe/Moscow', now: clock(), runbookUrl: runbookLink(null) }).text;
    expect(text).toContain('🟡 <b>Диск &lt;b&gt;почти&lt;/b&gt; полон\ufffd</b>');
    expect(text).not.toContain('\u202e');
    // A resend is the same alert.
    expect(await (await send(payload('firing', { alertname: 'High CPU usage', installation_id: id }))).json()).toMatchObject({ unchanged: 1 });

    // No alertname: nothing to open, and the admins hear why, not that no installation fits.
    const nameless = await send(payload('firing', { installation_id: id, job: 'node' }));
    expect(await nameless.json()).toMatchObject({ unnamed: 1, unmatched: 0, opened: 0 });
    const [notice] = await noticesTo(3001);
    expect(String(notice!.payload.text)).toContain(`• оповещение для «${id}» без метки alertname`);
    expect(String(notice!.payload.text)).not.toContain('ни одна установка не подходит');
  });

  it('lets the manager put off an Alertmanager alert with «⏰», as any other', async () => {
    await send(payload('firing', { alertname: 'High CPU usage', installation_id: String(installationId), severity: 'critical' }));
    const [incident] = await open();
    const h = botHarness(t.db, clock);
    await h.press({ id: 1001, first_name: 'Ксения' }, `snz:h:${incident!.id}`, { chatId: 1001, messageId: 1 });
    expect(h.lastSent('answerCallbackQuery')!.payload.text).toBe('Отложено до 10:00');
    const [view] = await getIncidentViews(t.db, [incident!.id]);
    expect(view!.snoozedUntil).toEqual(new Date('2023-02-15T07:00:00Z'));
    expect(view!.snoozedByName).toBe('Ксения Шабанова');
  });

  it('takes 10,000 alerts in chunks with the event loop free between them: /healthz is answered meanwhile, and the answer says what was taken', async () => {
    let healthAnsweredBeforeWebhook: boolean | null = null;
    let webhookAnswered = false;
    let asked = false;
    const logger = pino({ level: 'silent' });
    const app = buildHttpServer({
      db: t.db,
      clock,
      logger,
      settings: DEFAULT_INCIDENT_SETTINGS,
      alertmanagerToken: TOKEN,
      // Called as soon as the first chunk is written: /healthz is asked while the rest waits its turn.
      onIncidentChange: () => {
        if (asked) return;
        asked = true;
        void fetch(`${chunkedUrl}/healthz`).then((r) => {
          expect(r.status).toBe(200);
          healthAnsweredBeforeWebhook = !webhookAnswered;
        });
      },
    });
    const chunkedUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const many = Array.from({ length: MAX_WEBHOOK_ALERTS }, (_, i) => ({ labels: { alertname: 'Probe', installation_id: String(installationId), target: `t${i}` } }));
      const response = await fetch(`${chunkedUrl}/api/v1/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(webhook(many)),
      });
      const result = await response.json();
      webhookAnswered = true;
      expect(result).toEqual({ received: 10_000, opened: 10_000, resolved: 0, unchanged: 0, unmatched: 0, unnamed: 0, ambiguous: 0, ignored: 0 });
      await vi.waitFor(() => expect(healthAnsweredBeforeWebhook).not.toBeNull());
      expect(healthAnsweredBeforeWebhook).toBe(true);
      expect(await openCount()).toBe(10_000);
    } finally {
      await app.close();
    }
    // Ten thousand incidents opened, each a few statements: round trips on PostgreSQL where SQLite's are in-process.
  }, onPostgres() ? 120_000 : undefined);

  it('is idempotent across chunks: a resend after a crash part-way opens only the rest, and two webhooks taken side by side open each alert once', async () => {
    const alerts = Array.from({ length: 2_000 }, (_, i) => ({ labels: { alertname: 'Probe', installation_id: String(installationId), target: `t${i}` } }));
    // The process died after the first 600 were written: Alertmanager sends the whole group again.
    expect(await (await send(webhook(alerts.slice(0, 600)))).json()).toMatchObject({ opened: 600 });
    expect(await (await send(webhook(alerts))).json()).toMatchObject({ opened: 1_400, unchanged: 600 });
    const resolved = alerts.map((a) => ({ ...a, status: 'resolved' as const }));
    expect(await (await send(webhook(resolved, 'resolved'))).json()).toMatchObject({ resolved: 2_000 });

    // Two replicas of Alertmanager send the same group at once: their chunks interleave, and each alert opens once.
    const [a, b] = await Promise.all([send(webhook(alerts)), send(webhook(alerts))]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const [ra, rb] = (await Promise.all([a.json(), b.json()])) as { opened: number; unchanged: number }[];
    expect(ra!.opened + rb!.opened).toBe(2_000);
    expect(ra!.opened + ra!.unchanged).toBe(2_000);
    expect(await openCount()).toBe(2_000);
  });

  it('refuses a wrong token and a malformed payload, and logs one line for every webhook', async () => {
    expect((await send(payload('firing', { alertname: 'X' }), 'wrong-token-of-some-length')).status).toBe(401);
    const bad = await send({ alerts: [{ status: 'burning', labels: {} }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/alerts.0.status/);
    await send(payload('firing', { alertname: 'Fine', installation_id: String(installationId) }));
    const lines = logLines.filter((l) => String(l.msg).startsWith('alertmanager webhook'));
    expect(lines.map((l) => [l.msg, l.status ?? null])).toEqual([
      ['alertmanager webhook refused', 401],
      ['alertmanager webhook refused', 400],
      ['alertmanager webhook', null],
    ]);
    expect(lines[2]).toMatchObject({ received: 1, opened: 1 });
  });
});
