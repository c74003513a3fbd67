import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAvailabilityDays } from '../db/availability.ts';
import { getClientByName } from '../db/clients.ts';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { runProbeRound, type ProbeRoundOptions } from '../jobs/probe-round.ts';
import { runSweep } from '../jobs/sweep.ts';
import { ingestReport } from '../intake/ingest.ts';
import { parseReport } from '../intake/parse-report.ts';
import { outbox } from '../db/schema.ts';
import { parseStatusList, systemProbers, type Probers } from '../checks/probes/probers.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation, rotateToken, setLicman } from '../registry/installations.ts';
import { addUser } from '../registry/users.ts';
import { buildHttpServer } from '../app/http.ts';
import { createMetrics } from '../app/metrics.ts';
import { postReport, silentLogger, sqlRows, sqlValue, testClock, testDb, type TestDb } from './helpers.ts';
import { flagValue } from '../db/dialect.ts';
import { botHarness } from './bot-helpers.ts';
import { getClientStatus } from '../db/status.ts';
import { updateUser } from '../db/users.ts';
import { renderClientStatus } from '../bot/render/status.ts';

const options: ProbeRoundOptions = {
  timeoutMs: 1000,
  upStatuses: parseStatusList('200-399,401'),
  concurrency: 10,
  failuresToOpen: 2,
  groupMin: 3,
  historyMs: 7 * 86_400_000,
};

/** A web server on an ephemeral loopback port that can be stopped and started again on the same port. */
class WebServer {
  private server: Server | undefined;
  port = 0;
  status = 200;
  body: string | Buffer = 'Техэксперт';
  contentType = 'text/html; charset=utf-8';
  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      res.statusCode = this.status;
      res.setHeader('content-type', this.contentType);
      res.end(this.body);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

describe('probes', () => {
  const clock = testClock('2022-11-15T06:00:00Z');
  let t: TestDb;
  let web: WebServer;
  let pingOk: boolean;
  /** ICMP needs privileges, so tests answer ping themselves; TCP, HTTP and DNS are real, on loopback. */
  let dnsBack: boolean;
  const probers: Probers = {
    ...systemProbers,
    ping: async () => (pingOk ? { ok: true, latencyMs: 1, error: null } : { ok: false, latencyMs: null, error: 'no answer' }),
    // A name set aside never to resolve, until a test says DNS is back.
    resolve: async (host, timeoutMs) => (dnsBack && host === 'romashka.invalid' ? { addresses: ['127.0.0.1'] } : systemProbers.resolve(host, timeoutMs)),
  };
  const ctx = () => ({ db: t.db, clock, actor: 'test' });
  const round = async () => {
    const summary = await runProbeRound({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, probers, options });
    clock.advance(60_000);
    return summary;
  };
  const open = () => listIncidentsWithNames(t.db, { includeResolved: false });

  beforeEach(async () => {
    clock.set('2022-11-15T06:00:00Z');
    t = await testDb();
    web = new WebServer();
    await web.start();
    pingOk = true;
    dnsBack = false;
    await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'John Smith' });
    await addUser(ctx(), { telegramId: 1001, role: 'manager', name: 'Ксения Шабанова' });
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна' });
  });
  afterEach(async () => {
    await web.stop();
    await t.close();
  });

  const installation = async (name: string, fields: { host?: string; ip?: string; url?: string; provider?: string }, client = 'ООО «Ромашка»') => {
    const clientId = (await getClientByName(t.db, client))?.id ?? (await addClient(ctx(), { name: client, managerId: 1001 })).id;
    return (await addInstallation(ctx(), { client: String(clientId), name, kind: 'cloud', ...fields })).installation;
  };

  it('a web server that stops: the port alert opens after two failed rounds and holds the web alert back; both end when it is back', async () => {
    await installation('Облако', { url: `http://127.0.0.1:${web.port}/`, ip: '127.0.0.1' });
    expect((await round()).opened).toBe(0);
    await web.stop();
    expect((await round()).opened).toBe(0); // one failure is not enough: no flapping
    expect((await round()).opened).toBe(2);
    expect((await open()).map((i) => [i.ruleId, i.announcedAt !== null])).toEqual([
      ['KodeksTcpStatus', true],
      ['KodeksBehindProxyDown', false],
    ]);
    expect((await open())[0]!.details).toMatchObject({ target: `127.0.0.1:${web.port}`, error: `TCP 127.0.0.1:${web.port}: ECONNREFUSED` });
    expect((await open())[1]!.details).toMatchObject({ url: `http://127.0.0.1:${web.port}/`, error: 'ECONNREFUSED' });
    await web.start();
    expect((await round()).resolved).toBe(2);
    expect(await open()).toEqual([]);
  });

