import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../app/http.ts';
import { calendarDay } from '../core/calendar.ts';
import { countProbeRound } from '../db/availability.ts';
import { listIncidentsWithNames } from '../db/incidents.ts';
import { telegramMessages } from '../db/schema.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { addUser, setUserActive } from '../registry/users.ts';
import { botHarness, type Person } from './bot-helpers.ts';
import { ROOT } from './cli-helpers.ts';
import { postReport, SAMPLE_XML, seedFleet, silentLogger, testClock, testDb, type TestDb } from './helpers.ts';

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
      web: { displayTz: 'Europe/Moscow', morningHour: 9, publicUrl: 'http://127.0.0.1' },
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
    await expect(page.locator('.figure').textContent()).resolves.toContain('99.9%');
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
    await expect(page.locator('#availability table tbody tr').first().textContent()).resolves.toContain('ООО «Ромашка»99100');
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
