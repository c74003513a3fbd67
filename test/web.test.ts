import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installations, outbox, silences } from '../db/schema.ts';
import { insertUpload } from '../db/uploads.ts';
import type { WebSettings } from '../web/kit.ts';
import { buildHttpServer } from '../app/http.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { addUser, setUserActive } from '../registry/users.ts';
import { parseConfig } from '../app/config.ts';
import { insertIncident, listIncidentsWithNames, recordIncidentEvent } from '../db/incidents.ts';
import { countProbeRound } from '../db/availability.ts';
import { getIncidentViews } from '../db/incidents.ts';
import { externalRuleId, labelFingerprint } from '../core/external-alerts.ts';
import { writeTransaction } from '../db/transaction.ts';
import { acknowledge } from '../registry/incidents.ts';
import { addSilence, removeSilence } from '../registry/silences.ts';
import { botHarness, buttonsOf, type Person } from './bot-helpers.ts';
import { postReport, SAMPLE_XML, seedFleet, silentLogger, testClock, testDb, type TestClock, type TestDb } from './helpers.ts';
import { strangeWordsIn } from './russian-words.ts';

/** The HTTP server with the cabinet on an ephemeral port, on this database, with these cabinet settings over the usual ones. */
async function cabinetServer(db: TestDb['db'], clock: TestClock, web: Partial<WebSettings> = {}) {
  const app = buildHttpServer({ db, clock, logger: silentLogger(), settings: DEFAULT_INCIDENT_SETTINGS, web: { publicUrl: 'https://dozor.example.ru', displayTz: 'Europe/Moscow', morningHour: 9, ...web } });
  return { url: await app.listen({ host: '127.0.0.1', port: 0 }), close: () => app.close() };
}

/**
 * The browser cabinet, first part: the link from the bot opens a session,
 * checked on every request; the fleet page lists every installation,
 * problems first, every stored string escaped. (The browser tests with
 * Chromium come with the rest of the pages.)
 */
