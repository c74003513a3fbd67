import type { FastifyInstance } from 'fastify';
import { listFleet, type FleetRow } from '../../db/fleet.ts';
import type { DB } from '../../db/open.ts';
import { searchIndexFor } from '../../db/search-index.ts';
import { daysLeft, soonestLicense } from '../../core/server-rules.ts';
import { operapAgeMs } from '../../core/state.ts';
import { formatOperapDay, formatSpan, formatWhen } from '../../i18n/format.ts';
import { ruleTitle, texts, type Lang } from '../../i18n/index.ts';
import { csvDocument, fleetQueryString, fleetView, readFleetQuery, type RankedRow, type SortKey } from '../fleet-view.ts';
import type { WebKit } from '../kit.ts';
import { formatLicenceDay } from '../licence-day.ts';

/** A report older than this is flagged on the fleet page, as on the card. */
const STALE_REPORT_MS = 6 * 3_600_000;
/** An operap older than this is red, as the rule's default says. */
const OPERAP_STALE_MS = 3 * 86_400_000;
/** A licence ending within this many days is flagged. */
const LICENCE_SOON_DAYS = 30;

/**
 * «Установки»: every installation in one table, problems first, with the
 * filters and the `/status` search in the query string, so a view can be
 * linked and downloaded as CSV.
 */
export function fleetPage(scope: FastifyInstance, kit: WebKit): void {
  const { deps } = kit;

  scope.get<{ Querystring: Record<string, unknown> }>(
    '/web/',
    kit.signedIn(async (request, reply, session) => {
      const { lang } = session;
      const t = texts(lang);
      const now = deps.clock();
      const query = readFleetQuery(request.query);
      const all = await rankedFleet(deps.db, now);
      const shown = fleetView(all, query, await matchedClients(deps.db, query.q));
      const options = (pick: (row: FleetRow) => string | null) => [...new Set(all.map((r) => pick(r.row)).filter((v): v is string => !!v))].sort();
      const rows = shown.map(({ row, rank }) => fleetCells(row, rank, lang, now, deps.displayTz));
      // A column empty on every row says nothing: it is left out, and a line under the table says why.
      const columns = OPTIONAL_COLUMNS.filter((column) => rows.some((cells) => cells[column.cell] !== ''));
      const body = kit.eta.render('fleet', {
        t: t.web,
        kinds: t.installationKinds,
        query,
        sortLink: (key: SortKey) => `/web/${fleetQueryString(query, { sort: key, desc: query.sort === key ? !query.desc : false })}`,
        csvLink: `/web/fleet.csv${fleetQueryString(query)}`,
        managers: options((row) => row.managerName),
        providers: options((row) => row.provider),
        total: all.length,
        withProblems: all.filter((r) => r.rank <= 2).length,
        columns: columns.map((column) => ({ sort: column.sort, title: t.web[column.title] })),
        // Which cells a row has, column by column (the template spells each out).
        show: Object.fromEntries(columns.map((column) => [column.cell, true])),
        rows,
        hiddenNote: rows.length > 0 ? whyHidden(OPTIONAL_COLUMNS.filter((column) => !columns.includes(column)), shown, lang, deps.sysinfoReadsLicences) : [],
      });
      return kit.page(reply, 200, lang, t.web.fleetTitle, body, { session, current: 'fleet' });
    }),
  );

  // The view as CSV, for a spreadsheet: the same filters and order as the page.
  scope.get<{ Querystring: Record<string, unknown> }>(
    '/web/fleet.csv',
    kit.signedIn(async (request, reply, { lang }) => {
      const t = texts(lang).web;
      const now = deps.clock();
      const query = readFleetQuery(request.query);
      const shown = fleetView(await rankedFleet(deps.db, now), query, await matchedClients(deps.db, query.q));
      const header = [t.client, t.installation, t.verdict, t.lastReport, t.lastSysinfo, t.operap, t.version, t.licence, t.seats, t.manager];
      const iso = (at: Date | null) => at?.toISOString() ?? '';
      const rows = shown.map(({ row, rank }) => {
        const cells = fleetCells(row, rank, lang, now, deps.displayTz);
        return [cells.client, cells.installation, cells.verdict, iso(row.lastReceivedAt), iso(row.lastSysinfoAt), row.operapDate ?? '', cells.version, cells.licenceDate, cells.seats, cells.manager];
      });
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="dozor-fleet.csv"')
        .send(csvDocument([header, ...rows]));
    }),
  );
}

/** Every installation with how bad it is: critical, other problems, silent (or never reported), fine. */
async function rankedFleet(db: DB, now: Date): Promise<RankedRow[]> {
  return (await listFleet(db)).map((row) => {
    const age = row.lastReceivedAt ? now.getTime() - row.lastReceivedAt.getTime() : null;
    const rank = row.critical > 0 ? 0 : row.problems > 0 ? 1 : row.monitoringEnabled && (age === null || age > STALE_REPORT_MS) ? 2 : 3;
    return { row, rank };
  });
}

/** The clients the `/status` search finds for the query (null: no search asked). */
async function matchedClients(db: DB, q: string): Promise<ReadonlySet<number> | null> {
  return q ? new Set((await searchIndexFor(db)).search(q).map((hit) => hit.clientId)) : null;
}