  it('counts every round in the installation’s day, up when what users reach answered: the main page, else ping', async () => {
    const site = await installation('Облако', { url: `http://127.0.0.1:${web.port}/`, ip: '127.0.0.1' });
    const pingOnly = await installation('Склад', { ip: '127.0.0.2' });
    await round();
    await web.stop();
    // Ping still answers, but the page does not: users cannot work, so the round is down.
    await round();
    await round();
    await web.start();
    pingOk = false;
    clock.set('2022-11-15T20:59:30Z'); // 23:59:30 in Moscow
    await round(); // the page is back; the other installation does not answer ping
    await round(); // a minute later: the next day in Moscow
    const days = async (id: number) => (await listAvailabilityDays(t.db, id, '2022-11-01', '2022-11-30')).map((d) => [d.day, d.rounds, d.up]);
    expect(await days(site.id)).toEqual([
      ['2022-11-15', 4, 2],
      ['2022-11-16', 1, 1],
    ]);
    expect(await days(pingOnly.id)).toEqual([
      ['2022-11-15', 4, 3],
      ['2022-11-16', 1, 0],
    ]);
  });

  it('leaves a round out of availability when not one of ten or more installations answered: that is dozor’s own network', async () => {
    const fleet: Awaited<ReturnType<typeof installation>>[] = [];
    for (let i = 0; i < 10; i++) fleet.push(await installation(`Сервер ${i}`, { ip: `127.0.0.${i + 2}` }));
    pingOk = false;
    await round();
    expect(await listAvailabilityDays(t.db, fleet[0]!.id, '2022-11-01', '2022-11-30')).toEqual([]);
    pingOk = true;
    await round();
    expect(await listAvailabilityDays(t.db, fleet[0]!.id, '2022-11-01', '2022-11-30')).toEqual([{ day: '2022-11-15', rounds: 1, up: 1 }]);
  });

  it('a main page that answers with an error opens KodeksHttp200Status; failures must come in a row', async () => {
    await installation('Облако', { url: `http://127.0.0.1:${web.port}/` });
    web.status = 500;
    await round();
    web.status = 200;
    await round();
    web.status = 500;
    await round();
    expect(await open()).toEqual([]);
    await round();
    expect((await open()).map((i) => [i.ruleId, i.details.status])).toEqual([['KodeksHttp200Status', 500]]);
    // A proxy whose server behind it does not answer is web access down, not the page.
    web.status = 502;
    await round();
    await round();
    expect((await open()).map((i) => i.ruleId)).toEqual(['KodeksBehindProxyDown']);
  });

  it('counts 2xx, 3xx and 401 as up', async () => {
    await installation('Облако', { url: `http://127.0.0.1:${web.port}/` });
    for (const status of [200, 302, 401]) {
      web.status = status;
      await round();
      await round();
    }
    expect(await open()).toEqual([]);
  });

  it('diagnoses a name that fails while the recorded IP works, and gives the address to log in by', async () => {
    await installation('Облако', { host: 'romashka.invalid', ip: '127.0.0.1', url: `http://romashka.invalid:${web.port}/` });
    await round();
    await round();
    const rules = (await open()).map((i) => i.ruleId).sort();
    expect(rules).toEqual(['KodeksBehindProxyDown', 'KodeksDns']);
    const web_ = (await open()).find((i) => i.ruleId === 'KodeksBehindProxyDown')!;
    expect(web_.details).toMatchObject({ error: 'ENOTFOUND', workingUrl: `http://127.0.0.1:${web.port}/` });
    const dns = (await open()).find((i) => i.ruleId === 'KodeksDns')!;
    expect(dns.details).toMatchObject({ host: 'romashka.invalid', expectedIp: '127.0.0.1' });

    const h = botHarness(t.db, clock);
    await h.dispatcher().runOnce();
    const text = h.sent().map((c) => String(c.payload.text)).join('\n');
    // The web and DNS alerts of the installation are one item, the way round first: the address to give clients.
    expect(h.sent()).toHaveLength(1);
    expect(text).toContain(`<b>По имени не открываются, по IP работают — дайте клиентам адреса:</b>\n• ООО «Ромашка» · Облако — http://127.0.0.1:${web.port}/`);
    expect(text).toContain('\n🏢 <b>ООО «Ромашка» · Облако</b>\n🔴 <b>Веб-доступ к установке не работает</b> — критично: ');
    expect(text).toContain('\n🟡 <b>Установка не находится по имени</b> — внимание: ');
    expect(text).toContain('Имя romashka.invalid: имя не находится в DNS');
  });

