import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listIncidentEvents, listIncidentsWithNames } from '../db/incidents.ts';
import { outbox } from '../db/schema.ts';
import { getState } from '../db/state.ts';
import { getClientStatus, listClientsWithProblems } from '../db/status.ts';
import { renderClientStatus } from '../bot/render/status.ts';
import { buildDigest } from '../bot/digest.ts';
import { getUser, updateUser } from '../db/users.ts';
import { addInstallation } from '../registry/installations.ts';
import { botHarness } from './bot-helpers.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { loadSubject, openIncident } from '../incidents/lifecycle.ts';
import { writeTransaction } from '../db/transaction.ts';
import { DEPENDENCIES, EXPLAINED, waitingFor } from '../core/dependencies.ts';
import { RULE_IDS } from '../core/rules.ts';
import { PROBE_RULE_IDS } from '../core/probe-rules.ts';
import { runSweep } from '../jobs/sweep.ts';
import { DAY, HOUR, postReport, seedFleet, startIntake, testClock, testDb, type TestDb, type TestIntake } from './helpers.ts';

/**
 * What the server says of itself, through the intake: databases with their
 * licence terms and errors, seats, the licence manager and the server state,
 * as reports arrive and time passes.
 */
describe('the server state in reports', () => {
  // 09:00 in Moscow.
  const clock = testClock('2026-11-30T06:00:00Z');
  let t: TestDb;
  let intake: TestIntake;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  let seq = 0;
  const report = (body: string) => postReport(intake.url, `<report id="s${++seq}">${body}</report>`, { token: fleet.token });
  const sweep = async () => await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
  // Reports stop while the clock jumps ahead; the silence is another rule's business.
  const open = async () =>
    (await listIncidentsWithNames(t.db, { includeResolved: false }))
      .filter((i) => i.ruleId !== 'KodeksXmlMissing')
      .map((i) => [i.ruleId, i.severity, i.status]);
  const sent = async () =>
    (await t.db.select().from(outbox).orderBy(outbox.id))
      .map((m) => `${m.kind} ${(m.payload as { ruleId?: string }).ruleId ?? ''}`.trim())
      .filter((m) => !m.endsWith('KodeksXmlMissing'));

  const delivered = async () => await t.db.update(outbox).set({ status: 'sent' });

  beforeEach(async () => {
    clock.set('2026-11-30T06:00:00Z');
    t = await testDb();
    fleet = await seedFleet({ db: t.db, clock, actor: 'test' });
    intake = await startIntake(t.db, clock);
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  it('takes the new elements of a version 1 report into the state', async () => {
    const answer = await report(
      '<database name="Кодекс: Законодательство" update="2251" license-expires="2027-03-31" errors="696"/><database name="Техэксперт"/>' +
        '<seats licensed="10" used="7" refused="0"/><licman host="10.0.0.5" port="8888" state="ok"/><server state="ok"/>',
    );
    expect(answer.status).toBe(202);
    expect(await getState(t.db, fleet.installation.id)).toMatchObject({
      databases: [
        { name: 'Кодекс: Законодательство', updateNumber: 2251, licenseExpires: '2027-03-31', errors: [696] },
        { name: 'Техэксперт', errors: [] },
      ],
      licenseLimit: 10,
      seatsUsed: 7,
      licensePeak: 7,
      licenseExhausted: 0,
      licmanHost: '10.0.0.5',
      licmanPort: 8888,
      licmanState: 'ok',
      serverState: 'ok',
      serverMessage: '',
    });
    // A report that does not mention them keeps them.
    await report('<senselock state="ok"/>');
    expect((await getState(t.db, fleet.installation.id))!.databases).toHaveLength(2);
    // JSON: a list of databases, codes as numbers or as the XML string.
    const json = await postReport(
      intake.url,
      JSON.stringify({ id: 'j1', database: [{ name: 'А', errors: [51, 2007] }, { name: 'Б', errors: '600, 601' }], server: { state: 'need-support', message: 'Нужен специалист' } }),
      { token: fleet.token, contentType: 'application/json' },
    );
    expect(json.status).toBe(202);
    expect(await getState(t.db, fleet.installation.id)).toMatchObject({
      databases: [
        { name: 'А', errors: [51, 2007] },
        { name: 'Б', errors: [600, 601] },
      ],
      serverState: 'need-support',
      serverMessage: 'Нужен специалист',
    });
    // A bad date in the third database names the database's place.
    const refused = await report('<database name="a"/><database name="b"/><database name="c" license-expires="31.02.2027"/>');
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(/<database license-expires> #3: expected a date/);
  });

  it('the status card shows the server, licence terms soonest first, seats with refusals today, the licence manager and database errors', async () => {
    await report(
      '<database name="Законодательство" license-expires="2026-12-05" errors="4111"/><database name="Охрана труда" license-expires="2027-06-30"/>' +
        '<seats licensed="10" used="10" refused="2"/><licman host="10.0.0.5" state="unreachable"/><server state="maintenance" message="Идёт обновление"/>',
    );
    clock.advance(10 * 60_000);
    await report('<seats licensed="10" used="10" refused="1"/>');
    const card = renderClientStatus((await getClientStatus(t.db, fleet.client.id, clock()))!, 'ru', 'Europe/Moscow', clock()).split('\n');
    // Problems counted without the notices, which are listed apart.
    expect(card).toContain('🖥 <b>Сервер офиса</b> — ❌ 4 проблемы');
    expect(card).toContain('🔵 Для сведения: Сервер в режиме обслуживания');
    expect(card).toContain('⚠️ Сервер: на обслуживании с сегодня в 09:00: «Идёт обновление»');
    expect(card).toContain('⚠️ Лицензии: «Законодательство» до 05.12 (5 дней); «Охрана труда» до 30.06.2027 (212 дней)');
    expect(card).toContain('⚠️ Места: занято 10 из 10, пик 10, отказов сегодня: 3');
    expect(card).toContain('⚠️ Менеджер лицензий 10.0.0.5:8888: недоступен');
    expect(card).toContain('⚠️ Ошибки баз: 4111');
    // /status alone does not count a notice as a problem: only notices are left open here.
    await report('<database name="Законодательство" license-expires="2027-02-01"/><seats licensed="10" used="3" refused="0"/><licman state="ok"/>');
    expect(await open()).toEqual([
      ['KodeksMaintenance', 'info', 'open'],
      ['KodeksLicenseExpiring90day', 'info', 'open'],
    ]);
    expect(await listClientsWithProblems(t.db)).toEqual([]);
  });

  it('the digest lists licences ending within 30 days, full seats and notices; /licenses plans renewals by manager', async () => {
    await report('<database name="Законодательство" license-expires="2026-12-05"/><seats licensed="10" used="10" refused="2"/><server state="maintenance"/>');
    const lead = (await getUser(t.db, 2001))!;
    const text = (await buildDigest(t.db, lead, clock(), { tz: 'Europe/Moscow', salesMinDays: 3 })).text;
    // The client once, with its problems, then its notice, licence term and seats.
    expect(text).toContain(
      [
        '🏢 <b>ООО «Ромашка» · Сервер офиса</b>',
        '⏳ 🟡 Лицензия закончится в ближайшую неделю, меньше минуты; 🟡 Заняты все лицензии, меньше минуты; 🟡 Пользователям не хватило лицензий, меньше минуты',
        '🔵 Сервер в режиме обслуживания',
        '📅 лицензия «Законодательство» до 05.12 (5 дней)',
        '👥 занято 10 мест из 10, отказов сегодня: 2',
      ].join('\n'),
    );
    // The notice is not a problem: the licence week, the seats and the refusals are.
    expect(text).toContain('⏳ Никто не взял в работу: 3\n');

    const h = botHarness(t.db, clock);
    const ksenia = { id: 1001, first_name: 'Ксения' };
    await h.say(ksenia, '/licenses');
    expect(String(h.lastSent()!.payload.text).split('\n')).toEqual([
      '📅 <b>Лицензии заканчиваются в ближайшие 30 дней</b>: 1',
      '',
      '👤 <b>Ксения Шабанова</b> (1)',
      '• ООО «Ромашка» · Сервер офиса — «Законодательство» до 05.12 (5 дней)',
    ]);
    await h.say(ksenia, '/licenses 3');
    expect(h.lastSent()!.payload.text).toBe('В ближайшие 3 дня ни одна из известных лицензий ваших клиентов не заканчивается.');
    await h.say(ksenia, '/licenses завтра');
    expect(String(h.lastSent()!.payload.text)).toMatch(/^Формат: \/licenses/);
  });

  it('/licenses does not say «no licence ends» of installations whose dates nobody knows: it counts them, with why', async () => {
    const h = botHarness(t.db, clock);
    const ksenia = { id: 1001, first_name: 'Ксения' };
    await report('<service state="running"/>');
    await addInstallation({ db: t.db, clock, actor: 'test' }, { client: String(fleet.client.id), name: 'Склад', kind: 'local' });
    await h.say(ksenia, '/licenses 365');
    expect(h.lastSent()!.payload.text).toBe(
      'Даты лицензий неизвестны ни по одной из 2 установок: сказать, чьи лицензии заканчиваются, пока нельзя.\n' +
        '❔ Даты лицензий неизвестны у 2 из 2 установок: ещё без отчётов — 1; в отчётах нет дат лицензий — 1 (проверьте, что агент или настройка чтения sysinfo их читает).',
    );
    await report('<database name="Законодательство" license-expires="2026-12-05"/>');
    await h.say(ksenia, '/licenses');
    expect(String(h.lastSent()!.payload.text).split('\n').at(-1)).toBe('❔ Даты лицензий неизвестны у 1 из 2 установок: ещё без отчётов — 1.');
    await updateUser(t.db, 1001, { language: 'en' });
    await h.say({ ...ksenia, language_code: 'en' }, '/licenses 3');
    expect(h.lastSent()!.payload.text).toBe(
      'No known licence of your clients ends within 3 days.\n❔ Licence dates unknown for 1 of 2 installations: no reports yet — 1.',
    );
  });

  it('a term crossing 90, 7, 2 and 0 days: a notice nobody is sent, then alerts that replace each other; the renewal resolves', async () => {
    await report('<database name="Кодекс: Законодательство" license-expires="2027-01-20"/><database name="Охрана труда" license-expires="2027-06-30"/>');
    expect(await open()).toEqual([['KodeksLicenseExpiring90day', 'info', 'open']]);
    expect(await sent()).toEqual([]);

    clock.set('2027-01-14T06:00:00Z');
    await sweep();
    expect(await open()).toEqual([['KodeksLicenseExpiring7day', 'warning', 'open']]);
    expect(await sent()).toEqual(['incident.opened KodeksLicenseExpiring7day']);

    // Delivered (as the dispatcher would within seconds): its end is then told, not withdrawn with an unsent opening.
    await delivered();
    clock.set('2027-01-18T21:00:00Z');
    await sweep();
    expect(await open()).toEqual([['KodeksLicenseExpiring2day', 'critical', 'open']]);
    clock.set('2027-01-20T21:00:00Z');
    await sweep();
    expect(await open()).toEqual([['KodeksLicenseExpired', 'critical', 'open']]);

    clock.advance(HOUR);
    // Renewed: the soonest term is now the other database's, 161 days away.
    await report('<database name="Кодекс: Законодательство" license-expires="2028-01-20"/><database name="Охрана труда" license-expires="2027-06-30"/>');
    expect(await open()).toEqual([]);
    const all = await listIncidentsWithNames(t.db, { includeResolved: true });
    expect(
      all
        .filter((i) => i.status === 'resolved' && i.ruleId !== 'KodeksXmlMissing')
        .sort((a, b) => a.id - b.id)
        .map((i) => i.ruleId),
    ).toEqual(['KodeksLicenseExpiring90day', 'KodeksLicenseExpiring7day', 'KodeksLicenseExpiring2day', 'KodeksLicenseExpired']);
    // Only what was announced is said to have ended; the notice is on record but never sent.
    expect((await sent()).filter((m) => m.startsWith('incident.resolved'))).toEqual([
      'incident.resolved KodeksLicenseExpiring7day',
      'incident.resolved KodeksLicenseExpiring2day',
      'incident.resolved KodeksLicenseExpired',
    ]);
    const notice = all.find((i) => i.ruleId === 'KodeksLicenseExpiring90day')!;
    expect((await listIncidentEvents(t.db, notice.id)).map((e) => e.type)).toEqual(['opened', 'resolved']);
  });

  it('a notice is never reminded or escalated', async () => {
    await report('<server state="maintenance" message="Идёт обновление"/>');
    expect(await open()).toEqual([['KodeksMaintenance', 'info', 'open']]);
    clock.advance(2 * HOUR);
    expect(await sweep()).toMatchObject({ announced: 0, reminded: 0, escalated: 0 });
    expect(await sent()).toEqual([]);
    // Three hours in a row: maintenance is too long, and that is sent.
    clock.advance(HOUR + 1000);
    await sweep();
    expect(await open()).toEqual([
      ['KodeksMaintenance', 'info', 'open'],
      ['KodeksMaintenanceToLong', 'warning', 'open'],
    ]);
    expect(await sent()).toEqual(['incident.opened KodeksMaintenanceToLong']);
    clock.advance(DAY);
    await report('<server state="ok"/>');
    expect(await open()).toEqual([]);
  });

  it('seats filling and freeing, refusals in the report that brings them', async () => {
    await report('<seats licensed="10" used="10" refused="2"/>');
    expect(await open()).toEqual([
      ['KodeksLimitsUsers', 'warning', 'open'],
      ['KodeksDetectOverUserError', 'warning', 'open'],
    ]);
    clock.advance(15 * 60_000);
    await report('<seats licensed="10" used="10" refused="0"/>');
    expect(await open()).toEqual([['KodeksLimitsUsers', 'warning', 'open']]);
    clock.advance(15 * 60_000);
    await report('<seats licensed="10" used="6" refused="0"/>');
    expect(await open()).toEqual([]);
  });

  it('database errors: one incident listing the codes; a new code updates it and raises it to critical; clearing resolves it', async () => {
    await report('<database name="Законодательство" errors="696"/>');
    expect(await open()).toEqual([['KodeksDBErrors', 'warning', 'open']]);
    clock.advance(HOUR);
    await report('<database name="Законодательство" errors="696 4111"/><licman host="10.0.0.5" state="unreachable"/>');
    const [incident] = await listIncidentsWithNames(t.db, { includeResolved: false });
    expect(incident).toMatchObject({ ruleId: 'KodeksDBErrors', severity: 'critical', details: { codes: ['696', '4111'], licmanUnreachable: '10.0.0.5:8888' } });
    expect(await sent()).toEqual(['incident.opened KodeksDBErrors', 'incident.updated KodeksDBErrors']);
    // The same codes again change nothing.
    await report('<database name="Законодательство" errors="4111 696"/>');
    expect(await sent()).toHaveLength(2);
    await report('<database name="Законодательство" errors=""/>');
    expect(await open()).toEqual([]);
  });

  it('while the server is in maintenance, the web alert waits; it is announced if it outlives the maintenance', async () => {
    await report('<server state="maintenance"/>');
    const web = await writeTransaction(t.db, async (tx) =>
      openIncident(tx, DEFAULT_INCIDENT_SETTINGS, await loadSubject(tx, fleet.installation.id), { ruleId: 'KodeksBehindProxyDown', severity: 'critical', facts: { url: 'https://romashka.example.ru/', error: 'HTTP 503' } }, clock(), []),
    );
    expect((await listIncidentEvents(t.db, web.id)).map((e) => [e.type, e.details])).toEqual([
      ['opened', expect.anything()],
      ['held', { inhibitedBy: 'KodeksMaintenance' }],
    ]);
    expect(await sent()).toEqual([]);
    clock.advance(30 * 60_000);
    await report('<server state="ok"/>');
    await sweep();
    expect(await sent()).toEqual(['incident.opened KodeksBehindProxyDown']);
  });
});

describe('the dependency table', () => {
  it('names only rules that exist (and the licence manager), and answers what waits for what', () => {
    const known = new Set<string>([...RULE_IDS, ...PROBE_RULE_IDS, 'licman']);
    for (const { cause, waiting } of DEPENDENCIES) for (const id of [cause, ...waiting]) expect(known.has(id), id).toBe(true);
    for (const { cause, explained } of EXPLAINED) for (const id of [cause, ...explained]) expect(known.has(id), id).toBe(true);
    expect(waitingFor('KodeksBehindProxyDown', new Set(['KodeksMaintenance']))).toBe('KodeksMaintenance');
    expect(waitingFor('KodeksBehindProxyDown', new Set(['KodeksIcmp', 'KodeksMaintenance']))).toBe('KodeksIcmp');
    expect(waitingFor('KodeksXmlMissing', new Set(['KodeksMaintenance']))).toBeNull();
    expect(waitingFor('KodeksXmlSensLockStatus', new Set(['KodeksIcmp']))).toBeNull();
  });
});