describe('the browser cabinet: access and the fleet page', () => {
  const clock = testClock('2026-11-30T07:00:00Z');
  let t: TestDb;
  let url = '';
  let close: () => Promise<void>;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  const ctx = () => ({ db: t.db, clock, actor: 'test' });
  const get = (path: string, cookie?: string) => fetch(`${url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });

  beforeEach(async () => {
    clock.set('2026-11-30T07:00:00Z');
    t = await testDb();
    fleet = await seedFleet(ctx());
    ({ url, close } = await cabinetServer(t.db, clock));
  });
  afterEach(async () => {
    await close();
    await t.close();
  });

  /** Another server on the same database, with other cabinet settings. */
  function serverWith(web: Partial<WebSettings>) {
    return cabinetServer(t.db, clock, web);
  }

  /** /web in the bot, as the person would send it: the token of the link it answers with. */
  async function linkFor(person: Person): Promise<string> {
    const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
    await h.say(person, '/web');
    const text = String(h.lastSent()!.payload.text);
    const token = /https:\/\/dozor\.example\.ru\/web\/login\?token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
    expect(token, text).toBeDefined();
    return token!;
  }

  async function signIn(person: Person): Promise<string> {
    const opened = await get(`/web/login?token=${await linkFor(person)}`);
    expect(opened.status).toBe(303);
    return opened.headers.get('set-cookie')!.split(';')[0]!;
  }

  it('a link from /web opens a session once: the cookie is HttpOnly, SameSite=Lax and Secure, the address bar keeps no secret', async () => {
    expect((await get('/web/')).headers.get('location')).toBe('/web/hello');
    const hello = await get('/web/hello');
    expect(await hello.text()).toContain('отправьте боту команду /web');

    const token = await linkFor({ id: 1001, first_name: 'Ксения' });
    const opened = await get(`/web/login?token=${token}`);
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/web/');
    expect(opened.headers.get('set-cookie')).toMatch(/^dozor_session=[A-Za-z0-9_-]+; Path=\/web; HttpOnly; SameSite=Lax; Secure$/);
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    const page = await get('/web/', cookie);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    expect(await page.text()).toMatch(/<td>ООО «Ромашка»<\/td><td><a href="\/web\/installations\/\d+">Сервер офиса<\/a><\/td>/);
    // Used once: the same link again opens nothing.
    expect((await get(`/web/login?token=${token}`)).status).toBe(403);
  });

  it('shows every installation, problems first, and a hostile name as text', async () => {
    const evil = await addClient(ctx(), { name: '<script>alert(1)</script>' });
    await addInstallation(ctx(), { client: String(evil.id), name: 'Склад', kind: 'local' });
    await postReport(url, '<report id="k"><senselock state="lost"/></report>', { token: fleet.token });
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    const html = await (await get('/web/', cookie)).text();
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    const rows = [...html.matchAll(/<tr class="([a-z]*)"><td>([^<]*)<\/td><td><a href="[^"]*">([^<]*)<\/a><\/td><td>([^<]*)<\/td>/g)].map((m) => [m[1], m[3], m[4]]);
    expect(rows).toEqual([
      ['critical', 'Сервер офиса', 'Ключ SenseLock не виден'],
      ['silent', 'Склад', 'отчётов не было'],
    ]);
  });

  it('shows the installation\'s upload name on its page, escaped', async () => {
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    await t.db.update(installations).set({ uploadName: 'ROMASHKA' }).where(eq(installations.id, fleet.installation.id));
    expect(await (await get(`/web/installations/${fleet.installation.id}`, cookie)).text()).toContain('<b>Сервер офиса</b> (имя загрузки <code>ROMASHKA</code>) — ');
    // One stored before names were checked is shown as text.
    await t.db.update(installations).set({ uploadName: '<img src=x>' }).where(eq(installations.id, fleet.installation.id));
    const html = await (await get(`/web/installations/${fleet.installation.id}`, cookie)).text();
    expect(html).toContain('(имя загрузки <code>&lt;img src=x&gt;</code>)');
    expect(html).not.toContain('<img src=x>');
  });

  it('says what is wrong in each row: the problems by name, critical first, a silent installation for how long', async () => {
    const { token } = await addInstallation(ctx(), { client: String(fleet.client.id), name: 'Архив', kind: 'local' });
    await postReport(url, '<report id="a"><shell version="6.4.3.59"/></report>', { token });
    await postReport(url, SAMPLE_XML.replace('<senselock state="ok"/>', '<senselock state="lost"/>'), { token: fleet.token });
    clock.advance(7 * 3_600_000);
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    const html = await (await get('/web/', cookie)).text();
    const verdicts = [...html.matchAll(/<tr class="[a-z]*"><td>[^<]*<\/td><td><a href="[^"]*">([^<]*)<\/a><\/td><td>([^<]*)<\/td>/g)].map((m) => [m[1], m[2]]);
    expect(verdicts).toEqual([
      ['Сервер офиса', 'Ключ SenseLock не виден; Пользователям не хватило лицензий; Оперативные пополнения устарели'],
      ['Архив', 'молчит 7 часов'],
    ]);
  });

  it('says an operap\'s day as the card does: «сегодня», «вчера», the day and whole days ago, red past the threshold', async () => {
    const archive = (await addInstallation(ctx(), { client: String(fleet.client.id), name: 'Архив', kind: 'local' })).token;
    const branch = (await addInstallation(ctx(), { client: String(fleet.client.id), name: 'Филиал', kind: 'local' })).token;
    // 30.11 at 10:00 in Moscow.
    await postReport(url, '<report id="o1"><update operap-date="2026-11-30"/></report>', { token: fleet.token });
    await postReport(url, '<report id="o2"><update operap-date="2026-11-29"/></report>', { token: archive });
    await postReport(url, '<report id="o3"><update operap-date="2026-11-25"/></report>', { token: branch });
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    const cells = (html: string) => [...html.matchAll(/<td( class="bad"[^>]*)?>([^<]*(?:сегодня|вчера|today|yesterday|назад|ago))<\/td>/g)].map((m) => [m[2], m[1] ? 'red' : '']);
    expect(cells(await (await get('/web/', cookie)).text()).sort()).toEqual([
      ['25.11, 5 дней назад', 'red'],
      ['вчера', ''],
      ['сегодня', ''],
    ]);
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Anna Admin' });
    const english = await (await get('/web/', await signIn({ id: 3001, first_name: 'Anna', language_code: 'en' }))).text();
    expect(cells(english).sort()).toEqual([
      ['25.11, 5 days ago', 'red'],
      ['today', ''],
      ['yesterday', ''],
    ]);
  });

  it('leaves out a column empty on every row of the view and says why under the table; seats not reported are said in words', async () => {
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    const english = await signIn({ id: 2001, first_name: 'Irina', language_code: 'en' });
    const vector = await addClient(ctx(), { name: 'АО «Вектор»' });
    const accounts = await addInstallation(ctx(), { client: String(vector.id), name: 'Бухгалтерия', kind: 'cloud' });
    await addInstallation(ctx(), { client: String(vector.id), name: 'Склад', kind: 'local' });
    await postReport(url, SAMPLE_XML, { token: fleet.token });
    await postReport(url, '<report id="v"><shell version="6.4.3.59"/></report>', { token: accounts.token });
    /** The page as read: its column headings, the seats of each row, the line under the table. */
    const read = async (query = '', who = cookie, base = url) => {
      const html = await (await fetch(`${base}/web/${query}`, { headers: { cookie: who } })).text();
      const columns = [...html.matchAll(/<th><a href="[^"]*">([^<]*)<\/a><\/th>/g)].map((m) => m[1]!);
      const rows = [...html.matchAll(/<tr class="[a-z]*">([^]*?)<\/tr>/g)].map((row) => [...row[1]!.matchAll(/<td[^>]*>([^]*?)<\/td>/g)].map((cell) => cell[1]!.replace(/<[^>]+>/g, '')));
      const column = (heading: string) => rows.map((cells) => cells[columns.indexOf(heading)]);
      return {
        columns,
        seats: column(who === cookie ? 'Места' : 'Seats'),
        licences: column('Лицензия до'),
        why: /<p class="summary hidden-columns">([^<]*)<\/p>/.exec(html)?.[1] ?? null,
        html,
      };
    };

    // No sysinfo from anyone, no licence date in any report: both columns go, and the line says so in plain words.
    const none = await read();
    expect(none.columns).toEqual(['Клиент', 'Установка', 'Состояние', 'Последний отчёт', 'Операп', 'Версия · обновление', 'Места', 'Менеджер']);
    expect(none.why).toBe('Ни одна установка в списке не присылала sysinfo: колонки «Последний sysinfo» и «Лицензия до» скрыты.');
    // The licence limit came, the seats in use did not: said, not «? / 10».
    expect(none.seats).toEqual(['по лицензии 10, занято: нет данных', '', '']);
    expect(none.html).not.toMatch(/<td[^>]*>\? \/|\/ \?<\/td>/);
    expect(strangeWordsIn(none.why!)).toEqual([]);
    const inEnglish = await read('', english);
    expect(inEnglish.columns).not.toContain('Last sysinfo');
    expect(inEnglish.why).toBe('No installation in this list has sent a sysinfo: the columns “Last sysinfo” and “Licence until” are hidden.');
    expect(inEnglish.seats).toEqual(['licensed 10, in use: no data', '', '']);

    // A view of one client, who has no manager, and one installation that never reported: each reason once.
    expect((await read(`?kind=local`)).why).toBe(
      'Ни одна установка в списке не присылала sysinfo: колонки «Последний sysinfo» и «Лицензия до» скрыты. ' +
        'Ни одна установка в списке ещё не присылала отчётов: колонки «Операп», «Версия · обновление» и «Места» скрыты. ' +
        'Ни у одного клиента в списке нет менеджера: колонка «Менеджер» скрыта.',
    );
    expect((await read(`?kind=local`, english)).why).toBe(
      'No installation in this list has sent a sysinfo: the columns “Last sysinfo” and “Licence until” are hidden. ' +
        'No installation in this list has sent a report yet: the columns “Operap”, “Version · update” and “Seats” are hidden. ' +
        'No client in this list has a manager: the column “Manager” is hidden.',
    );

    // A sysinfo came, but no licence date was read from it: the sysinfo column is back, the licence one still out, and why.
    await insertUpload(t.db, { installationId: fleet.installation.id, name: 'ROMASHKA', kind: 'zip', path: 'uploads/r.zip', size: 1000, sha256: '0'.repeat(64), receivedAt: clock() });
    const received = await read();
    expect(received.columns).toContain('Последний sysinfo');
    expect(received.columns).not.toContain('Лицензия до');
    expect(received.why).toBe('Ни в sysinfo, ни в отчётах агентов нет дат окончания лицензий: колонка «Лицензия до» скрыта.');
    // Where the mapping in force reads no licence dates at all, that is the reason given.
    const unmapped = await serverWith({ sysinfoReadsLicences: false });
    try {
      const why = (await read('', cookie, unmapped.url)).why;
      expect(why).toBe('sysinfo приходят, но dozor не настроен читать из них даты окончания лицензий (это настраивает администратор сервиса): колонка «Лицензия до» скрыта.');
      expect(strangeWordsIn(why!)).toEqual([]);
      expect((await read('', english, unmapped.url)).why).toBe(
        'Sysinfo files arrive, but dozor is not set up to read licence end dates from them (the service administrator sets this up): the column “Licence until” is hidden.',
      );
    } finally {
      await unmapped.close();
    }

    // A licence date known for one installation: the column is shown, and nothing is said.
    await postReport(url, SAMPLE_XML.replace('</report>', '<database name="Кодекс: Законодательство" license-expires="2027-03-31"/></report>'), { token: fleet.token });
    const dated = await read();
    expect(dated.columns).toContain('Лицензия до');
    expect(dated.why).toBeNull();
    // Said as the card says it, how far off included; the CSV keeps the date as it is.
    expect(dated.licences).toEqual(['31.03.2027, через 121 день', '', '']);
    const datedEn = await read('', english);
    expect(datedEn.html).toContain('>31.03.2027, in 121 days</td>');
    expect((await (await fetch(`${url}/web/fleet.csv`, { headers: { cookie } })).text()).split('\r\n').find((line) => line.includes('Сервер офиса'))).toContain(';2027-03-31;');
    // The reports page's licence terms: the month and the day in words, the CSV as dates.
    const reportRows = async (who: string) => {
      const html = await (await fetch(`${url}/web/reports`, { headers: { cookie: who } })).text();
      const section = /<section class="report" id="licences">[^]*?<\/section>/.exec(html)![0];
      return [...section.matchAll(/<tr[^>]*>([^]*?)<\/tr>/g)].slice(1).map((m) => [...m[1]!.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((c) => c[1]));
    };
    expect(await reportRows(cookie)).toEqual([['март 2027', '1', 'ООО «Ромашка» · Сервер офиса (31.03.2027, через 121 день)']]);
    expect(await reportRows(english)).toEqual([['March 2027', '1', 'ООО «Ромашка» · Сервер офиса (31.03.2027, in 121 days)']]);
    const licenceCsv = (await (await fetch(`${url}/web/reports/licences.csv`, { headers: { cookie } })).text()).split('\r\n');
    expect(licenceCsv[1]).toBe('2027-03;1;ООО «Ромашка» · Сервер офиса (2027-03-31)');
  });

  it('filters by search, manager, kind and problems, sorts by a column, and exports the view as CSV with the same filters', async () => {
    await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров', leadId: 2001 });
    const vector = await addClient(ctx(), { name: 'АО «Вектор»', managerId: 1002 });
    await addInstallation(ctx(), { client: String(vector.id), name: 'Бухгалтерия', kind: 'cloud', provider: 'Техэксперт.Облако' });
    const formula = await addClient(ctx(), { name: '=HYPERLINK("x"); "Ромашка"', managerId: 1002 });
    await addInstallation(ctx(), { client: String(formula.id), name: 'Склад', kind: 'local' });
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    const names = async (query: string) =>
      [...(await (await get(`/web/${query}`, cookie)).text()).matchAll(/<tr class="[a-z]*"><td>[^<]*<\/td><td><a href="[^"]*">([^<]*)<\/a><\/td>/g)].map((m) => m[1]);
    // The /status search forgives a typo; the filters narrow; the order can be any column, either way.
    expect(await names(`?q=${encodeURIComponent('вектр')}`)).toEqual(['Бухгалтерия']);
    expect(await names(`?manager=${encodeURIComponent('Ксения Шабанова')}`)).toEqual(['Сервер офиса']);
    expect(await names('?kind=cloud')).toEqual(['Бухгалтерия']);
    expect(await names(`?provider=${encodeURIComponent('Техэксперт.Облако')}`)).toEqual(['Бухгалтерия']);
    expect(await names('?sort=installation')).toEqual(['Бухгалтерия', 'Сервер офиса', 'Склад']);
    expect(await names('?sort=installation&dir=desc')).toEqual(['Склад', 'Сервер офиса', 'Бухгалтерия']);
    const page = await (await get('/web/?kind=cloud', cookie)).text();
    expect(page).toContain('<a href="/web/fleet.csv?kind=cloud">Скачать CSV</a>');
    expect(page).toContain('<option value="cloud" selected>облачная</option>');

    const csv = await get('/web/fleet.csv?sort=installation', cookie);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="dozor-fleet.csv"');
    const bytes = Buffer.from(await csv.arrayBuffer());
    // A byte order mark first, so a spreadsheet reads UTF-8.
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = bytes.subarray(3).toString('utf8').split('\r\n');
    expect(lines[0]).toBe('Клиент;Установка;Состояние;Последний отчёт;Последний sysinfo;Операп;Версия · обновление;Лицензия до;Места;Менеджер');
    // A name that would be a formula in a spreadsheet is text there too, quoted because of its ; and ".
    expect(lines).toContain(`"'=HYPERLINK(""x""); ""Ромашка""";Склад;отчётов не было;;;;;;;Пётр Сидоров`);
    // Without a session there is no CSV either.
    expect((await get('/web/fleet.csv')).headers.get('location')).toBe('/web/hello');
  });

  it('refuses a stranger, an expired link and a session gone idle; a person disabled loses an open page on the next request', async () => {
    const stranger = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
    await stranger.say({ id: 777, first_name: 'Чужой' }, '/web');
    expect(String(stranger.lastSent()!.payload.text)).not.toContain('/web/login');

    const late = await linkFor({ id: 2001, first_name: 'Ирина' });
    clock.advance(11 * 60_000);
    expect((await get(`/web/login?token=${late}`)).status).toBe(403);

    const idle = await signIn({ id: 2001, first_name: 'Ирина' });
    clock.advance(13 * 3_600_000);
    expect((await get('/web/', idle)).headers.get('location')).toBe('/web/hello');

    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна' });
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    expect((await get('/web/', cookie)).status).toBe(200);
    await setUserActive({ db: t.db, clock, actor: 'tg:3001' }, 1001, false);
    expect((await get('/web/', cookie)).headers.get('location')).toBe('/web/hello');
  });

  it('speaks English to a person whose Telegram is in English, on every page', async () => {
    await postReport(url, '<report id="k"><senselock state="lost"/></report>', { token: fleet.token });
    const cookie = await signIn({ id: 2001, first_name: 'Irina', language_code: 'en' });
    const pages = {
      '/web/': 'Installations',
      '/web/incidents': 'Open: 1',
      [`/web/installations/${fleet.installation.id}`]: 'Incidents over 90 days',
      '/web/reports?month=2026-11': 'Client availability, November 2026',
    };
    for (const [path, words] of Object.entries(pages)) {
      const html = await (await get(path, cookie)).text();
      expect(html, path).toContain(words);
      expect(html, path).toContain('<html lang="en">');
      // Nothing of the page's own wording in Russian (stored names, such as the client's, are what they are).
      const own = html.replace(/ООО «Ромашка»|Сервер офиса|Ксения Шабанова|Ирина Петрова/g, '');
      expect(own.match(/[А-Яа-яЁё]+/g) ?? [], path).toEqual([]);
    }
  });

  it('takes only what it offers from the address: a report month from its list, a notice about an incident number', async () => {
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    // No shell version reported yet: no chart to download, and a plain 404 page, not a file.
    const png = await get('/web/reports/versions.png?month=2026-11', cookie);
    expect(png.status).toBe(404);
    expect(png.headers.get('content-disposition')).toBeNull();
    expect(await (await get('/web/reports?month=1970-01', cookie)).text()).toContain('<option value="2026-11" selected>');
    expect(await (await get('/web/reports?month=2026-12', cookie)).text()).toContain('<option value="2026-11" selected>');
    expect(await (await get('/web/reports?month=2025-11', cookie)).text()).toContain('<option value="2025-11" selected>');
    expect(await (await get(`/web/incidents?done=acknowledged&id=${encodeURIComponent('5 и всё починено')}`, cookie)).text()).not.toContain('class="notice"');
    expect(await (await get('/web/incidents?done=acknowledged&id=5', cookie)).text()).toContain('Инцидент №5 взят');
  });

  it('ends a session WEB_SESSION_MAX after it opened however busy, lets a tab reloading itself go idle, and signs out with «Выйти»', async () => {
    // Busy all week: a person's request every 6 hours keeps it from going idle, but not past 7 days.
    const busy = await signIn({ id: 1001, first_name: 'Ксения' });
    for (let hours = 6; hours <= 7 * 24; hours += 6) {
      clock.advance(6 * 3_600_000);
      expect((await get('/web/', busy)).status, `after ${hours} h`).toBe(200);
    }
    clock.advance(60_000);
    expect((await get('/web/', busy)).headers.get('location')).toBe('/web/hello');
    expect(parseConfig({ WEB_SESSION_MAX: '1d' }).WEB_SESSION_MAX).toBe(86_400_000);
    expect(parseConfig({}).WEB_SESSION_MAX).toBe(7 * 86_400_000);

    // The incidents page reloads itself to an address that says so; those reloads are not the person's use.
    const tab = await signIn({ id: 1001, first_name: 'Ксения' });
    expect(await (await get('/web/incidents', tab)).text()).toContain('<meta http-equiv="refresh" content="15; url=/web/incidents?auto=1">');
    expect(await (await get('/web/incidents?severity=critical&q=x', tab)).text()).toContain('content="15; url=/web/incidents?q=x&amp;severity=critical&amp;auto=1"');
    for (let minutes = 15; minutes <= 12 * 60; minutes += 15) {
      clock.advance(15 * 60_000);
      expect((await get('/web/incidents?auto=1', tab)).status, `after ${minutes} min`).toBe(200);
    }
    clock.advance(60_000);
    expect((await get('/web/incidents?auto=1', tab)).headers.get('location')).toBe('/web/hello');

    // «Выйти»: a form with the session's token; without it (another site's form) nothing happens.
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    const page = await (await get('/web/', cookie)).text();
    const csrf = /<form method="post" action="\/web\/logout" class="logout"><input type="hidden" name="csrf" value="([^"]+)"><button type="submit">Выйти<\/button><\/form>/.exec(page)?.[1];
    expect(csrf).toBeDefined();
    const post = (body: string) => fetch(`${url}/web/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect((await post('csrf=forged')).status).toBe(403);
    expect((await fetch(`${url}/web/logout`, { redirect: 'manual', headers: { cookie } })).status).toBe(404);
    expect((await get('/web/', cookie)).status).toBe(200);
    const out = await post(`csrf=${encodeURIComponent(csrf!)}`);
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/web/bye');
    expect(out.headers.get('set-cookie')).toBe('dozor_session=; Path=/web; Max-Age=0; HttpOnly; SameSite=Lax; Secure');
    expect(out.headers.get('clear-site-data')).toBe('"cache"');
    expect(await (await get('/web/bye')).text()).toContain('Сеанс в личном кабинете закончен');
    expect((await get('/web/', cookie)).headers.get('location')).toBe('/web/hello');
  });

  it('shows the first 500 open incidents with a count, filters them without script, and answers a reload 304 while nothing changed', async () => {
    await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров', leadId: 2001 });
    const vector = await addClient(ctx(), { name: 'АО «Вектор»', managerId: 1002 });
    const accounts = (await addInstallation(ctx(), { client: String(vector.id), name: 'Бухгалтерия', kind: 'cloud' })).installation;
    const open = async (installationId: number, ruleId: string, severity: 'critical' | 'warning', minutesAgo: number) => {
      const incident = await insertIncident(t.db, { installationId, ruleId, severity, status: 'open', details: {}, openedAt: new Date(clock().getTime() - minutesAgo * 60_000), announcedAt: clock() });
      await recordIncidentEvent(t.db, { incidentId: incident.id, at: clock(), type: 'opened', actor: 'system' });
      return incident;
    };
    await writeTransaction(t.db, async () => {
      for (let i = 0; i < 600; i++) await open(fleet.installation.id, `am:DiskFull:${String(i).padStart(4, '0')}`, 'warning', 600 - i);
      for (let i = 0; i < 3; i++) await open(accounts.id, `am:ServiceDown:${i}`, 'critical', 10);
    });
    const cookie = await signIn({ id: 2001, first_name: 'Ирина' });
    const ids = (html: string) => [...html.matchAll(/<tr id="incident-(\d+)" class="([a-z ]+)">/g)].map((m) => [Number(m[1]), m[2]] as const);

    const first = await get('/web/incidents', cookie);
    const html = await first.text();
    expect(html).toContain('<p class="summary">Открыто: 603 · показаны первые 500: уточните фильтр · страница обновляется каждые 15 секунд</p>');
    const rows = ids(html);
    expect(rows).toHaveLength(500);
    // Critical first, then the oldest.
    expect(rows.slice(0, 4).map(([, css]) => css)).toEqual(['critical', 'critical', 'critical', 'warning']);
    expect(html).toContain('DiskFull');
    expect(html.length).toBeLessThan(1_000_000);

    // Filters, as a form that needs no script.
    expect(html).toContain('<form method="get" action="/web/incidents" class="filters">');
    expect(html).toContain('<option value="1002">Пётр Сидоров</option>');
    const only = async (query: string) => ids(await (await get(`/web/incidents?${query}`, cookie)).text()).length;
    expect(await only('severity=critical')).toBe(3);
    expect(await only('manager=1002')).toBe(3);
    expect(await only('manager=1001')).toBe(500);
    expect(await only(`q=${encodeURIComponent('вектор')}`)).toBe(3);
    expect(await only(`q=${encodeURIComponent('вектор')}&severity=warning`)).toBe(0);
    expect(await (await get('/web/incidents?manager=1002&severity=critical', cookie)).text()).toContain('<p class="summary">Открыто: 3 · страница');

    // The reload of an open tab: 304 until something changes (or a minute passes: the ages count minutes).
    const tag = first.headers.get('etag')!;
    expect(tag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    expect(first.headers.get('cache-control')).toBe('private, no-cache');
    const again = (etag: string, path = '/web/incidents', who = cookie) => fetch(`${url}${path}`, { redirect: 'manual', headers: { cookie: who, 'if-none-match': etag } });
    const unchanged = await again(tag);
    expect(unchanged.status).toBe(304);
    expect(await unchanged.text()).toBe('');
    expect((await again(tag, '/web/incidents?severity=critical')).status).toBe(200);
    expect((await again(tag, '/web/incidents', await signIn({ id: 1001, first_name: 'Ксения' }))).status).toBe(200);
    await acknowledge({ db: t.db, clock, actor: 'tg:1002' }, rows[0]![0]);
    const changed = await again(tag);
    expect(changed.status).toBe(200);
    const newTag = changed.headers.get('etag')!;
    expect(newTag).not.toBe(tag);
    expect((await again(newTag)).status).toBe(304);
    clock.advance(60_000);
    expect((await again(newTag)).status).toBe(200);
    // Without a session, no page and no 304 either.
    expect((await again(newTag, '/web/incidents', '')).headers.get('location')).toBe('/web/hello');
  });

  it('shows an Alertmanager alert of any name escaped, and snoozes it from the incidents page, as any other', async () => {
    const name = '<i>High</i> CPU usage\u202e';
    const ruleId = externalRuleId(name, labelFingerprint({ alertname: name, installation_id: String(fleet.installation.id) }));
    const incident = await insertIncident(t.db, { installationId: fleet.installation.id, ruleId, severity: 'warning', status: 'open', details: { source: 'alertmanager', alertname: name }, openedAt: clock(), announcedAt: clock() });
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    const page = await (await get('/web/incidents', cookie)).text();
    expect(page).toContain('&lt;i&gt;High&lt;/i&gt; CPU usage\ufffd');
    expect(page).not.toContain('<i>High');
    const csrf = new RegExp(`action="/web/incidents/${incident.id}/snooze"><input type="hidden" name="csrf" value="([^"]+)">`).exec(page)?.[1];
    expect(csrf).toBeDefined();
    const snoozed = await fetch(`${url}/web/incidents/${incident.id}/snooze`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf=${encodeURIComponent(csrf!)}&until=hour`,
    });
    expect(snoozed.status).toBe(303);
    expect(snoozed.headers.get('location')).toBe(`/web/incidents?done=snoozed&id=${incident.id}#incident-${incident.id}`);
    const [view] = await getIncidentViews(t.db, [incident.id]);
    expect(view!.snoozedUntil).toEqual(new Date('2026-11-30T08:00:00Z'));
  });

  for (const lang of ['ru', 'en'] as const) {
    it(`«До утра» on a critical asks first (${lang}): the question names who will be told, «Да» says until when and who, the lead reads the alert; «Не откладывать» says it was not put off; a warning goes at once`, async () => {
      await postReport(url, '<report id="k"><senselock state="lost"/><kit daily-update="false"/></report>', { token: fleet.token });
      const h = botHarness(t.db, clock);
      await h.dispatcher().runOnce();
      const open = await listIncidentsWithNames(t.db, { includeResolved: false });
      const critical = open.find((i) => i.severity === 'critical')!;
      const warning = open.find((i) => i.severity === 'warning')!;
      const ksenia: Person = lang === 'en' ? { id: 1001, first_name: 'Ксения', language_code: 'en' } : { id: 1001, first_name: 'Ксения' };
      const cookie = await signIn(ksenia);
      const page = await (await get('/web/incidents', cookie)).text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
      const post = (id: number, body: string) =>
        fetch(`${url}/web/incidents/${id}/snooze`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${encodeURIComponent(csrf)}&${body}` });
      const noticeOf = async (location: string) => /<p class="notice" role="status">([^<]*)<\/p>/.exec(await (await get(location, cookie)).text())?.[1];
      const snoozedToLead = async () => (await t.db.select().from(outbox).where(eq(outbox.kind, 'incident.snoozed'))).map((row) => row.chatId);

      const asked = await post(critical.id, 'until=morning');
      expect(asked.status).toBe(200);
      const question = await asked.text();
      expect(question).toContain(
        lang === 'ru'
          ? '<p><strong>Ключ SenseLock не виден — ООО «Ромашка» · Сервер офиса</strong></p>\n<p>Отложить критичное «Ключ SenseLock не виден» до 09:00 завтра? Руководитель узнает: Ирина Петрова.</p>'
          : '<p><strong>SenseLock key not seen — ООО «Ромашка» · Сервер офиса</strong></p>\n<p>Put off the critical “SenseLock key not seen” until 09:00 tomorrow? The lead will be told: Ирина Петрова.</p>',
      );
      expect(await t.db.select().from(silences)).toEqual([]);
      const notNow = /<a href="([^"]+)">(Не откладывать|Do not put off)<\/a>/.exec(question)![1]!.replace(/&amp;/g, '&');
      expect(await noticeOf(notNow)).toBe(lang === 'ru' ? `Не отложено: инцидент №${critical.id} ждёт, кто возьмёт его в работу.` : `Not put off: incident #${critical.id} waits for someone to take it.`);
      expect(await t.db.select().from(silences)).toEqual([]);
      expect(await snoozedToLead()).toEqual([]);

      const confirmed = await post(critical.id, 'until=morning&confirm=1');
      expect(confirmed.status).toBe(303);
      expect(await noticeOf(confirmed.headers.get('location')!)).toBe(
        lang === 'ru' ? `💤 Инцидент №${critical.id} отложен до 09:00 завтра. Руководитель узнает: Ирина Петрова.` : `💤 Incident #${critical.id} is put off until 09:00 tomorrow. The lead will be told: Ирина Петрова.`,
      );
      expect(await snoozedToLead()).toEqual([2001]);
      // What the lead reads in Telegram, and the manager's alert redrawn to say who put it off until when.
      h.clear();
      await h.dispatcher().runOnce();
      const toLead = h.sent('sendMessage').filter((c) => c.payload.chat_id === 2001);
      expect(toLead.map((c) => String(c.payload.text).split('\n').slice(0, 4))).toEqual([
        ['💤 Ксения Шабанова отложила критичное оповещение до 09:00 завтра', 'Если ждать нельзя, возьмите его в работу сами или позвоните менеджеру.', '', '🔴 <b>Ключ SenseLock не виден</b>'],
      ]);
      expect(buttonsOf(toLead[0]!).map((b) => b.text)).toContain('🙋 Беру');
      expect(h.sent('editMessageText').some((c) => c.payload.chat_id === 1001 && String(c.payload.text).includes(lang === 'ru' ? '💤 Ксения Шабанова отложила до 09:00 завтра' : '💤 Ксения Шабанова snoozed until 09:00 tomorrow'))).toBe(true);

      // A warning till morning is not asked about, and nobody else is told.
      const warned = await post(warning.id, 'until=morning');
      expect(warned.status).toBe(303);
      expect(warned.headers.get('location')).toBe(`/web/incidents?done=snoozed&id=${warning.id}#incident-${warning.id}`);
      expect(await noticeOf(warned.headers.get('location')!)).toBe(lang === 'ru' ? `Оповещения по инциденту №${warning.id} отложены.` : `Alerts of incident #${warning.id} are put off.`);
      expect((await getIncidentViews(t.db, [warning.id]))[0]!.snoozedUntil).toEqual(new Date('2026-12-01T06:00:00Z'));
      expect(await snoozedToLead()).toEqual([2001]);
    });
  }

  it('«До утра» on a critical at 08:30 is 09:00, half an hour away, and the lead is still told as the question promised', async () => {
    clock.set('2026-12-01T05:30:00Z');
    await postReport(url, '<report id="k"><senselock state="lost"/></report>', { token: fleet.token });
    const [critical] = await listIncidentsWithNames(t.db, { includeResolved: false });
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await get('/web/incidents', cookie)).text())![1]!;
    const post = (body: string) =>
      fetch(`${url}/web/incidents/${critical!.id}/snooze`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${encodeURIComponent(csrf)}&${body}` });
    expect(await (await post('until=morning')).text()).toContain('<p>Отложить критичное «Ключ SenseLock не виден» до 09:00? Руководитель узнает: Ирина Петрова.</p>');
    const done = await post('until=morning&confirm=1');
    expect(/<p class="notice" role="status">([^<]*)<\/p>/.exec(await (await get(done.headers.get('location')!, cookie)).text())?.[1]).toBe(
      `💤 Инцидент №${critical!.id} отложен до 09:00. Руководитель узнает: Ирина Петрова.`,
    );
    expect((await t.db.select().from(outbox).where(eq(outbox.kind, 'incident.snoozed'))).map((row) => row.chatId)).toEqual([2001]);
  });

  it('a lead putting off their own team\'s critical in the cabinet is promised nobody, and nobody is told', async () => {
    await postReport(url, '<report id="k"><senselock state="lost"/></report>', { token: fleet.token });
    const [critical] = await listIncidentsWithNames(t.db, { includeResolved: false });
    const cookie = await signIn({ id: 2001, first_name: 'Ирина' });
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await get('/web/incidents', cookie)).text())![1]!;
    const post = (body: string) =>
      fetch(`${url}/web/incidents/${critical!.id}/snooze`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${encodeURIComponent(csrf)}&${body}` });
    expect(await (await post('until=morning')).text()).toContain('<p>Отложить критичное «Ключ SenseLock не виден» до 09:00 завтра?</p>');
    const done = await post('until=morning&confirm=1');
    expect(/<p class="notice" role="status">([^<]*)<\/p>/.exec(await (await get(done.headers.get('location')!, cookie)).text())?.[1]).toBe(`💤 Инцидент №${critical!.id} отложен до 09:00 завтра.`);
    expect(await t.db.select().from(outbox).where(eq(outbox.kind, 'incident.snoozed'))).toEqual([]);
  });

  it('says on the incidents page what holds an alert nobody was told of: the alert it waits for, by its title, or a silence until when', async () => {
    const installationId = fleet.installation.id;
    await insertIncident(t.db, { installationId, ruleId: 'KodeksTcpStatus', severity: 'critical', status: 'open', details: {}, openedAt: clock(), announcedAt: clock() });
    const page = await insertIncident(t.db, { installationId, ruleId: 'KodeksHttp200Status', severity: 'critical', status: 'open', details: {}, openedAt: clock() });
    // Of the client (a snooze, of the installation and rule, says until when itself).
    const silence = await addSilence(ctx(), { client: String(fleet.client.id), rule: 'KodeksServiceDown', for: '2h', reason: 'замена службы', tz: 'Europe/Moscow' });
    const service = await insertIncident(t.db, { installationId, ruleId: 'KodeksServiceDown', severity: 'critical', status: 'open', details: {}, openedAt: clock() });
    const row = (html: string, id: number) => new RegExp(`<tr id="incident-${id}"[^]*?</tr>`).exec(html)![0];

    const russian = await (await get('/web/incidents', await signIn({ id: 1001, first_name: 'Ксения' }))).text();
    expect(row(russian, page.id)).toContain('<br>ждёт: Веб-порт установки не принимает соединения</td>');
    expect(row(russian, service.id)).toContain('<br>оповещение отложено до 12:00</td>');
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Anna Admin' });
    const english = await (await get('/web/incidents', await signIn({ id: 3001, first_name: 'Anna', language_code: 'en' }))).text();
    expect(row(english, page.id)).toContain('<br>waiting for The web port takes no connections</td>');
    expect(row(english, service.id)).toContain('<br>alert put off until 12:00</td>');
    await removeSilence(ctx(), silence.id);
    expect(row(await (await get('/web/incidents', await signIn({ id: 1001, first_name: 'Ксения' }))).text(), service.id)).toContain('<br>оповещение уйдёт при следующей проверке</td>');
  });

  it('keeps the rule ids in the cabinet: small under each title, with SMART\'s name, on the incidents page and the installation\'s timeline', async () => {
    const installationId = fleet.installation.id;
    const xml = await insertIncident(t.db, { installationId, ruleId: 'KodeksXmlMissing', severity: 'warning', status: 'open', details: {}, openedAt: clock(), announcedAt: clock() });
    const dns = await insertIncident(t.db, { installationId, ruleId: 'KodeksDns', severity: 'warning', status: 'open', details: {}, openedAt: clock(), announcedAt: clock() });
    const row = (html: string, id: number) => new RegExp(`<tr id="incident-${id}"[^]*?</tr>`).exec(html)![0];
    const ksenia = await signIn({ id: 1001, first_name: 'Ксения' });
    const russian = await (await get('/web/incidents', ksenia)).text();
    expect(row(russian, xml.id)).toContain('<small class="rule-id">KodeksXmlMissing (в SMART — SmartXMLfileIsToOld)</small></td>');
    expect(row(russian, dns.id)).toContain('<small class="rule-id">KodeksDns (в SMART такого оповещения нет)</small></td>');
    const english = await (await get('/web/incidents', await signIn({ id: 2001, first_name: 'Irina', language_code: 'en' }))).text();
    expect(row(english, xml.id)).toContain('<small class="rule-id">KodeksXmlMissing (SmartXMLfileIsToOld in SMART)</small>');
    const timeline = /<table class="timeline stack">[^]*?<\/table>/.exec(await (await get(`/web/installations/${installationId}`, ksenia)).text())![0];
    expect(timeline).toContain('<small class="rule-id">KodeksXmlMissing (в SMART — SmartXMLfileIsToOld)</small>');
    expect(timeline).toContain('<small class="rule-id">KodeksDns (в SMART такого оповещения нет)</small>');
  });

  it('answers guessing with 429 after 20 wrong links from one address', async () => {
    for (let i = 0; i < 20; i++) expect((await get(`/web/login?token=wrong-token-${i}-aaaaaaaaaaaaaaaa`)).status).toBe(403);
    const limited = await get('/web/login?token=wrong-token-x-aaaaaaaaaaaaaaaa');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

/**
 * The reports a renewal meeting and a team review read, and the installation
 * page's history: figures as each language writes them, availability judged
 * by its 99 % line in the table and on the chart, the time to acknowledge and
 * to resolve in words and once, alike agent reports folded into one line.
 */
describe('the browser cabinet: reports and the installation page in words', () => {
  const clock = testClock('2026-11-30T07:00:00Z');
  let t: TestDb;
  let url = '';
  let close: () => Promise<void>;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  const ctx = (actor = 'test') => ({ db: t.db, clock, actor });
  const get = (path: string, cookie?: string) => fetch(`${url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });

  beforeEach(async () => {
    clock.set('2026-11-30T07:00:00Z');
    t = await testDb();
    fleet = await seedFleet(ctx());
    ({ url, close } = await cabinetServer(t.db, clock));
  });
  afterEach(async () => {
    await close();
    await t.close();
  });

  async function signIn(person: Person): Promise<string> {
    const h = botHarness(t.db, clock, { publicUrl: 'https://dozor.example.ru' });
    await h.say(person, '/web');
    const token = /\/web\/login\?token=([A-Za-z0-9_-]+)/.exec(String(h.lastSent()!.payload.text))![1]!;
    return (await get(`/web/login?token=${token}`)).headers.get('set-cookie')!.split(';')[0]!;
  }

  /** The rows of a report's table on the page, as a person reads them. */
  const table = (html: string, report: string) => {
    const section = new RegExp(`<section class="report" id="${report}">[^]*?</section>`).exec(html)![0];
    const cells = (row: string) => [...row.matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g)].map((m) => m[1]);
    return [...section.matchAll(/<tr[^>]*>[^]*?<\/tr>/g)].map((m) => cells(m[0]));
  };

  /** How many pixels of a PNG are (close to) a colour. */
  async function pixelsOf(png: Buffer, [r, g, b]: [number, number, number]): Promise<number> {
    const { createCanvas, loadImage } = await import('@napi-rs/canvas');
    const image = await loadImage(png);
    const canvas = createCanvas(image.width, image.height);
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const data = context.getImageData(0, 0, image.width, image.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]! - r) + Math.abs(data[i + 1]! - g) + Math.abs(data[i + 2]! - b) < 30) n++;
    return n;
  }

  it('availability «61,2 %» in Russian and «61.2%» in English, below 99 % marked and red, and the line drawn', async () => {
    const vector = await addClient(ctx(), { name: 'АО «Вектор»', managerId: 1001 });
    const { installation } = await addInstallation(ctx(), { client: String(vector.id), name: 'Облако', kind: 'cloud' });
    for (let r = 0; r < 500; r++) await countProbeRound(t.db, fleet.installation.id, '2026-11-29', r < 306);
    for (let r = 0; r < 200; r++) await countProbeRound(t.db, installation.id, '2026-11-29', r !== 0);

    const ru = await (await get('/web/reports?month=2026-11', await signIn({ id: 1001, first_name: 'Ксения' }))).text();
    expect(table(ru, 'availability')).toEqual([
      ['Клиент', 'Доступность', 'Проверок', 'Недоступна'],
      ['ООО «Ромашка»', '61,2\u00a0%', '500', '194'],
      ['АО «Вектор»', '99,5\u00a0%', '200', '1'],
    ]);
    expect(ru).toContain('<tr class="warning"><td class="what">ООО «Ромашка»</td>');
    expect(ru).toContain('<tr><td class="what">АО «Вектор»</td>');
    expect(ru).toContain('ниже 99\u00a0% — красным, линия на графике — 99\u00a0%.');
    const en = await (await get('/web/reports?month=2026-11', await signIn({ id: 2001, first_name: 'Irina', language_code: 'en' }))).text();
    expect(table(en, 'availability').slice(1)).toEqual([
      ['ООО «Ромашка»', '61.2%', '500', '194'],
      ['АО «Вектор»', '99.5%', '200', '1'],
    ]);
    // The spreadsheet gets numbers as numbers, the unit in the heading, a decimal comma for a Russian one.
    const cookie = await signIn({ id: 1001, first_name: 'Ксения' });
    const csv = (await (await get('/web/reports/availability.csv?month=2026-11', cookie)).text()).replace(/^\ufeff/, '').split('\r\n');
    expect(csv.slice(0, 3)).toEqual(['Клиент;"Доступность, %";Проверок;Недоступна', 'ООО «Ромашка»;"61,2";500;194', 'АО «Вектор»;"99,5";200;1']);

    // On the chart: a red bar for the one below the line, green for the other, the line itself in grey.
    const chart = Buffer.from(await (await get('/web/reports/availability.png?month=2026-11', cookie)).arrayBuffer());
    expect(await pixelsOf(chart, [0xc0, 0x39, 0x2b])).toBeGreaterThan(5000);
    expect(await pixelsOf(chart, [0x2f, 0x7d, 0x4f])).toBeGreaterThan(5000);
    expect(await pixelsOf(chart, [0x55, 0x55, 0x55])).toBeGreaterThan(100);
    // The installation page says its own figure the same way; a fleet all above the line has no red at all.
    expect(await (await get(`/web/installations/${installation.id}`, cookie)).text()).toContain('<p class="figure"><strong>99,5\u00a0%</strong>');
    const day = Buffer.from(await (await get(`/web/installations/${installation.id}/availability.png`, cookie)).arrayBuffer());
    expect(await pixelsOf(day, [0xc0, 0x39, 0x2b])).toBe(0);
    expect(await pixelsOf(day, [0x2f, 0x7d, 0x4f])).toBeGreaterThan(500);
  });

  it('the time to acknowledge and to resolve in words, each once, never blank where incidents were taken; no MTTA or MTTR', async () => {
    await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров', leadId: 2001 });
    const vector = await addClient(ctx(), { name: 'АО «Вектор»', managerId: 1002 });
    const { token } = await addInstallation(ctx(), { client: String(vector.id), name: 'Облако', kind: 'cloud' });
    // Ксения takes Ромашка's lost key 10 minutes after the alert; it is back an hour after it was lost.
    await postReport(url, '<report id="k1"><senselock state="lost"/></report>', { token: fleet.token });
    clock.advance(10 * 60_000);
    const [incident] = await listIncidentsWithNames(t.db, { includeResolved: false });
    await acknowledge(ctx('tg:1001'), incident!.id);
    clock.advance(50 * 60_000);
    await postReport(url, '<report id="k2"><senselock state="ok"/></report>', { token: fleet.token });
    // Вектор's key is lost for half an hour, and nobody takes it.
    await postReport(url, '<report id="v1"><senselock state="lost"/></report>', { token });
    clock.advance(30 * 60_000);
    await postReport(url, '<report id="v2"><senselock state="ok"/></report>', { token });
    // One taken from the cabinet before any alert went out (a silence held it) counts from its opening.
    const held = await insertIncident(t.db, { installationId: fleet.installation.id, ruleId: 'KodeksServiceDown', severity: 'critical', status: 'open', details: {}, openedAt: clock() });
    clock.advance(20 * 60_000);
    await acknowledge(ctx('tg:1001'), held.id);

    const ru = await (await get('/web/reports?month=2026-11', await signIn({ id: 2001, first_name: 'Ирина' }))).text();
    expect(table(ru, 'response')).toEqual([
      ['Менеджер', 'Время реакции', 'Взято', 'Время до решения', 'Закрыто'],
      ['Ксения Шабанова', '15 минут', '2', '1 час', '1'],
      ['Пётр Сидоров', 'в работу не брали', '0', '30 минут', '1'],
    ]);
    expect(ru).toContain('<h2>Время реакции и время до решения по менеджерам</h2>');
    expect(ru).not.toMatch(/MTTA|MTTR|<td><\/td>/);
    const en = await (await get('/web/reports?month=2026-11', await signIn({ id: 1001, first_name: 'Ksenia', language_code: 'en' }))).text();
    expect(table(en, 'response')).toEqual([
      ['Manager', 'Time to acknowledge', 'Taken', 'Time to resolve', 'Closed'],
      ['Ксения Шабанова', '15 minutes', '2', '1 hour', '1'],
      ['Пётр Сидоров', 'nothing taken', '0', '30 minutes', '1'],
    ]);
    expect(en).not.toMatch(/MTTA|MTTR|<td><\/td>/);
    const csv = (await (await get('/web/reports/response.csv?month=2026-11', await signIn({ id: 2001, first_name: 'Ирина' }))).text()).replace(/^\ufeff/, '').split('\r\n');
    expect(csv.slice(0, 3)).toEqual(['Менеджер;"Время реакции, мин";Взято;"Время до решения, мин";Закрыто', 'Ксения Шабанова;15;2;60;1', 'Пётр Сидоров;;0;30;1']);
  });

  it('folds a run of alike agent reports into one line with their count, in Russian and English', async () => {
    const body = (id: string, version: string) => `<report id="${id}"><shell version="${version}"/><update number="2251" operap-date="2026-11-29"/></report>`;
    clock.set('2026-11-29T07:00:00Z');
    for (let i = 0; i < 30; i++) {
      await postReport(url, body(`r${i}`, '6.4.3.59'), { token: fleet.token });
      clock.advance(3_600_000);
    }
    await postReport(url, body('new', '6.4.3.60'), { token: fleet.token });
    const rows = async (person: Person) => {
      const html = await (await get(`/web/installations/${fleet.installation.id}`, await signIn(person))).text();
      const section = /<h2>(?:Отчёты агента|Agent reports)<\/h2>[^]*?<\/table>/.exec(html)![0];
      return [...section.matchAll(/<tr>([^]*?)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g)].map((c) => c[1]));
    };
    const hiddenNote = async (person: Person) => {
      const html = await (await get(`/web/installations/${fleet.installation.id}`, await signIn(person))).text();
      return /<\/table>\n<p class="summary hidden-columns">([^<]*)<\/p>/.exec(/<h2>(?:Отчёты агента|Agent reports)<\/h2>[^]*?<h2>/.exec(html)![0])?.[1] ?? null;
    };
    // No report said when it was made: that column is left out, and a line says why. The operap day in words, as the card says it.
    expect(await rows({ id: 1001, first_name: 'Ксения' })).toEqual([
      ['Получен', 'Отчётов', 'Версия · обновление', 'Операп'],
      ['сегодня в 16:00', '1', '6.4.3.60 · 2251', 'вчера'],
      ['вчера в 10:00 — сегодня в 15:00', '30', '6.4.3.59 · 2251', 'вчера'],
    ]);
    expect(await hiddenNote({ id: 1001, first_name: 'Ксения' })).toBe('Ни в одном отчёте этих сведений нет: колонка «Составлен (последний)» скрыта.');
    const irina = { id: 2001, first_name: 'Irina', language_code: 'en' };
    expect((await rows(irina))[2]).toEqual(['yesterday at 10:00 — today at 15:00', '30', '6.4.3.59 · 2251', 'yesterday']);
    expect(await hiddenNote(irina)).toBe('No report gives this: the column “Made (the latest)” is hidden.');
    // A week on, the same operap is a date and how long ago.
    clock.advance(7 * 86_400_000);
    expect((await rows({ id: 1001, first_name: 'Ксения' }))[1]![3]).toBe('29.11, 8 дней назад');
    // A report that says when it was made brings the column back, with nothing said.
    await postReport(url, '<report id="made" generated-at="2026-12-07T08:00:00Z"><shell version="6.4.3.60"/><update number="2251" operap-date="2026-12-07"/></report>', { token: fleet.token });
    expect((await rows({ id: 1001, first_name: 'Ксения' }))[0]).toEqual(['Получен', 'Отчётов', 'Составлен (последний)', 'Версия · обновление', 'Операп']);
    expect(await hiddenNote({ id: 1001, first_name: 'Ксения' })).toBeNull();
  });
});