  it('the DNS outage ends in one edit of its message and one reply, in Russian and English, and both say how long it lasted from its first failed probe', async () => {
    await updateUser(t.db, 1002, { language: 'en' });
    for (const [name, client, manager] of [['Облако', 'ООО «Ромашка»', 1001], ['Cloud', 'Vector Ltd', 1002]] as const) {
      const clientId = (await addClient(ctx(), { name: client, managerId: manager })).id;
      await addInstallation(ctx(), { client: String(clientId), name, kind: 'cloud', host: 'romashka.invalid', ip: '127.0.0.1', url: `http://romashka.invalid:${web.port}/` });
    }
    await round(); // 09:00 Moscow: the first failure
    await round(); // 09:01: the second, and the alerts open
    const h = botHarness(t.db, clock);
    await h.dispatcher().runOnce();
    expect(h.sent()).toHaveLength(2);
    // The name is found again 20 minutes later.
    dnsBack = true;
    clock.advance(18 * 60_000);
    expect((await round()).resolved).toBe(4);
    await h.dispatcher().runOnce();
    const edits = h.sent('editMessageText');
    // The web and the name alerts end in two batches (a critical's change goes first): the second redraw is the same text, which Telegram leaves as it is.
    for (const chat of [1001, 1002]) expect(new Set(edits.filter((c) => c.payload.chat_id === chat).map((c) => c.payload.text)).size).toBe(1);
    const replies = h.sent().slice(2);
    expect(replies.map((c) => c.payload.chat_id).sort()).toEqual([1001, 1002]);
    const ru = (chat: number, method = 'sendMessage') => String(h.sent(method).filter((c) => c.payload.chat_id === chat).at(-1)!.payload.text);
    // One duration for the event, counted from the first failed probe (09:00), in the edit and in the reply alike.
    expect(ru(1001, 'editMessageText')).toContain('☑️ Решено, длилось 20 минут');
    expect(ru(1001, 'editMessageText').match(/длилось/g)).toHaveLength(1);
    expect(ru(1001)).toBe('☑️ <b>ООО «Ромашка»</b> · Облако: ПК снова открывается в браузере, установка снова находится по имени, сегодня в 09:20; длилось 20 минут');
    expect(ru(1002, 'editMessageText')).toMatch(/^<b>☑️ All recovered<\/b>/);
    expect(ru(1002, 'editMessageText')).toContain('☑️ Resolved after 20 minutes');
    expect(ru(1002)).toBe('☑️ <b>Vector Ltd</b> · Cloud: ПК opens in the browser again, the installation is found by its name again, today at 09:20; it lasted 20 minutes');
    // Nothing more is said of it.
    await h.dispatcher().runOnce();
    expect(h.sent()).toHaveLength(4);
  });

  it('reports a name that resolves to another address than the recorded one', async () => {
    await installation('Сервер', { host: 'localhost', ip: '10.99.99.99' });
    pingOk = true;
    await round();
    await round();
    expect((await open()).find((i) => i.ruleId === 'KodeksDns')!.details).toMatchObject({ host: 'localhost', expectedIp: '10.99.99.99' });
  });

