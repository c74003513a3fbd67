import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { quietUntil, parseQuietWindow } from '../core/quiet-hours.ts';
import { responseTimes, responseTimesByManager, type IncidentTimes } from '../core/response-times.ts';
import { salesSignals, type LicenseDay } from '../core/sales.ts';
import { campaignSnapshots, digestDeliveries, outbox, users } from '../db/schema.ts';
import { getUser } from '../db/users.ts';
import { assembleDigest, type Digest } from '../digest/assemble.ts';
import type { IncidentView } from '../db/incidents.ts';
import { buildDigest, composeDigestForChannels } from '../bot/digest.ts';
import { chartSeries, daysOfHistory, renderChart } from '../digest/chart.ts';
import { renderDigest } from '../bot/render/digest.ts';
import { scopeOf } from '../db/digest.ts';
import { acknowledge, resolveByHand } from '../registry/incidents.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../incidents/settings.ts';
import { dueDigest, runDigests } from '../jobs/digest.ts';
import { runSweep } from '../jobs/sweep.ts';
import { addClient } from '../registry/clients.ts';
import { addInstallation } from '../registry/installations.ts';
import { changePolicy } from '../registry/policies.ts';
import { addUser } from '../registry/users.ts';
import { HOUR, postReport, seedFleet, startIntake, testClock, testDb, testDispatcher, RecordingDelivery, type TestDb, type TestIntake } from './helpers.ts';
import { botHarness } from './bot-helpers.ts';

const MINUTE = 60_000;
const settings = { tz: 'Europe/Moscow', salesMinDays: 3 };

describe('response times', () => {
  const t0 = new Date('2023-02-10T00:00:00Z');
  const at = (hours: number) => new Date(t0.getTime() + hours * HOUR);
  const history: IncidentTimes[] = [
    // Acknowledged after 10 and 30 minutes, resolved after 2 and 4 hours.
    { managerId: 1, announcedAt: at(0), acknowledgedAt: new Date(at(0).getTime() + 10 * MINUTE), openedAt: at(0), resolvedAt: at(2) },
    { managerId: 1, announcedAt: at(5), acknowledgedAt: new Date(at(5).getTime() + 30 * MINUTE), openedAt: at(5), resolvedAt: at(9) },
    // Another manager: never acknowledged, resolved after 1 hour.
    { managerId: 2, announcedAt: at(1), acknowledgedAt: null, openedAt: at(1), resolvedAt: at(2) },
    // Outside the window.
    { managerId: 1, announcedAt: at(-200), acknowledgedAt: at(-199), openedAt: at(-200), resolvedAt: at(-190) },
  ];

  it('averages acknowledgement and resolution times within the window', () => {
    const result = responseTimes(history, t0, at(24));
    expect(result).toEqual({ mtta: 20 * MINUTE, mttr: (2 + 4 + 1) * HOUR / 3, acknowledged: 2, resolved: 3 });
  });

  it('splits by manager, with null where there is nothing to average', () => {
    const byManager = responseTimesByManager(history, t0, at(24));
    expect(byManager.get(1)).toEqual({ mtta: 20 * MINUTE, mttr: 3 * HOUR, acknowledged: 2, resolved: 2 });
    expect(byManager.get(2)).toEqual({ mtta: null, mttr: HOUR, acknowledged: 0, resolved: 1 });
  });
});

describe('response times, taken before any alert went out', () => {
  it('count from the opening: an acknowledgement always gives a time to acknowledge', () => {
    const t0 = new Date('2023-02-10T00:00:00Z');
    // Held by a silence, never announced, taken from the cabinet 15 minutes after it opened.
    const held: IncidentTimes = { managerId: 1, announcedAt: null, acknowledgedAt: new Date(t0.getTime() + 15 * MINUTE), openedAt: t0, resolvedAt: null };
    expect(responseTimes([held], t0, new Date(t0.getTime() + HOUR))).toEqual({ mtta: 15 * MINUTE, mttr: null, acknowledged: 1, resolved: 0 });
  });
});

describe('sales signals', () => {
  const day = (d: number, hits: number, peak: number | null = null, limit: number | null = 10): LicenseDay => ({
    installationId: 1,
    day: `2023-03-${String(d).padStart(2, '0')}`,
    limitHits: hits,
    maxPeak: peak,
    licenseLimit: limit,
  });

  it('fires at 3 days at the limit, not at 2', () => {
    expect(salesSignals([day(15, 1), day(16, 2), day(17, 0)], 3)).toEqual([]);
    expect(salesSignals([day(15, 1), day(16, 2), day(17, 0, 10)], 3)).toEqual([{ installationId: 1, daysAtLimit: 3, licenseLimit: 10, peak: 10 }]);
  });

  it('counts a peak at the limit as a day at the limit, and honours another threshold', () => {
    expect(salesSignals([day(15, 0, 10), day(16, 0, 9)], 1)).toHaveLength(1);
    expect(salesSignals([day(15, 0, 9)], 1)).toEqual([]);
  });
});

