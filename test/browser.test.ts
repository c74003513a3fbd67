import { eq } from 'drizzle-orm';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { calendarDay } from '../core/calendar.ts';
import { countProbeRound } from '../db/availability.ts';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { saveMetricsSnapshot } from '../db/metrics-snapshots.ts';
import { outbox, telegramMessages } from '../db/schema.ts';
import { insertUpload } from '../db/uploads.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { acknowledge } from '../registry/incidents.ts';
import { addUser, setUserActive } from '../registry/users.ts';
import { signTakeLink, takeLinkKeyOf } from '../core/take-link.ts';
import { botHarness, buttonsOf, type Person } from './bot-helpers.ts';
import { ROOT } from './cli-helpers.ts';
import { postReport, SAMPLE_XML, seedFleet, silentLogger, testClock, testDb, type TestDb } from './helpers.ts';
import { strangeWordsIn } from './russian-words.ts';

/**
 * The cabinet in a real browser: Debian's Chromium driven by playwright-core,
 * against the real HTTP server and the real bot (its Telegram calls
 * captured). Each page is photographed into test/artifacts/ for a reviewer.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
/** What the test reads of an <img> in the page (the DOM's types are not part of this Node project). */
interface LoadedImage {
  decode(): Promise<void>;
  naturalWidth: number;
}

const KSENIA: Person = { id: 1001, first_name: 'Ксения' };
const IRINA: Person = { id: 2001, first_name: 'Ирина' };
/** What the test reads of a table row in the page: its cells, where they are drawn, and their text as shown. */
interface ShownRow {
  querySelectorAll(selector: 'td'): Iterable<{ getBoundingClientRect(): { top: number; left: number; height: number }; innerText: string }>;
}
/** A phone's screen, as the issue measured it (CSS pixels). */
const PHONE = { width: 390, height: 844 };
/** The key the «Беру» links of alert mails are signed with. */
const TAKE_KEY = takeLinkKeyOf('the browser test key');

/** What runs off a page's right (or left) edge: the page's own scroll width, and each element past the screen. */
interface Overflow {
  innerWidth: number;
  scrollWidth: number;
  wide: string[];
}
/** Evaluated in the page (a string: the DOM's types are not part of this Node project). */
const OVERFLOW = `(() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && (r.right > width + 0.5 || r.left < -0.5); })
    .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' + Math.round(el.getBoundingClientRect().right) + ': ' + (el.textContent || '').trim().slice(0, 60));
  return { innerWidth: width, scrollWidth: document.documentElement.scrollWidth, wide };
})()`;