  it('announces five installations of one provider failing together as one grouped message naming the cause', async () => {
    const closed = web.port;
    await web.stop();
    for (let i = 1; i <= 5; i++) {
      await installation(`Облако ${i}`, { ip: '127.0.0.1', url: `http://127.0.0.1:${closed}/c${i}`, provider: 'Техэксперт.Облако' }, `Клиент ${i}`);
    }
    await installation('Свой сервер', { url: `http://127.0.0.1:${closed}/own` }, 'ИП Одиночка');
    await round();
    const summary = await round();
    // Each installation: its port alert, and the web alert it holds back.
    expect(summary.opened).toBe(12);
    expect(summary.commonCauses).toEqual([{ kind: 'provider', name: 'Техэксперт.Облако', installations: 5 }]);
    expect((await open()).filter((i) => i.ruleId === 'KodeksTcpStatus')).toHaveLength(6); // each installation still has its own incident

    const h = botHarness(t.db, clock);
    await h.dispatcher().runOnce();
    const messages = h.sent();
    expect(messages).toHaveLength(1); // all six go to the same manager, due together
    const text = String(messages[0]!.payload.text);
    expect(text).toContain('🚨 6 новых оповещений');
    // The provider's five carry the common cause; rendered alone they are one message with the cause named.
    const onlyProvider = (await open()).filter((i) => i.ruleId === 'KodeksTcpStatus' && i.details.commonCause === 'provider:Техэксперт.Облако');
    expect(onlyProvider).toHaveLength(5);
  });

  it('names the common cause when the group is what a chat receives', async () => {
    await web.stop();
    for (let i = 1; i <= 3; i++) await installation(`Облако ${i}`, { ip: '127.0.0.1', url: `http://127.0.0.1:${web.port || 1}/c${i}`, provider: 'Техэксперт.Облако' });
    await round();
    await round();
    const h = botHarness(t.db, clock);
    await h.dispatcher().runOnce();
    const text = String(h.lastSent()!.payload.text);
    expect(text).toContain('🌐 Вероятная общая причина: сбой у провайдера «Техэксперт.Облако» — 3 установки недоступны одновременно');
    expect(text.match(/Веб-порт установки не принимает соединения/g)).toHaveLength(3);
  });

  it('holds back the alerts that follow from an unreachable installation, and announces those that outlive it', async () => {
    const inst = await installation('Сервер', { ip: '127.0.0.1', url: `http://127.0.0.1:${web.port}/` });
    pingOk = false;
    await web.stop();
    await round();
    await round();
    expect((await open()).map((i) => i.ruleId).sort()).toEqual(['KodeksBehindProxyDown', 'KodeksIcmp', 'KodeksTcpStatus']);
    const proxy = (await open()).find((i) => i.ruleId === 'KodeksBehindProxyDown')!;
    expect(proxy.announcedAt).toBeNull();
    expect((await open()).find((i) => i.ruleId === 'KodeksTcpStatus')!.announcedAt).toBeNull();
    const h = botHarness(t.db, clock);
    const dispatcher = h.dispatcher();
    await dispatcher.runOnce();
    expect(h.sent()).toHaveLength(1);
    expect(String(h.sent()[0]!.payload.text)).toContain('⏸ Придержано: 2 оповещения-следствия');

    pingOk = true; // the host answers again, the web server is still down
    await round();
    // The port alert outlives the silent ping and is announced; the web alert still waits for the port.
    expect((await open()).map((i) => [i.ruleId, i.announcedAt !== null])).toEqual([
      ['KodeksTcpStatus', true],
      ['KodeksBehindProxyDown', false],
    ]);
    clock.advance(60_000);
    await dispatcher.runOnce();
    expect(h.sent().map((c) => String(c.payload.text)).at(-1)).toContain('Веб-порт установки не принимает соединения');
    expect((await open())[0]!.installationName).toBe(inst.name);
  });