/** The columns after the installation and what is wrong with it: each can be empty on every row of a view. */
const OPTIONAL_COLUMNS = [
  { cell: 'lastReport', title: 'lastReport', sort: 'report' },
  { cell: 'lastSysinfo', title: 'lastSysinfo', sort: 'sysinfo' },
  { cell: 'operap', title: 'operap', sort: 'operap' },
  { cell: 'version', title: 'version', sort: 'version' },
  { cell: 'licence', title: 'licence', sort: 'licence' },
  { cell: 'seats', title: 'seats', sort: 'seats' },
  { cell: 'manager', title: 'manager', sort: 'manager' },
] as const satisfies readonly { cell: keyof FleetCells; title: keyof ReturnType<typeof texts>['web']; sort: SortKey }[];
type OptionalColumn = (typeof OPTIONAL_COLUMNS)[number];

/**
 * Why the columns left out are empty, one sentence per reason: no sysinfo
 * from any installation shown, sysinfo that gives no licence dates (the
 * mapping in force does not read them, when that is known), no reports at
 * all or none that says it, no manager.
 */
function whyHidden(hidden: readonly OptionalColumn[], shown: readonly RankedRow[], lang: Lang, readsLicences: boolean | undefined): string[] {
  const t = texts(lang).web;
  const says = t.hiddenColumns;
  const is = (cell: OptionalColumn['cell']) => hidden.some((column) => column.cell === cell);
  const names = (...cells: OptionalColumn['cell'][]) => hidden.filter((column) => cells.includes(column.cell)).map((column) => t[column.title]);
  const lines: string[] = [];
  const noSysinfo = is('lastSysinfo');
  if (noSysinfo) lines.push(says.noSysinfo(names('lastSysinfo', 'licence')));
  else if (is('licence')) lines.push((readsLicences === false ? says.licenceNotMapped : says.licenceNotFound)(names('licence')));
  const fromReports = names('lastReport', 'operap', 'version', 'seats');
  if (fromReports.length > 0) lines.push((shown.some(({ row }) => row.lastReceivedAt !== null) ? says.notReported : says.noReports)(fromReports));
  if (is('manager')) lines.push(says.noManager(names('manager')));
  return lines;
}

type FleetCells = ReturnType<typeof fleetCells>;

/** At most this many problems are named in a row; the rest are counted. */
const NAMED_PROBLEMS = 3;

/** What is wrong, in words: the titles of the open problems, critical first. */
function whatIsWrong(rules: readonly string[], lang: Lang): string {
  const titles = rules.slice(0, NAMED_PROBLEMS).map((rule) => ruleTitle(lang, rule));
  const more = rules.length - titles.length;
  return more > 0 ? `${titles.join('; ')}; ${texts(lang).web.andMore(more)}` : titles.join('; ');
}

/** A row as the page and the CSV show it. */
function fleetCells(row: FleetRow, rank: number, lang: Lang, now: Date, tz: string) {
  const t = texts(lang).web;
  const age = row.lastReceivedAt ? now.getTime() - row.lastReceivedAt.getTime() : null;
  const operapAge = row.operapDate ? operapAgeMs(row.operapDate, row.tz, now) : null;
  const licence = soonestLicense(row.databases ?? undefined)?.expires ?? null;
  const left = licence ? daysLeft(licence, row.tz, now) : null;
  return {
    id: row.installationId,
    css: rank === 0 ? 'critical' : rank === 1 ? 'warning' : row.monitoringEnabled ? (rank === 2 ? 'silent' : '') : 'quiet',
    client: row.clientName,
    installation: row.installationName,
    verdict: !row.monitoringEnabled ? t.monitoringOff : row.problems > 0 ? whatIsWrong(row.problemRules, lang) : age === null ? t.noReports : rank === 2 ? t.silentFor(formatSpan(lang, age)) : t.ok,
    lastReport: age === null ? t.never : `${formatSpan(lang, age)} (${formatWhen(lang, row.lastReceivedAt!, now, tz)})`,
    lastSysinfo: row.lastSysinfoAt ? formatSpan(lang, now.getTime() - row.lastSysinfoAt.getTime()) : '',
    operap: row.operapDate ? formatOperapDay(lang, row.operapDate, row.tz, now, tz) : '',
    operapStale: operapAge !== null && operapAge > OPERAP_STALE_MS,
    version: [row.shellVersion, row.updateNumber].filter((v) => v !== null).join(' · '),
    licence: licence ? formatLicenceDay(lang, licence, row.tz, now, tz) : '',
    licenceDate: licence ?? '',
    licenceSoon: left !== null && left <= LICENCE_SOON_DAYS,
    seats: t.seatsCell(row.seatsUsed, row.licenseLimit),
    manager: row.managerName ?? '',
    // Said in words on a phone, where the row is a card without its colour's legend: how bad, when something is wrong.
    state: rank <= 1 && row.monitoringEnabled ? (texts(lang).severityWord[rank === 0 ? 'critical' : 'warning'] ?? '') : '',
  };
}