describe('quiet hours', () => {
  const window = parseQuietWindow('22:00-08:00');
  it('holds until 08:00 the next morning in the evening, and until 08:00 the same morning at night', () => {
    expect(quietUntil(new Date('2023-02-15T19:30:00Z'), 'Europe/Moscow', window)?.toISOString()).toBe('2023-02-16T05:00:00.000Z'); // 22:30 MSK
    expect(quietUntil(new Date('2023-02-16T01:00:00Z'), 'Europe/Moscow', window)?.toISOString()).toBe('2023-02-16T05:00:00.000Z'); // 04:00 MSK
    expect(quietUntil(new Date('2023-02-16T05:00:00Z'), 'Europe/Moscow', window)).toBeNull(); // 08:00 MSK
    expect(quietUntil(new Date('2023-02-15T18:59:00Z'), 'Europe/Moscow', window)).toBeNull(); // 21:59 MSK
  });
  it('equal ends mean none', () => {
    expect(quietUntil(new Date('2023-02-16T01:00:00Z'), 'Europe/Moscow', parseQuietWindow('00:00-00:00'))).toBeNull();
  });
});

describe('the digest schedule', () => {
  it('is due at 09:00 Moscow time, for the Moscow day, up to 6 hours late', () => {
    // 08:59: the last digest time was yesterday 09:00, more than 6 hours ago.
    expect(dueDigest('0 9 * * *', 'Europe/Moscow', 6 * HOUR, new Date('2023-02-16T05:59:00Z'))).toBeNull();
    expect(dueDigest('0 9 * * *', 'Europe/Moscow', 6 * HOUR, new Date('2023-02-15T11:59:00Z'))).toMatchObject({ day: '2023-02-15' });
    expect(dueDigest('0 9 * * *', 'Europe/Moscow', 6 * HOUR, new Date('2023-02-16T06:00:00Z'))).toEqual({
      day: '2023-02-16',
      scheduledAt: new Date('2023-02-16T06:00:00Z'),
    });
    expect(dueDigest('0 9 * * *', 'Europe/Moscow', 6 * HOUR, new Date('2023-02-16T12:00:00Z'))?.day).toBe('2023-02-16');
    expect(dueDigest('0 9 * * *', 'Europe/Moscow', 6 * HOUR, new Date('2023-02-16T12:01:00Z'))).toBeNull();
  });

  it('uses the digest time zone for the day across the day boundary', () => {
    // 00:30 in Vladivostok on the 17th is still the 16th in UTC.
    expect(dueDigest('30 0 * * *', 'Asia/Vladivostok', HOUR, new Date('2023-02-16T14:40:00Z'))?.day).toBe('2023-02-17');
  });
});