  describe('what the main page says of the server', () => {
    const reported = async (id: number) => await ingestReport(t.db, DEFAULT_INCIDENT_SETTINGS, { id }, parseReport(Buffer.from('<report/>'), 'xml', { tz: 'Europe/Moscow' }), clock());
    const sweep = async () => await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
    const sent = async () => (await t.db.select().from(outbox).orderBy(outbox.id)).map((m) => `${m.kind} ${(m.payload as { ruleId: string }).ruleId}`);

    it('503 for four hours: a silent KodeksMaintenance, then one KodeksMaintenanceToLong message, and no page or web alert', async () => {
      const inst = await installation('Облако', { url: `http://127.0.0.1:${web.port}/`, ip: '127.0.0.1' });
      await reported(inst.id);
      web.status = 503;
      for (let i = 0; i < 3; i++) await round();
      expect((await open()).map((i) => [i.ruleId, i.severity])).toEqual([['KodeksMaintenance', 'info']]);
      expect(await sent()).toEqual([]);
      for (let hour = 1; hour <= 4; hour++) {
        clock.advance(60 * 60_000);
        await round();
        await sweep();
      }
      expect((await open()).map((i) => i.ruleId)).toEqual(['KodeksMaintenance', 'KodeksMaintenanceToLong']);
      expect(await sent()).toEqual(['incident.opened KodeksMaintenanceToLong']);
      // The page works again: maintenance is over, and so is the alert.
      web.status = 200;
      await round();
      expect(await open()).toEqual([]);
    });

    it('words the distributor names: maintenance and a call for a specialist read from the page, in its own charset', async () => {
      const inst = await installation('Облако', { url: `http://127.0.0.1:${web.port}/` });
      await reported(inst.id);
      const words = { maintenance: /технические работы/iu, needSupport: /требуется вмешательство/iu };
      const withWords = async () => {
        await runProbeRound({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, probers, options: { ...options, pageWords: words } });
        clock.advance(60_000);
      };
      web.body = 'Сервер: требуется вмешательство специалиста';
      await withWords();
      expect((await open()).map((i) => i.ruleId)).toEqual(['KodeksNeedSupport']);
      expect(await sent()).toEqual(['incident.opened KodeksNeedSupport']);
      // A page in windows-1251 (А-я are 0xC0-0xFF there).
      web.contentType = 'text/html; charset=windows-1251';
      web.body = Buffer.from([...'Технические работы'].map((c) => (c === ' ' ? 0x20 : c.charCodeAt(0) - 0x410 + 0xc0)));
      await withWords();
      expect((await open()).map((i) => i.ruleId)).toEqual(['KodeksMaintenance']);
      web.body = 'Техэксперт';
      await withWords();
      expect(await open()).toEqual([]);
    });
  });

  it('probes the licence manager, and a key alert while its port is closed names it as the probable cause', async () => {
    const inst = await installation('Сервер', { ip: '127.0.0.1' });
    const closed = web.port;
    await web.stop();
    await expect(setLicman(ctx(), inst.id, 'lm.example.ru:99999')).rejects.toThrow(/is not a licence manager address/);
    await setLicman(ctx(), inst.id, `127.0.0.1:${closed}`);
    await round();
    await round();
    expect((await open()).map((i) => [i.ruleId, i.details.target])).toEqual([['LicmanTcpStatus', `127.0.0.1:${closed}`]]);
    await ingestReport(t.db, DEFAULT_INCIDENT_SETTINGS, { id: inst.id }, parseReport(Buffer.from('<report><senselock state="lost"/></report>'), 'xml', { tz: 'Europe/Moscow' }), clock());
    const key = (await open()).find((i) => i.ruleId === 'KodeksXmlSensLockStatus')!;
    expect(key.details).toEqual({ senselockState: 'lost', licmanUnreachable: `127.0.0.1:${closed}` });
    const h = botHarness(t.db, clock);
    await h.dispatcher().runOnce();
    expect(h.sent().map((c) => String(c.payload.text)).join('\n')).toContain(`🔎 Вероятная причина: менеджер лицензий 127.0.0.1:${closed} недоступен`);
    // The card says so too.
    const card = renderClientStatus((await getClientStatus(t.db, inst.clientId, clock()))!, 'ru', 'Europe/Moscow', clock());
    expect(card).toContain(`⚠️ Менеджер лицензий 127.0.0.1:${closed}: порт 127.0.0.1:${closed}: соединение отклонено (порт закрыт)`);
  });