describe('the browser cabinet in Chromium', () => {
  let browser: Browser;
  const clock = testClock('2026-11-30T07:00:00Z');
  let t: TestDb;
  let url = '';
  let close: () => Promise<void>;
  let fleet: Awaited<ReturnType<typeof seedFleet>>;
  let h: ReturnType<typeof botHarness>;
  let context: BrowserContext;
  let incidentChanges = 0;
  /** What the server answered, in order: "status path". */
  const served: string[] = [];
  const ctx = () => ({ db: t.db, clock, actor: 'test' });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    clock.set('2026-11-30T07:00:00Z');
    t = await testDb();
    fleet = await seedFleet(ctx());
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна Админова' });
    const app = buildHttpServer({
      db: t.db,
      clock,
      logger: silentLogger(),
      settings: DEFAULT_INCIDENT_SETTINGS,
      onIncidentChange: () => incidentChanges++,
      web: { displayTz: 'Europe/Moscow', morningHour: 9, publicUrl: 'http://127.0.0.1', takeLinkKey: TAKE_KEY },
    });
    app.addHook('onResponse', async (request, reply) => {
      served.push(`${reply.statusCode} ${request.url}`);
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
    h = botHarness(t.db, clock, { publicUrl: url });
    context = await browser.newContext({ locale: 'ru-RU', viewport: { width: 1400, height: 900 } });
  });
  afterEach(async () => {
    await context.close();
    await close();
    await t.close();
  });

  /** What the person would tap in Telegram after sending /web. */
  async function linkFor(person: Person): Promise<string> {
    await h.say(person, '/web');
    const link = /http:\/\/127\.0\.0\.1:\d+\/web\/login\?token=[A-Za-z0-9_-]+/.exec(String(h.lastSent()!.payload.text))?.[0];
    expect(link, String(h.lastSent()!.payload.text)).toBeDefined();
    return link!;
  }

  async function signIn(person: Person): Promise<Page> {
    const page = await context.newPage();
    await page.goto(await linkFor(person));
    expect(new URL(page.url()).pathname).toBe('/web/');
    return page;
  }

  const shoot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const cells = (page: Page, column: number) => page.locator(`table tbody tr td:nth-child(${column})`).allTextContents();

  /**
   * A fleet as a phone shows it at its worst: a critical installation with
   * every column filled, a colleague's with a warning and a licence limit
   * but no seat count, a client whose name is one long word, one that never
   * reported; incidents open, one taken; probes, uploads and metrics for the
   * installation page.
   */
  async function busyFleet() {
    await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров', leadId: 2001 });
    const vector = await addClient(ctx(), { name: 'АО «Вектор»', managerId: 1002 });
    const accounts = await addInstallation(ctx(), { client: String(vector.id), name: 'Бухгалтерия', kind: 'cloud', provider: 'Техэксперт.Облако' });
    const long = await addClient(ctx(), { name: 'ООО «Северо-Западный-Торгово-Промышленный-Комбинат-Строительных-Материалов»', managerId: 1001 });
    await addInstallation(ctx(), { client: String(long.id), name: 'Склад', kind: 'local' });
    await postReport(url, SAMPLE_XML.replace('<senselock state="ok"/>', '<senselock state="lost"/>'), { token: fleet.token });
    await postReport(url, '<report id="v"><shell version="6.4.3.59"/><kit assembled="true" daily-update="false" copybaseweb="true"/><license limit="25"/></report>', {
      token: accounts.token,
    });
    // The lost key is taken: its card says by whom and offers only the snoozes.
    const key = (await listIncidentsWithNames(t.db, { includeResolved: false })).find((i) => i.ruleId === 'KodeksXmlSensLockStatus');
    await acknowledge({ db: t.db, clock, actor: 'tg:1001' }, key!.id);
    const day = calendarDay(clock(), 'Europe/Moscow');
    for (let r = 0; r < 100; r++) await countProbeRound(t.db, fleet.installation.id, day, r !== 0);
    const upload = await insertUpload(t.db, {
      installationId: fleet.installation.id,
      name: 'ROMASHKA_SERVER_OFFICE_SYSINFO_WITH_A_VERY_LONG_NAME_INDEED',
      kind: 'zip',
      path: 'uploads/x.zip',
      size: 123_456,
      sha256: '0'.repeat(64),
      receivedAt: clock(),
    });
    await saveMetricsSnapshot(t.db, {
      installationId: fleet.installation.id,
      takenAt: clock(),
      receivedAt: clock(),
      uploadId: upload.id,
      samples: [{ name: 'kodeks_sessions_active_total_by_database_and_volume', labels: { database: 'Кодекс: Законодательство', volume: '/var/lib/kodeks/volumes/legislation-main' }, value: 17 }],
    });
    return { vector, accounts };
  }

  /** A row's cells as the person reads them: the ones shown, top to bottom and left to right (a card on a phone puts them in its own order). */
  const readCard = (row: Locator) =>
    row.evaluate((tr) =>
      [...(tr as unknown as ShownRow).querySelectorAll('td')]
        .map((td) => ({ td, box: td.getBoundingClientRect() }))
        .filter(({ box }) => box.height > 0)
        .sort((a, b) => a.box.top - b.box.top || a.box.left - b.box.left)
        .map(({ td }) => td.innerText.trim())
        .filter(Boolean),
    );

  /** Every page of the cabinet a signed-in person can open, by its address. */
  const cabinetPages = () => ['/web/', '/web/?problems=1&sort=installation', '/web/incidents', `/web/installations/${fleet.installation.id}`, '/web/reports', '/web/installations/999999'];

  /** Open a page on a phone and say what runs off its edge. */
  async function overflowOf(page: Page, path: string): Promise<Overflow> {
    await page.goto(`${url}${path}`);
    return (await page.evaluate(OVERFLOW)) as Overflow;
  }

  for (const lang of ['ru', 'en'] as const) {
    it(`on a phone (390×844, ${lang}) no cabinet page runs off the screen, and the fleet and the incidents are cards that say what is wrong and whose it is`, async () => {
      await busyFleet();
      const person: Person = lang === 'en' ? { ...KSENIA, language_code: 'en' } : KSENIA;
      const phone = await browser.newContext({ locale: lang === 'en' ? 'en-GB' : 'ru-RU', viewport: PHONE });
      try {
        const page = await phone.newPage();
        await page.goto(await linkFor(person));
        for (const path of cabinetPages()) {
          const found = await overflowOf(page, path);
          expect(found, path).toEqual({ innerWidth: PHONE.width, scrollWidth: PHONE.width, wide: [] });
          const name = path === '/web/' ? 'fleet' : path.startsWith('/web/?') ? 'fleet-problems' : path.startsWith('/web/installations/9') ? 'not-found' : path.replace(/^\/web\//, '').replace(/\/\d+$/, '').replace(/\W+/g, '-');
          await shoot(page, `phone-${lang}-${name}`);
        }
        // The page a stranger sees too.
        const stranger = await phone.newPage();
        expect(await overflowOf(stranger, '/web/hello')).toMatchObject({ scrollWidth: PHONE.width, wide: [] });

        // The fleet: one card per installation, problems first, each saying what the issue asked of it.
        await page.goto(`${url}/web/`);
        const cards = page.locator('table.fleet tbody tr');
        expect(await cards.count()).toBe(3);
        const says = (i: number) => readCard(cards.nth(i));
        const caption = (i: number, cell: string) => cards.nth(i).locator(`td.${cell}`).evaluate((td) => (globalThis as unknown as { getComputedStyle(e: unknown, p: string): { content: string } }).getComputedStyle(td, '::before').content);
        if (lang === 'ru') {
          expect(await says(0)).toEqual([
            'Сервер офиса',
            'ООО «Ромашка»',
            'Критично',
            'Ключ SenseLock не виден; Пользователям не хватило лицензий; Оперативные пополнения устарели',
            'Ксения Шабанова',
            // As the card says it: the day, and whole days ago (past the threshold, red).
            expect.stringMatching(/^14\.02\.2023, \d+ (день|дня|дней) назад$/),
          ]);
          expect(await caption(0, 'manager')).toBe('"Менеджер: "');
          expect(await caption(0, 'bad')).toBe('"Операп: "');
          expect(await says(1)).toEqual(['Бухгалтерия', 'АО «Вектор»', 'Внимание', 'Ежедневное обновление или copybaseweb выключены', 'Пётр Сидоров']);
          expect(await says(2)).toEqual(['Склад', 'ООО «Северо-Западный-Торгово-Промышленный-Комбинат-Строительных-Материалов»', 'отчётов не было', 'Ксения Шабанова']);
          expect(strangeWordsIn(await page.locator('main').innerText())).toEqual([]);
        } else {
          expect((await says(0)).slice(0, 3)).toEqual(['Сервер офиса', 'ООО «Ромашка»', 'Critical']);
          expect(await caption(0, 'manager')).toBe('"Manager: "');
          expect((await says(1)).slice(2, 3)).toEqual(['Warning']);
        }
        // The first screen shows every card of this fleet, not two and a half rows.
        const onFirstScreen = await cards.evaluateAll((rows) => rows.filter((row) => (row as unknown as { getBoundingClientRect(): { bottom: number } }).getBoundingClientRect().bottom <= 844).length);
        expect(onFirstScreen).toBe(3);

        // The incidents: how bad and for how long, where, what, whose, who took it, and the buttons, in a card.
        await page.goto(`${url}/web/incidents`);
        const incident = page.locator('table.incidents tbody tr').first();
        const lines = await readCard(incident);
        if (lang === 'ru') {
          expect(lines.slice(0, 4)).toEqual(['Критично', 'меньше минуты', 'ООО «Ромашка» · Сервер офиса', 'Ключ SenseLock не виден']);
          expect(lines.slice(4)).toEqual(['Ксения Шабанова', 'Ксения Шабанова взяла сегодня в 10:00', '⏰ Напомнить через час 💤 До утра']);
          // The same words as the buttons under the alert in Telegram.
          expect(await incident.locator('button').allInnerTexts()).toEqual(['⏰ Напомнить через час', '💤 До утра']);
        } else {
          expect(lines[0]).toBe('Critical');
          expect(await incident.locator('button').allInnerTexts()).toEqual(['⏰ Remind in an hour', '💤 Till morning']);
        }

        // «До утра» on that critical: the question, on a page of its own, fits the screen, and its button a thumb.
        await incident.locator('button').nth(1).click();
        await expect(page.locator('h1').textContent()).resolves.toBe(lang === 'ru' ? 'Отложить критичное?' : 'Put off a critical alert?');
        expect((await page.evaluate(OVERFLOW)) as Overflow).toEqual({ innerWidth: PHONE.width, scrollWidth: PHONE.width, wide: [] });
        expect((await page.locator('form.one-button button').boundingBox())!.height).toBeGreaterThanOrEqual(40);
        await shoot(page, `phone-${lang}-confirm-critical-snooze`);
      } finally {
        await phone.close();
      }
    });
  }

  it('at desktop width the fleet stays a table with its header, and the phone’s own words are not shown', async () => {
    await busyFleet();
    const page = await signIn(KSENIA);
    expect(await page.locator('table.fleet thead').isVisible()).toBe(true);
    expect(await page.locator('table.fleet tbody tr').first().evaluate((tr) => (globalThis as unknown as { getComputedStyle(e: unknown): { display: string } }).getComputedStyle(tr).display)).toBe('table-row');
    expect(await page.locator('td.state').first().isVisible()).toBe(false);
    expect(await page.locator('table.fleet thead th').allInnerTexts()).toEqual(['Клиент', 'Установка', 'Состояние', 'Последний отчёт', 'Последний sysinfo', 'Операп', 'Версия · обновление', 'Места', 'Менеджер']);
    expect(await cells(page, 8)).toEqual(['по лицензии 10, занято: нет данных', 'по лицензии 25, занято: нет данных', '']);
    // A sysinfo came, but nothing gave a licence date: that column alone is left out, and the line says why.
    expect(await page.locator('p.hidden-columns').innerText()).toBe('Ни в sysinfo, ни в отчётах агентов нет дат окончания лицензий: колонка «Лицензия до» скрыта.');
    await shoot(page, 'fleet-desktop');

    const english = await signIn({ ...IRINA, language_code: 'en' });
    expect(await english.locator('table.fleet thead th').allInnerTexts()).toEqual(['Client', 'Installation', 'State', 'Last report', 'Last sysinfo', 'Operap', 'Version · update', 'Seats', 'Manager']);
    expect(await cells(english, 8)).toEqual(['licensed 10, in use: no data', 'licensed 25, in use: no data', '']);
    expect(await english.locator('p.hidden-columns').innerText()).toBe('Neither the sysinfo files nor the agents\' reports give a licence end date: the column “Licence until” is hidden.');
    expect(await english.locator('td.state').first().isVisible()).toBe(false);
  });

  it('a link from /web opens the fleet page, problems first, with no secret left in the address bar', async () => {
    const second = await addClient(ctx(), { name: 'ЗАО «Вектор»', managerId: 1001 });
    await addInstallation(ctx(), { client: String(second.id), name: 'Бухгалтерия', kind: 'cloud' });
    await postReport(url, '<report id="k"><senselock state="lost"/></report>', { token: fleet.token });

    const page = await signIn(KSENIA);
    expect(page.url()).toBe(`${url}/web/`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Установки');
    expect(await cells(page, 2)).toEqual(['Сервер офиса', 'Бухгалтерия']);
    expect(await page.locator('tbody tr').first().getAttribute('class')).toBe('critical');
    const cookies = await context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['dozor_session', true, 'Lax']]);
    await shoot(page, 'fleet');
  });

  it('filters by the /status search and a manager, and sorts by a column, without any script', async () => {
    const second = await addClient(ctx(), { name: 'ЗАО «Вектор»', managerId: 2001 });
    await addInstallation(ctx(), { client: String(second.id), name: 'Бухгалтерия', kind: 'cloud' });
    await addInstallation(ctx(), { client: String(fleet.client.id), name: 'Архив', kind: 'local' });
    const page = await signIn(KSENIA);

    await page.fill('input[name="q"]', 'вектр');
    await page.click('form.filters button[type="submit"]');
    expect(await cells(page, 2)).toEqual(['Бухгалтерия']);
    expect(new URL(page.url()).searchParams.get('q')).toBe('вектр');

    await page.fill('input[name="q"]', '');
    await page.selectOption('select[name="manager"]', 'Ксения Шабанова');
    await page.click('form.filters button[type="submit"]');
    expect(await cells(page, 1)).toEqual(['ООО «Ромашка»', 'ООО «Ромашка»']);

    await page.click('th a:text("Установка")');
    expect(await cells(page, 2)).toEqual(['Архив', 'Сервер офиса']);
    await page.click('th a:text("Установка")');
    expect(await cells(page, 2)).toEqual(['Сервер офиса', 'Архив']);
    await shoot(page, 'fleet-filtered');
  });

  it('an installation page: the card, the incident timeline, 30-day availability with its chart, reports and the agent script for admins', async () => {
    await postReport(url, SAMPLE_XML.replace('<senselock state="ok"/>', '<senselock state="lost"/>'), { token: fleet.token });
    // Twenty days of probe rounds, the fifth day with four of 288 rounds down.
    for (let d = 0; d < 20; d++) {
      const day = calendarDay(new Date(clock().getTime() - d * 86_400_000), 'Europe/Moscow');
      for (let r = 0; r < 288; r++) await countProbeRound(t.db, fleet.installation.id, day, !(d === 5 && r < 4));
    }

    const page = await signIn(KSENIA);
    await page.click('a:text("Сервер офиса")');
    expect(new URL(page.url()).pathname).toBe(`/web/installations/${fleet.installation.id}`);
    await expect(page.locator('.card').textContent()).resolves.toContain('ООО «Ромашка»');
    await expect(page.locator('.figure').textContent()).resolves.toContain('99,9\u00a0%');
    const chart = page.locator('img.chart');
    await chart.waitFor();
    expect(await chart.evaluate((img) => (img as unknown as LoadedImage).decode().then(() => (img as unknown as LoadedImage).naturalWidth))).toBe(900);
    const timeline = page.locator('h2:text("Инциденты за 90 дней") + table tbody tr');
    await expect(timeline.first().textContent()).resolves.toContain('ещё открыт');
    await expect(page.locator('h2:text("Отчёты агента") + table tbody tr').count()).resolves.toBe(1);
    // A manager gets no agent script; an admin does.
    expect(await page.locator('h2:text("Скрипт агента")').count()).toBe(0);
    await shoot(page, 'installation');

    const admin = await signIn({ id: 3001, first_name: 'Анна' });
    await admin.goto(`${url}/web/installations/${fleet.installation.id}`);
    const download = admin.waitForEvent('download');
    await admin.click('button:text("Скачать скрипт")');
    expect((await download).suggestedFilename()).toBe('dozor-agent.sh');
  });

  it('acknowledging and snoozing on the incidents page act as the bot: the Telegram alert shows who took it and until when it waits', async () => {
    await postReport(url, '<report id="k"><senselock state="lost"/></report>', { token: fleet.token });
    const dispatcher = h.dispatcher();
    await dispatcher.runOnce();
    const alert = h.lastSent()!;
    expect(alert.payload.chat_id).toBe(1001);
    const [incident] = await listIncidentsWithNames(t.db, { includeResolved: false });

    const page = await signIn(KSENIA);
    await page.click('nav a:text("Инциденты")');
    // The page's own reload says so in its address: it does not keep the session alive.
    expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('15; url=/web/incidents?auto=1');
    const row = page.locator(`#incident-${incident!.id}`);
    await expect(row.textContent()).resolves.toContain('Сервер офиса');
    await shoot(page, 'incidents');
    const before = incidentChanges;
    await row.locator('button:text("Беру")').click();
    await expect(page.locator('.notice').textContent()).resolves.toContain(`№${incident!.id} взят`);
    await expect(page.locator(`#incident-${incident!.id}`).textContent()).resolves.toContain('Ксения Шабанова');
    expect(incidentChanges).toBe(before + 1);
    await shoot(page, 'incidents-acknowledged');

    h.clear();
    await dispatcher.runOnce();
    const edit = h.lastSent('editMessageText')!;
    const stored = (await t.db.select().from(telegramMessages)).find((m) => m.incidentId === incident!.id && m.kind === 'alert')!;
    expect(edit.payload).toMatchObject({ chat_id: 1001, message_id: stored.messageId });
    expect(String(edit.payload.text)).toContain('Ксения Шабанова');

    // Snoozing there too: the page and the Telegram message say until when, and who put it off.
    await page.locator(`#incident-${incident!.id} button:text("Напомнить через час")`).click();
    await expect(page.locator('.notice').textContent()).resolves.toContain(`№${incident!.id} отложены`);
    await expect(page.locator(`#incident-${incident!.id}`).textContent()).resolves.toContain('Ксения Шабанова отложила до 11:00');
    h.clear();
    await dispatcher.runOnce();
    expect(String(h.lastSent('editMessageText')!.payload.text)).toContain('💤 Ксения Шабанова отложила до 11:00');
  });

  it('the «Беру» link of an alert mail, on a phone, without signing in: the alert and one button that fit the screen; it takes the alert, once, and Telegram shows who took it', async () => {
    await postReport(url, '<report id="k"><senselock state="lost"/></report>', { token: fleet.token });
    const dispatcher = h.dispatcher();
    await dispatcher.runOnce();
    const [incident] = await listIncidentsWithNames(t.db, { includeResolved: false });
    const phone = await browser.newContext({ locale: 'ru-RU', viewport: PHONE });
    try {
      const page = await phone.newPage();
      const link = `/web/take?${signTakeLink(TAKE_KEY, { incidentId: incident!.id, personId: 1001 })}`;
      expect(await overflowOf(page, link)).toEqual({ innerWidth: PHONE.width, scrollWidth: PHONE.width, wide: [] });
      await expect(page.locator('h1 + p strong').textContent()).resolves.toBe('Ключ SenseLock не виден — ООО «Ромашка» · Сервер офиса');
      const button = page.locator('form.one-button button');
      const box = (await button.boundingBox())!;
      // A thumb's target (Apple and Google ask for 44–48 px).
      expect(box.height).toBeGreaterThanOrEqual(40);
      await shoot(page, 'phone-ru-take');
      await button.click();
      await expect(page.locator('h1 + p').textContent()).resolves.toContain('Взято в работу: Ключ SenseLock не виден');
      await shoot(page, 'phone-ru-taken');
      // The link opened again (a second tap in the mail): it says who has it, and offers nothing to press.
      await page.goto(`${url}${link}`);
      await expect(page.locator('h1 + p + p').textContent()).resolves.toBe('Уже в работе: Ксения Шабанова.');
      expect(await page.locator('form.one-button').count()).toBe(0);
      h.clear();
      await dispatcher.runOnce();
      expect(String(h.lastSent('editMessageText')!.payload.text)).toContain('🛠 В работе: Ксения Шабанова');
    } finally {
      await phone.close();
    }
  });

  for (const lang of ['ru', 'en'] as const) {
    it(`«До утра» on a critical asks first, as the bot does, naming who will be told; «Да» says until when and who, and the lead reads it in Telegram; «Не откладывать» says it waits (${lang})`, async () => {
      await postReport(url, '<report id="k"><senselock state="lost"/></report>', { token: fleet.token });
      const [incident] = await listIncidentsWithNames(t.db, { includeResolved: false });
      const id = incident!.id;
      const words =
        lang === 'ru'
          ? {
              morning: 'До утра',
              heading: 'Отложить критичное?',
              what: 'Ключ SenseLock не виден — ООО «Ромашка» · Сервер офиса',
              question: 'Отложить критичное «Ключ SenseLock не виден» до 09:00 завтра? Руководитель узнает: Ирина Петрова.',
              no: 'Не откладывать',
              notPutOff: `Не отложено: инцидент №${id} ждёт, кто возьмёт его в работу.`,
              putOff: `💤 Инцидент №${id} отложен до 09:00 завтра. Руководитель узнает: Ирина Петрова.`,
              row: 'Ксения Шабанова отложила до 09:00 завтра',
            }
          : {
              morning: 'Till morning',
              heading: 'Put off a critical alert?',
              what: 'SenseLock key not seen — ООО «Ромашка» · Сервер офиса',
              question: 'Put off the critical “SenseLock key not seen” until 09:00 tomorrow? The lead will be told: Ирина Петрова.',
              no: 'Do not put off',
              notPutOff: `Not put off: incident #${id} waits for someone to take it.`,
              putOff: `💤 Incident #${id} is put off until 09:00 tomorrow. The lead will be told: Ирина Петрова.`,
              row: 'Ксения Шабанова put off until 09:00 tomorrow',
            };
      const page = await signIn(lang === 'en' ? { ...KSENIA, language_code: 'en' } : KSENIA);
      await page.goto(`${url}/web/incidents`);
      await page.locator(`#incident-${id} button:text("${words.morning}")`).click();
      await expect(page.locator('h1').textContent()).resolves.toBe(words.heading);
      await expect(page.locator('h1 + p strong').textContent()).resolves.toBe(words.what);
      await expect(page.locator('h1 + p + p').textContent()).resolves.toBe(words.question);
      await shoot(page, `confirm-critical-snooze-${lang}`);
      // Not now: nothing is put off, and the list says so.
      await page.locator(`a:text("${words.no}")`).click();
      await expect(page.locator('.notice').textContent()).resolves.toBe(words.notPutOff);
      await expect(page.locator(`#incident-${id}`).textContent()).resolves.not.toContain(words.row);
      expect(await t.db.select().from(outbox).where(eq(outbox.kind, 'incident.snoozed'))).toEqual([]);

      await page.locator(`#incident-${id} button:text("${words.morning}")`).click();
      await page.locator('form.one-button button').click();
      await expect(page.locator('.notice').textContent()).resolves.toBe(words.putOff);
      await expect(page.locator(`#incident-${id}`).textContent()).resolves.toContain(words.row);
      // The lead reads it in Telegram, in their own language, with the alert and its buttons.
      await h.dispatcher().runOnce();
      const toLead = h.sent('sendMessage').filter((c) => c.payload.chat_id === 2001);
      expect(toLead.map((c) => String(c.payload.text).split('\n').slice(0, 4))).toEqual([
        ['💤 Ксения Шабанова отложила критичное оповещение до 09:00 завтра', 'Если ждать нельзя, возьмите его в работу сами или позвоните менеджеру.', '', '🔴 <b>Ключ SenseLock не виден</b>'],
      ]);
      expect(buttonsOf(toLead[0]!).map((b) => b.text)).toContain('🙋 Беру');
    });
  }

  it('a form without the session token is refused, and a manager may not act on a colleague’s client', async () => {
    const other = await addClient(ctx(), { name: 'ЗАО «Вектор»', managerId: 2001 });
    const { token } = await addInstallation(ctx(), { client: String(other.id), name: 'Бухгалтерия', kind: 'cloud' });
    await postReport(url, '<report id="k"><senselock state="lost"/></report>', { token });
    await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'Пётр Соседов' });
    const [incident] = await listIncidentsWithNames(t.db, { includeResolved: false });

    const page = await signIn({ id: 1002, first_name: 'Пётр' });
    await page.goto(`${url}/web/incidents`);
    // No buttons for someone who may not act…
    expect(await page.locator(`#incident-${incident!.id} button`).count()).toBe(0);
    // …and a forged post is refused all the same.
    const forged = await page.request.post(`${url}/web/incidents/${incident!.id}/ack`, { form: { csrf: 'not-the-token' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect((await listIncidentsWithNames(t.db, { includeResolved: false }))[0]!.status).toBe('open');
  });

  it('the reports page: availability per client for a month, response times, licence terms and versions, each as PNG and CSV', async () => {
    await postReport(url, SAMPLE_XML, { token: fleet.token });
    const day = calendarDay(clock(), 'Europe/Moscow');
    for (let r = 0; r < 100; r++) await countProbeRound(t.db, fleet.installation.id, day, r !== 0);
    const page = await signIn(IRINA);
    await page.click('nav a:text("Отчёты")');
    await expect(page.locator('#availability table tbody tr').first().textContent()).resolves.toContain('ООО «Ромашка»99\u00a0%1001');
    const charts = page.locator('img.chart');
    for (let i = 0; i < (await charts.count()); i++) {
      await expect(charts.nth(i).evaluate((img) => (img as unknown as LoadedImage).decode().then(() => (img as unknown as LoadedImage).naturalWidth))).resolves.toBe(900);
    }
    const csv = await page.request.get(`${url}/web/reports/availability.csv?month=2026-11`);
    expect(csv.headers()['content-disposition']).toBe('attachment; filename="dozor-availability-2026-11.csv"');
    expect((await csv.text()).split('\r\n')[1]).toBe('ООО «Ромашка»;99;100;1');
    await shoot(page, 'reports');
  });

  it('refuses a stranger and a used link, sends an idle session to sign in again, and a disabled person loses an open page', async () => {
    const stranger = await context.newPage();
    await stranger.goto(`${url}/web/`);
    expect(new URL(stranger.url()).pathname).toBe('/web/hello');
    await expect(stranger.locator('main').textContent()).resolves.toContain('отправьте боту команду /web');
    await shoot(stranger, 'hello');
    const forged = await stranger.goto(`${url}/web/login?token=guessed-token-aaaaaaaaaaaaaaaaaaaa`);
    expect(forged!.status()).toBe(403);

    const link = await linkFor(KSENIA);
    const page = await context.newPage();
    await page.goto(link);
    const again = await (await browser.newContext({ locale: 'en-GB' })).newPage();
    const reused = await again.goto(link);
    expect(reused!.status()).toBe(403);
    // Not signed in, the page speaks the browser's language: this one asks for English.
    await expect(again.locator('main').textContent()).resolves.toContain('This link was used already');
    await shoot(again, 'link-used');

    clock.advance(12 * 3_600_000 + 60_000);
    await page.reload();
    expect(new URL(page.url()).pathname).toBe('/web/hello');

    const irina = await signIn(IRINA);
    await setUserActive({ db: t.db, clock, actor: 'tg:3001' }, 2001, false);
    await irina.reload();
    expect(new URL(irina.url()).pathname).toBe('/web/hello');
  });

  it('a reload of the incidents page while nothing changed is a 304 the browser shows from its cache, and «Выйти» signs out', async () => {
    await postReport(url, '<report id="k"><senselock state="lost"/></report>', { token: fleet.token });
    const page = await signIn(KSENIA);
    served.length = 0;
    await page.goto(`${url}/web/incidents`);
    await page.reload();
    // The server answered the reload 304 (the browser then shows its copy and reports it as the 200 it kept).
    expect(served.filter((line) => line.endsWith(' /web/incidents'))).toEqual(['200 /web/incidents', '304 /web/incidents']);
    await expect(page.locator('tbody tr').first().textContent()).resolves.toContain('Сервер офиса');

    await page.click('header button:text("Выйти")');
    expect(new URL(page.url()).pathname).toBe('/web/bye');
    await expect(page.locator('main').textContent()).resolves.toContain('Сеанс в личном кабинете закончен');
    expect((await context.cookies()).filter((c) => c.name === 'dozor_session')).toEqual([]);
    await shoot(page, 'signed-out');
    await page.goto(`${url}/web/incidents`);
    expect(new URL(page.url()).pathname).toBe('/web/hello');
  });

  it('renders a hostile client name as text: no script runs', async () => {
    const evil = await addClient(ctx(), { name: '<script>alert(1)</script><img src=x onerror=alert(2)>' });
    await addInstallation(ctx(), { client: String(evil.id), name: '"><b>жирный</b>', kind: 'local' });
    const page = await signIn(KSENIA);
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.reload();
    expect(await cells(page, 1)).toContain('<script>alert(1)</script><img src=x onerror=alert(2)>');
    expect(await cells(page, 2)).toContain('"><b>жирный</b>');
    expect(await page.locator('tbody b').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await shoot(page, 'hostile-name');
  });
});