describe('digests on a seeded fleet', () => {
  const clock = testClock('2023-02-16T05:00:00Z');
  let t: TestDb;
  let intake: TestIntake;
  let seq = 0;
  const ctx = (actor = 'test') => ({ db: t.db, clock, actor });
  const report = (token: string, body: string) => postReport(intake.url, `<report id="d${++seq}">${body}</report>`, { token });
  let tokens: Record<string, string>;

  beforeEach(async () => {
    clock.set('2023-02-09T07:00:00Z');
    t = await testDb();
    intake = await startIntake(t.db, clock);
    const fleet = await seedFleet(ctx()); // lead 2001, manager 1001, ООО «Ромашка» / Сервер офиса
    await addUser(ctx(), { telegramId: 2002, role: 'lead', name: 'Олег Лидов' });
    await addUser(ctx(), { telegramId: 1002, role: 'manager', name: 'Пётр Сидоров', leadId: 2002 });
    await addUser(ctx(), { telegramId: 3001, role: 'admin', name: 'Анна Админова' });
    const vector = await addClient(ctx(), { name: 'АО «Вектор»', managerId: 1001 });
    const north = await addClient(ctx(), { name: 'ООО «Север»', managerId: 1002 });
    tokens = {
      romashka: fleet.token,
      vector: (await addInstallation(ctx(), { client: String(vector.id), name: 'Облако', kind: 'cloud' })).token,
      vector2: (await addInstallation(ctx(), { client: String(vector.id), name: 'Бухгалтерия', kind: 'local' })).token,
      north: (await addInstallation(ctx(), { client: String(north.id), name: 'Сервер', kind: 'network' })).token,
    };
    await changePolicy(ctx(), 'min-shell-version', '6.4.3.59');
  });
  afterEach(async () => {
    await intake.close();
    await t.close();
  });

  async function playWeek() {
    // Every day from 09.02 to 15.02 the cloud installation of «Вектор» hits its licence limit; the others report fine.
    for (let d = 9; d <= 15; d++) {
      clock.set(`2023-02-${String(d).padStart(2, '0')}T08:00:00Z`);
      await report(tokens.romashka!, '<shell version="6.4.3.59"/><update operap-date="2023-02-09"/>');
      await report(tokens.vector!, `<shell version="6.4.2.73"/><license limit="10" peak="10" exhausted="${d >= 13 ? 2 : 0}"/>`);
      if (d <= 11) await report(tokens.vector2!, '<shell version="6.4.3.59"/>');
      await report(tokens.north!, '<shell version="6.4.3.60"/>');
    }
    clock.set('2023-02-15T09:00:00Z');
    await report(tokens.romashka!, '<senselock state="lost"/>');
    clock.set('2023-02-15T10:00:00Z');
    await report(tokens.north!, '<kit daily-update="false"/>');
    await acknowledge(ctx('tg:1002'), (await t.db.select().from(outbox)).find((m) => m.chatId === 1002)!.incidentId!);
    clock.set('2023-02-16T06:00:00Z'); // 09:00 Moscow
    await runSweep({ db: t.db, settings: DEFAULT_INCIDENT_SETTINGS }, clock());
  }

  it('gives a lead their team with exact counts', async () => {
    await playWeek();
    const lead = (await getUser(t.db, 2001))!;
    const digest = await assembleDigest(t.db, await scopeOf(t.db, lead), clock(), { day: '2023-02-16', tz: 'Europe/Moscow', salesMinDays: 3 });
    // Ирина's team: Ксения's clients «Ромашка» (1 installation) and «Вектор» (2).
    expect(digest.monitored).toBe(3);
    expect(digest.withProblems).toBe(3); // key lost; outdated version; silent Бухгалтерия
    expect(digest.healthy).toBe(0);
    // Oldest first: outdated since the first report (09.02), operaps stale since 12.02, users refused a seat since 13.02,
    // the key lost on 15.02, silence found at 09:00 today.
    expect(digest.open.map((v) => v.incident.ruleId)).toEqual([
      'KodeksShellVersionOutdated',
      'KodeksOperapStale',
      'KodeksDetectOverUserError',
      'KodeksXmlSensLockStatus',
      'KodeksXmlMissing',
    ]);
    expect(digest.opened24h).toBe(2);
    expect(digest.silent.map((s) => s.installationName)).toEqual(['Бухгалтерия']);
    expect(digest.campaign).toMatchObject({ minVersion: '6.4.3.59', compliant: 2, total: 3 });
    expect(digest.campaign!.lagging.map((l) => l.installationName)).toEqual(['Облако']);
    // The 7 days up to the digest day are 10.02-16.02: six of them at the limit.
    expect(digest.sales).toEqual([expect.objectContaining({ installationName: 'Облако', daysAtLimit: 6, licenseLimit: 10, peak: 10 })]);
  });

  it('gives a manager only their own clients, and admins everyone', async () => {
    await playWeek();
    const other = await assembleDigest(t.db, await scopeOf(t.db, (await getUser(t.db, 1002))!, true), clock(), { day: '2023-02-16', tz: 'Europe/Moscow', salesMinDays: 3 });
    expect(other.monitored).toBe(1);
    expect(other.open.map((v) => v.incident.ruleId)).toEqual(['KodeksDailyUpdateOff']);
    expect(other.responseTimes).toEqual([
      expect.objectContaining({ managerName: 'Пётр Сидоров', current: expect.objectContaining({ acknowledged: 1, mtta: 0 }) }),
    ]);
    // A manager's own digest names them once, in the title: not above their clients, not on the response times, not as who took it.
    const text = renderDigest(other, 'Пётр Сидоров', 'ru', 'Europe/Moscow');
    expect(text).toBe(
      [
        '📋 <b>Сводка на 16.02.2023</b> · Пётр Сидоров',
        'Под наблюдением: 1 установка · в порядке: 0 · с проблемами: 1',
        '🛠 Все открытые проблемы в работе: 1',
        'За сутки: открыто 1, решено 0',
        '',
        '🏢 <b>ООО «Север» · Сервер</b>',
        '🛠 🟡 Ежедневное обновление или copybaseweb выключены, 20 часов',
        '',
        '<b>Кампания версий</b> (не ниже 6.4.3.59): 1 из 1 (100\u00a0%)',
        '',
        '<b>Ваше время реакции и время до решения за 7 дней</b>:',
        // Said once, in words: what there was none of is said so, and no «(нет данных)» for a week before that had nothing.
        '• время реакции — меньше минуты; время до решения — решённых нет',
      ].join('\n'),
    );
    expect(text.match(/Пётр Сидоров/g)).toHaveLength(1);
    expect(text).not.toMatch(/\?|MTTA|MTTR|нет данных \(нет данных\)/);
    const all = await assembleDigest(t.db, await scopeOf(t.db, (await getUser(t.db, 3001))!), clock(), { day: '2023-02-16', tz: 'Europe/Moscow', salesMinDays: 3 });
    expect(all.monitored).toBe(4);
  });

  it('renders a compact Russian message with the unacknowledged standing out, and a PNG chart', async () => {
    await playWeek();
    const built = await buildDigest(t.db, (await getUser(t.db, 2001))!, clock(), settings);
    expect(built.text).toContain('📋 <b>Сводка на 16.02.2023</b> · Ирина Петрова');
    expect(built.text).toContain('Под наблюдением: 3 установки · в порядке: 0 · с проблемами: 3');
    // Each client once, under its manager: the problems nobody has taken, then what else there is to know of it.
    expect(built.text).toContain(
      [
        '👤 <b>Ксения Шабанова</b>',
        '🏢 <b>АО «Вектор»</b>',
        '⏳ Облако: 🟡 Версия ПК ниже требуемой, 6 дней 22 часа; 🟡 Пользователям не хватило лицензий, 2 дня 22 часа',
        '💰 Облако: лимит лицензий исчерпан 6 дней из 7 (лимит 10, пик 10) — возможность продажи',
        '⏳ Бухгалтерия: 🟡 Sysinfo (XML) не поступает, 4 дня 22 часа',
        '🏢 <b>ООО «Ромашка» · Сервер офиса</b>',
        '⏳ 🟡 Оперативные пополнения устарели, 7 дней 9 часов; 🔴 Ключ SenseLock не виден, 21 час',
      ].join('\n'),
    );
    expect(built.text).toContain('<b>Кампания версий</b> (не ниже 6.4.3.59): 2 из 3 (67\u00a0%)');
    expect(built.text).toContain('⏳ Никто не взял в работу: 5\nЗа сутки: открыто 2, решено 0');
    expect(built.png!.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(built.png!.readUInt32BE(16)).toBe(900); // IHDR width
    expect(built.png!.readUInt32BE(20)).toBe(450); // IHDR height
    expect(built.png!.length).toBeGreaterThan(10_000);
    expect(built.png!.length).toBeLessThan(500_000);
  });

  it('names what broke and ended over the day, each client once, «нет данных» in words, through /digest in Russian and English', async () => {
    await playWeek();
    // Evening: Ромашка's key comes back (lost since 12:00 yesterday); at night it is lost and back again within 20 minutes.
    clock.set('2023-02-15T19:30:00Z'); // 22:30 Moscow
    await report(tokens.romashka!, '<senselock state="ok"/>');
    clock.set('2023-02-16T01:00:00Z');
    await report(tokens.romashka!, '<senselock state="lost"/>');
    clock.set('2023-02-16T01:20:00Z'); // 04:20
    await report(tokens.romashka!, '<senselock state="ok"/>');
    // Вектор's cloud refuses users today, and says how many seats it has but not how many are taken.
    clock.set('2023-02-16T05:30:00Z');
    await report(tokens.vector!, '<shell version="6.4.2.73"/><license limit="10" exhausted="3"/>');
    // Its outdated version was closed by hand by Ксения.
    const outdated = (await assembleDigest(t.db, await scopeOf(t.db, (await getUser(t.db, 2001))!), clock(), { day: '2023-02-16', tz: 'Europe/Moscow', salesMinDays: 3 })).open.find(
      (v) => v.incident.ruleId === 'KodeksShellVersionOutdated',
    )!;
    await resolveByHand(ctx('tg:1001'), outdated.incident.id);
    clock.set('2023-02-16T06:00:00Z'); // 09:00

    const h = botHarness(t.db, clock);
    await h.say({ id: 2001, first_name: 'Ирина' }, '/digest');
    const ru = String(h.sent('sendMessage').at(-1)!.payload.text);
    expect(ru).toContain(
      [
        '👤 <b>Ксения Шабанова</b>',
        '🏢 <b>ООО «Ромашка» · Сервер офиса</b>',
        '⏳ 🟡 Оперативные пополнения устарели, 7 дней 9 часов',
        // The key came back in the evening, and was lost for 20 minutes at night: one line, how often and how long in all.
        '☑️ 🔴 Ключ SenseLock не виден — 2 раза, длилось в сумме 10 часов 50 минут, в последний раз закончилось сегодня в 04:20',
        '🏢 <b>АО «Вектор»</b>',
        '⏳ Облако: 🟡 Пользователям не хватило лицензий, 2 дня 22 часа',
        '☑️ Облако: 🟡 Версия ПК ниже требуемой — длилось 6 дней 21 час, закрыто вручную сегодня в 08:30',
        '👥 Облако: мест по лицензии 10, сколько занято — нет данных, отказов сегодня: 3',
        '💰 Облако: лимит лицензий исчерпан 7 дней из 7 (лимит 10, пик 10) — возможность продажи',
        '⏳ Бухгалтерия: 🟡 Sysinfo (XML) не поступает, 4 дня 22 часа',
      ].join('\n'),
    );
    expect(ru).toContain('⏳ Никто не взял в работу: 3\nЗа сутки: открыто 3, решено 3');
    // One client once, however many things are said of it; no question mark for what is not known.
    for (const client of ['АО «Вектор»', 'ООО «Ромашка»']) expect(ru.split(client)).toHaveLength(2);
    expect(ru).not.toContain('?');
    expect(ru).toContain('• Ксения Шабанова: время реакции — в работу не брали; время до решения — 2 дня 10 часов');

    await h.say({ id: 2001, first_name: 'Irina', language_code: 'en' }, '/digest');
    const en = String(h.sent('sendMessage').at(-1)!.payload.text);
    expect(en).toContain(
      [
        '🏢 <b>АО «Вектор»</b>',
        '⏳ Облако: 🟡 Users refused for lack of a seat, 2 days 22 hours',
        '☑️ Облако: 🟡 Shell version below the required one — lasted 6 days 21 hours, closed by hand today at 08:30',
        '👥 Облако: 10 seats licensed, how many taken: no data, refused today: 3',
        '💰 Облако: licence limit hit on 7 days of 7 (limit 10, peak 10): a sales opportunity',
      ].join('\n'),
    );
    expect(en).toContain('☑️ 🔴 SenseLock key not seen — 2 times, 10 hours 50 minutes in all, last ended today at 04:20');
    expect(en).toContain('• Ксения Шабанова: time to acknowledge: nothing taken; time to resolve: 2 days 10 hours');
    expect(en).not.toContain('?');
  });

  it('draws no chart with less than a week of history', async () => {
    clock.set('2023-02-15T08:00:00Z');
    await report(tokens.romashka!, '<senselock state="lost"/>');
    clock.set('2023-02-16T06:00:00Z');
    const built = await buildDigest(t.db, (await getUser(t.db, 2001))!, clock(), settings);
    expect(built.png).toBeNull();
    const series = chartSeries([], '2023-02-16', 'Europe/Moscow', 30);
    expect(daysOfHistory(series)).toBe(0);
  });

  it('is queued once per lead and admin per day, with its chart, and never twice', async () => {
    await playWeek();
    const deps = { db: t.db, cron: '0 9 * * *', tz: settings.tz, compose: composeDigestForChannels(t.db, settings, { mail: false }), maxDelayMs: 6 * HOUR };
    const first = await runDigests(deps, clock());
    expect(first.day).toBe('2023-02-16');
    expect(first.queued.map((q) => q.recipientId).sort()).toEqual([2001, 2002, 3001]);
    expect((await runDigests(deps, clock())).queued).toEqual([]);
    const kinds = (await t.db.select().from(outbox).where(eq(outbox.chatId, 2001)).orderBy(outbox.id)).map((m) => m.kind);
    expect(kinds.filter((k) => k.startsWith('digest.'))).toEqual(['digest.text', 'digest.chart']);
    expect((await t.db.select().from(campaignSnapshots)).map((s) => s.scope).sort()).toEqual(['all', 'team:2001', 'team:2002']);
  });

  it('after a restart at 08:59 that comes back at 10:00, sends that day\'s digest exactly once; not when 6 hours late', async () => {
    const deps = { db: t.db, cron: '0 9 * * *', tz: settings.tz, compose: composeDigestForChannels(t.db, settings, { mail: false }), maxDelayMs: 6 * HOUR };
    clock.set('2023-02-16T05:59:00Z'); // 08:59: yesterday's digest is more than 6 hours late
    expect((await runDigests(deps, clock())).queued).toEqual([]);
    clock.set('2023-02-16T07:00:00Z'); // back at 10:00
    expect((await runDigests(deps, clock())).queued).toHaveLength(3);
    clock.set('2023-02-16T07:01:00Z');
    expect((await runDigests(deps, clock())).queued).toHaveLength(0);
    expect(await t.db.select().from(digestDeliveries)).toHaveLength(3);
    clock.set('2023-02-17T12:30:00Z'); // the next day, 15:30 Moscow: too late
    expect((await runDigests(deps, clock())).queued).toEqual([]);
  });

  it('sends a personal digest to a manager who opted in', async () => {
    await t.db.update(users).set({ personalDigest: true }).where(eq(users.telegramId, 1001));
    clock.set('2023-02-16T06:00:00Z');
    const queued = (await runDigests({ db: t.db, cron: '0 9 * * *', tz: settings.tz, compose: composeDigestForChannels(t.db, settings, { mail: false }), maxDelayMs: 6 * HOUR }, clock())).queued;
    expect(queued).toContainEqual({ recipientId: 1001, kind: 'personal' });
  });

  it('shows campaign progress over time from earlier days', async () => {
    await t.db.insert(campaignSnapshots).values({ day: '2023-02-09', scope: 'team:2001', minVersion: '6.4.3.59', compliant: 1, total: 3, takenAt: clock() });
    await playWeek();
    const built = await buildDigest(t.db, (await getUser(t.db, 2001))!, clock(), settings);
    expect(built.digest.campaign!.before).toEqual({ day: '2023-02-09', compliant: 1, total: 3 });
    expect(built.text).toContain('09.02.2023: было 1 из 3');
  });

  it('holds warnings produced in quiet hours until morning as one message; criticals go at once', async () => {
    const delivery = new RecordingDelivery();
    const dispatcher = testDispatcher(t.db, clock, delivery, 30_000);
    clock.set('2023-02-15T20:00:00Z'); // 23:00 Moscow
    await report(tokens.vector!, '<kit daily-update="false"/>');
    clock.set('2023-02-15T23:00:00Z'); // 02:00
    await report(tokens.vector2!, '<kit copybaseweb="false"/>');
    await report(tokens.romashka!, '<senselock state="lost"/>');
    await dispatcher.runOnce();
    expect(delivery.kinds()).toEqual(['incident.opened KodeksXmlSensLockStatus -> 1001']);
    clock.set('2023-02-16T05:00:00Z'); // 08:00
    await dispatcher.runOnce();
    expect(delivery.batches.map((b) => b.length)).toEqual([1, 2]);
    expect(delivery.kinds().slice(1)).toEqual(['incident.opened KodeksDailyUpdateOff -> 1001', 'incident.opened KodeksDailyUpdateOff -> 1001']);
  });

  it('answers /digest, /versions and /sales in the bot', async () => {
    await playWeek();
    const h = botHarness(t.db, clock);
    await h.say({ id: 2001, first_name: 'Ирина' }, '/digest');
    expect(String(h.lastSent()!.payload.text)).toContain('Сводка на 16.02.2023');
    expect(h.sent('sendPhoto')).toHaveLength(1);
    await h.say({ id: 2001, first_name: 'Ирина' }, '/versions');
    expect(String(h.lastSent()!.payload.text)).toContain('соответствуют 2 из 3');
    expect(String(h.lastSent()!.payload.text)).toContain('👤 <b>Ксения Шабанова</b> (1)');
    expect(String(h.lastSent()!.payload.text)).toMatch(/АО «Вектор» · Облако: 6.4.2.73 · отстаёт/);
    // The campaign's minimum is an admin's to set, in chat too.
    await h.say({ id: 2001, first_name: 'Ирина' }, '/minversion 6.4.4.1');
    expect(String(h.lastSent()!.payload.text)).toBe('Это только для администраторов.');
    await h.say({ id: 3001, first_name: 'Анна' }, '/minversion шесть');
    expect(String(h.lastSent()!.payload.text)).toBe('Для минимальной версии ПК нужна версия, например 6.4.3.59, а не «шесть»');
    await h.say({ id: 3001, first_name: 'Анна' }, '/minversion 6.4.4.1');
    expect(String(h.lastSent()!.payload.text)).toMatch(/^Минимальная версия ПК: 6\.4\.4\.1\./);
    await h.say({ id: 2001, first_name: 'Ирина' }, '/versions');
    expect(String(h.lastSent()!.payload.text)).toContain('не ниже 6.4.4.1, соответствуют 0 из 3');
    await h.say({ id: 3001, first_name: 'Анна' }, '/minversion -');
    await h.say({ id: 2001, first_name: 'Ирина' }, '/versions');
    expect(String(h.lastSent()!.payload.text)).toBe('Минимальная версия ПК не задана. Администратор задаёт её командой /minversion 6.4.3.59.');
    await h.say({ id: 2001, first_name: 'Ирина' }, '/sales');
    expect(String(h.lastSent()!.payload.text)).toContain('лимит 10, пик 10, лимит исчерпан 6 из 7 дней');
    await h.say({ id: 1002, first_name: 'Пётр' }, '/sales');
    expect(String(h.lastSent()!.payload.text)).toBe('За 7 дней никто не упирался в лимит лицензий часто.');
    await h.say({ id: 1001, first_name: 'Ксения' }, '/quiet 23:00-07:00');
    expect(await getUser(t.db, 1001)).toMatchObject({ quietFrom: 23 * 60, quietTo: 7 * 60 });
    await h.say({ id: 1001, first_name: 'Ксения' }, '/mydigest вкл');
    expect((await getUser(t.db, 1001))!.personalDigest).toBe(true);
    await h.say({ id: 1001, first_name: 'Ксения' }, '/mydigest Выкл');
    expect((await getUser(t.db, 1001))!.personalDigest).toBe(false);
    await h.say({ id: 1001, first_name: 'Ксения' }, '/quiet по умолчанию');
    expect(await getUser(t.db, 1001)).toMatchObject({ quietFrom: null, quietTo: null });
  });

  it('answers /mydigest with anything but on or off by saying how, and that it stays as it is', async () => {
    const h = botHarness(t.db, clock);
    await h.say({ id: 1001, first_name: 'Ксения' }, '/mydigest on');
    await h.say({ id: 1001, first_name: 'Ксения' }, '/mydigest утром');
    expect(String(h.lastSent()!.payload.text)).toBe('Формат: /mydigest вкл или /mydigest выкл.\nЛичная утренняя сводка по вашим клиентам включена (/mydigest выкл — выключить).');
    expect((await getUser(t.db, 1001))!.personalDigest).toBe(true);
    await h.say({ id: 1001, first_name: 'Ксения' }, '/mydigest');
    expect(String(h.lastSent()!.payload.text)).toContain('включена');
  });
});

describe('the digest as a person reads it', () => {
  const now = new Date('2023-02-16T06:00:00Z');
  const hoursAgo = (h: number) => new Date(now.getTime() - h * HOUR);
  let nextId = 0;
  const view = (client: string, installation: string, extra: Partial<IncidentView['incident']> & { managerId?: number | null; managerName?: string | null; by?: string | null } = {}): IncidentView => {
    const { managerId = 1001, managerName = 'Ксения Шабанова', by = null, ...incident } = extra;
    const id = ++nextId;
    return {
      incident: {
        id,
        installationId: id,
        ruleId: 'KodeksXmlSensLockStatus',
        severity: 'critical',
        status: 'open',
        details: {},
        openedAt: hoursAgo(3),
        announcedAt: hoursAgo(3),
        acknowledgedAt: null,
        acknowledgedBy: null,
        resolvedAt: null,
        resolvedBy: null,
        resolution: null,
        nextReminderAt: null,
        escalatedAt: null,
        ...incident,
      },
      installationName: installation,
      clientId: id,
      clientName: client,
      managerId,
      managerName,
      managerLeadId: 2001,
      acknowledgedByName: by,
      resolvedByName: null,
      heldBack: 0,
      snoozedUntil: null,
      snoozedByName: null,
    };
  };
  const digest = (parts: Partial<Digest>): Digest => ({
    day: '2023-02-16',
    scope: { key: 'team:2001', clientIds: [] },
    scopeInstallationIds: [],
    now,
    monitored: 10,
    healthy: 9,
    withProblems: 1,
    open: [],
    notices: [],
    licences: [],
    seatsFull: [],
    opened24h: 0,
    resolved24h: 0,
    fixed: [],
    silent: [],
    campaign: null,
    sales: [],
    responseTimes: [],
    ...parts,
  });

  it('escapes every stored name, names who took it only when not the client\'s own manager, and says «нет данных» instead of a question mark', () => {
    const hostile = view('ООО «<b>Злой</b> & Co»', 'Сервер <i>', { status: 'acknowledged', acknowledgedBy: 'tg:2001', by: 'Ирина Петрова', managerId: 1003, managerName: 'Ксения <script>' });
    const own = view('АО «Вектор»', 'Облако', { status: 'acknowledged', acknowledgedBy: 'tg:1001', by: 'Ксения Шабанова' });
    const text = renderDigest(
      digest({
        open: [hostile, own],
        seatsFull: [{ installationId: hostile.incident.installationId, installationName: 'Сервер <i>', clientId: hostile.clientId, clientName: hostile.clientName, managerId: 1003, managerName: 'Ксения <script>', used: null, licensed: null, refused: 0 }],
        silent: [{ installationId: 99, installationName: 'Архив', clientId: 99, clientName: 'ИП «Тихий»', managerId: null, managerName: null, lastReportAt: null }],
        responseTimes: [{ managerId: 1003, managerName: 'Ксения <script>', current: { mtta: 12 * 60_000, mttr: null, acknowledged: 1, resolved: 0 }, previous: { mtta: null, mttr: 2 * HOUR, acknowledged: 0, resolved: 1 } }],
      }),
      'Ирина <Петрова>',
      'ru',
      'Europe/Moscow',
    );
    expect(text).toContain('📋 <b>Сводка на 16.02.2023</b> · Ирина &lt;Петрова&gt;');
    expect(text).toContain('\n🛠 Все открытые проблемы в работе: 2\n');
    expect(text).toContain(
      [
        '👤 <b>Ксения &lt;script&gt;</b>',
        '🏢 <b>ООО «&lt;b&gt;Злой&lt;/b&gt; &amp; Co» · Сервер &lt;i&gt;</b>',
        '🛠 🔴 Ключ SenseLock не виден, 3 часа · в работе у Ирины Петровой',
        '👥 сколько мест занято — нет данных',
      ].join('\n'),
    );
    // Taken by the client's own manager, named just above: not named again.
    expect(text).toContain('👤 <b>Ксения Шабанова</b>\n🏢 <b>АО «Вектор» · Облако</b>\n🛠 🔴 Ключ SenseLock не виден, 3 часа\n');
    expect(text).toContain('👤 <b>без менеджера</b>\n🏢 <b>ИП «Тихий» · Архив</b>\n📭 отчётов не было');
    expect(text).toContain('• Ксения &lt;script&gt;: время реакции — 12 минут; время до решения — решённых нет (неделей раньше — 2 часа)');
    expect(text).not.toContain('?');
  });

  it('lists as many clients as a message holds, the most urgent first, and counts the rest; English likewise', () => {
    const many = Array.from({ length: 120 }, (_, i) =>
      view(`ООО «Клиент ${String(i).padStart(3, '0')}»`, 'Сервер', { openedAt: hoursAgo(200 - i), ...(i % 2 ? { status: 'acknowledged' as const, acknowledgedBy: 'tg:1001', by: 'Ксения Шабанова' } : {}) }),
    );
    for (const lang of ['ru', 'en'] as const) {
      const text = renderDigest(digest({ open: many, campaign: { minVersion: '6.4.3.59', compliant: 1, total: 3, lagging: [], before: null } }), 'Ирина Петрова', lang, 'Europe/Moscow');
      expect(text.length).toBeLessThanOrEqual(4096);
      expect(text).toContain(lang === 'ru' ? '\n⏳ Никто не взял в работу: 60 · 🛠 в работе: 60\n' : '\n⏳ Nobody has taken: 60 · 🛠 in hand: 60\n');
      const shown = text.match(/🏢/g)!.length;
      expect(shown).toBeGreaterThan(20);
      // Nobody's first: every one shown untaken comes before every one in hand.
      const marks = text.split('\n').filter((l) => /^(⏳|🛠) /.test(l)).map((l) => [...l][0]);
      expect(marks.join('')).toMatch(/^⏳+🛠*$/u);
      expect(text).toContain(lang === 'ru' ? `…и ещё ${120 - shown} клиент` : `…and ${120 - shown} more client`);
      // The campaign after the clients is still there.
      expect(text).toContain(lang === 'ru' ? '(33\u00a0%)' : '(33%)');
    }
  });
});

describe('the chart data', () => {
  it('counts opened per day and open at the end of each day, by severity', () => {
    const spans = [
      { severity: 'critical' as const, openedAt: new Date('2023-02-14T10:00:00Z'), resolvedAt: new Date('2023-02-15T10:00:00Z') },
      { severity: 'warning' as const, openedAt: new Date('2023-02-15T10:00:00Z'), resolvedAt: null },
      { severity: 'warning' as const, openedAt: new Date('2023-02-15T20:59:00Z'), resolvedAt: new Date('2023-02-15T20:59:30Z') },
    ];
    const series = chartSeries(spans, '2023-02-16', 'Europe/Moscow', 3);
    expect(series.days).toEqual(['14.02', '15.02', '16.02']);
    expect(series.opened).toEqual({ critical: [1, 0, 0], warning: [0, 2, 0] });
    expect(series.openAtEnd).toEqual({ critical: [1, 0, 0], warning: [0, 1, 1] });
    const png = renderChart(series, { title: 't', opened: 'a', openAtEnd: 'b' }, 300, 200);
    expect(png.readUInt32BE(16)).toBe(300);
  });
});