  it('sends no probe to the names and addresses set aside for examples (.example, 192.0.2.x): an installation typed from the README is left alone', async () => {
    const asked: string[] = [];
    const watching: Probers = {
      resolve: async (name) => (asked.push(`resolve ${name}`), { addresses: ['127.0.0.1'] }),
      ping: async (address) => (asked.push(`ping ${address}`), { ok: true, latencyMs: 1, error: null }),
      tcp: async (address, port) => (asked.push(`tcp ${address}:${port}`), { ok: true, latencyMs: 1, error: null }),
      http: async (url) => (asked.push(`http ${url}`), { ok: true, latencyMs: 1, error: null, status: 200 }),
    };
    await installation('Сервер офиса', { host: 'romashka.example', ip: '192.0.2.10', url: 'https://romashka.example/' });
    await installation('Облако', { host: 'kodeks.example.com', ip: '2001:db8::7', url: 'http://198.51.100.4:8080/' }, 'АО «Вектор»');
    await runProbeRound({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, probers: watching, options });
    expect(asked).toEqual([]);
    expect(await open()).toEqual([]);
    // A real address beside an example name is probed.
    await installation('Филиал', { host: 'branch.example', ip: '127.0.0.1' }, 'ООО «Север»');
    await runProbeRound({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, probers: watching, options });
    expect(asked).toEqual(['ping 127.0.0.1']);
  });

  it('keeps a bounded history of results with latency', async () => {
    await installation('Облако', { url: `http://127.0.0.1:${web.port}/` });
    await round();
    const rows = await sqlRows<{ probe: string; ok: unknown; latency_ms: number }>(t.db, 'SELECT probe, ok, latency_ms FROM probe_results');
    expect(rows.map((r) => r.probe).sort()).toEqual(['http', 'tcp']);
    expect(rows.every((r) => flagValue(r.ok) && r.latency_ms >= 0)).toBe(true);
    clock.advance(8 * 86_400_000);
    await round();
    expect(Number(await sqlValue(t.db, 'SELECT count(*) AS n FROM probe_results'))).toBe(2);
  });

  it('exposes /metrics for Prometheus', async () => {
    const inst = await installation('Облако', { url: `http://127.0.0.1:${web.port}/` });
    await round();
    const app = buildHttpServer({
      db: t.db,
      clock,
      logger: silentLogger(),
      settings: DEFAULT_INCIDENT_SETTINGS,
      metrics: { registry: createMetrics(t.db, clock) },
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const text = await (await fetch(`${url}/metrics`)).text();
      const samples = parsePrometheus(text);
      const labels = `installation_id="${inst.id}",installation="Облако",client="ООО «Ромашка»"`;
      expect(samples.get(`dozor_probe_up{${labels},probe="http"}`)).toBe(1);
      expect(samples.get(`dozor_probe_latency_seconds{${labels},probe="http"}`)).toBeGreaterThanOrEqual(0);
      expect(samples.get('dozor_open_incidents{severity="critical"}')).toBe(0);
      expect(samples.get('dozor_installations')).toBe(1);
      expect([...samples.keys()].some((k) => k.startsWith('dozor_process_cpu_seconds_total'))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('puts report age, operap age, key and service per installation into /metrics', async () => {
    const inst = await installation('Облако', {});
    const app = buildHttpServer({ db: t.db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, metrics: { registry: createMetrics(t.db, clock) } });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const issued = await rotateToken(ctx(), inst.id);
      await postReport(url, '<report id="m"><update operap-date="2022-11-14"/><senselock state="lost"/><service state="running"/></report>', { token: issued.token });
      clock.advance(90_000);
      const samples = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
      const labels = `installation_id="${inst.id}",installation="Облако",client="ООО «Ромашка»"`;
      expect(samples.get(`dozor_installation_report_age_seconds{${labels}}`)).toBe(90);
      expect(samples.get(`dozor_installation_senselock_ok{${labels}}`)).toBe(0);
      expect(samples.get(`dozor_installation_service_up{${labels}}`)).toBe(1);
      // 14.11 00:00 Moscow is 13.11 21:00 UTC; now is 15.11 06:01:30 UTC.
      expect(samples.get(`dozor_installation_operap_age_seconds{${labels}}`)).toBe(33 * 3600 + 90);
      expect(samples.get(`dozor_installation_open_incidents{${labels},severity="critical"}`)).toBe(1);
    } finally {
      await app.close();
    }
  });
});

/** The Prometheus text format, read back: "name{labels}" -> value. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^(\S+?(?:\{.*\})?)\s+(\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}
