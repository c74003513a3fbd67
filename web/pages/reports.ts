import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { availabilityPercent } from '../../core/availability.ts';
import { responseTimesByManager } from '../../core/response-times.ts';
import { compareVersions } from '../../core/versions.ts';
import { renderBarChart, type BarChart } from '../../digest/chart.ts';
import { licenceStanding } from '../../digest/licences.ts';
import { formatLicenceDay, formatMonth } from '../licence-day.ts';
import { availabilityByClient } from '../../db/availability.ts';
import { listInstallationsInScope, listReportingStates, listResponseTimeRows, type Scope } from '../../db/digest.ts';
import type { DB } from '../../db/open.ts';
import { getPolicy } from '../../db/policies.ts';
import { formatPercent, formatSpan } from '../../i18n/format.ts';
import { texts, type Lang } from '../../i18n/index.ts';
import { csvDocument } from '../fleet-view.ts';
import type { WebKit } from '../kit.ts';

const REPORT_NAMES = ['availability', 'response', 'licences', 'versions'] as const;
type ReportName = (typeof REPORT_NAMES)[number];

/**
 * One report: a table (shown in words, and downloaded as CSV with plain
 * numbers for a spreadsheet) and its chart (shown, and downloaded as PNG).
 */
interface Report {
  name: ReportName;
  title: string;
  note: string | null;
  /** The table as the page shows it: a figure in the reader's own way («61,2 %», «2 часа»), nothing left blank. */
  columns: string[];
  rows: string[][];
  /** The same table for a spreadsheet: numbers as numbers, their unit in the heading. */
  csv: { columns: string[]; rows: (string | number | null)[][] };
  /** Rows to mark (below the campaign, say), by index. */
  marked: ReadonlySet<number>;
  chart: BarChart | null;
}

/** The fleet as a whole: the cabinet shows every client to every member of staff, as /status does. */
const EVERYONE: Scope = { key: 'all', clientIds: null };
/** A month is chosen among this many, the current one first. */
const MONTHS_BACK = 13;
/** Clients drawn on the availability chart: the least available; the table has them all. */
const CHART_CLIENTS = 25;
/** Licence terms are planned this far ahead. */
const LICENCE_MONTHS = 12;
/** Availability is judged by this line, in per cent: below it a client is marked, and its bar is red. */
export const AVAILABILITY_TARGET = 99;

/**
 * Availability bars coloured by the line they are judged by (green at or above
 * it, red below), the line drawn across them, the axis in per cent as the
 * reader writes it. When every bar is above 90 %, the axis starts there, so
 * 98 and 100 do not look alike.
 */
export function availabilityChart(values: readonly (number | null)[], lang: Lang): Pick<BarChart, 'series' | 'max' | 'min' | 'threshold' | 'valueLabel' | 'stacked'> {
  const t = texts(lang).web;
  const target = formatPercent(lang, AVAILABILITY_TARGET);
  const lowest = Math.min(...values.filter((v): v is number => v !== null));
  const series = [
    { label: t.atOrAboveTarget(target), data: values.map((v) => (v !== null && v >= AVAILABILITY_TARGET ? v : null)), color: '#2f7d4f' },
    { label: t.belowTarget(target), data: values.map((v) => (v !== null && v < AVAILABILITY_TARGET ? v : null)), color: '#c0392b' },
  ];
  return {
    // The legend names only the colours drawn: a red square for a fleet all above the line would say otherwise.
    series: series.filter((s, i) => i === 0 || s.data.some((v) => v !== null)),
    // One of the two is empty for each bar: stacked, each bar stands in its own place.
    stacked: true,
    max: 100,
    ...(lowest >= 90 ? { min: 90 } : {}),
    threshold: { value: AVAILABILITY_TARGET, label: target, color: '#555555' },
    valueLabel: (value) => formatPercent(lang, value),
  };
}

/**
 * «Отчёты»: what a renewal meeting and a team review ask for — availability
 * per client for a month, the time to acknowledge and to resolve per manager, licence terms by month,
 * shell versions against the campaign. Each is a table and a chart, both
 * downloadable (CSV, PNG).
 */
export function reportsPage(scope: FastifyInstance, kit: WebKit): void {
  const { deps } = kit;

  scope.get<{ Querystring: { month?: string } }>(
    '/web/reports',
    kit.signedIn(async (request, reply, session) => {
      const { lang } = session;
      const t = texts(lang).web;
      const now = deps.clock();
      const month = chosenMonth(request.query.month, now, deps.displayTz);
      const reports: Report[] = [];
      for (const name of REPORT_NAMES) reports.push(await buildReport(deps.db, name, month, now, lang, deps.displayTz));
      const body = kit.eta.render('reports', {
        t,
        month: month.toFormat('yyyy-MM'),
        months: Array.from({ length: MONTHS_BACK }, (_, i) => {
          const m = DateTime.fromJSDate(now).setZone(deps.displayTz).startOf('month').minus({ months: i });
          return { value: m.toFormat('yyyy-MM'), label: m.setLocale(lang).toFormat('LLLL yyyy') };
        }),
        reports: reports.map((r) => ({ name: r.name, title: r.title, note: r.note, columns: r.columns, rows: r.rows, chart: r.chart !== null, marked: [...r.marked] })),
      });
      return kit.page(reply, 200, lang, t.reportsTitle, body, { session, current: 'reports' });
    }),
  );

  scope.get<{ Params: { file: string }; Querystring: { month?: string } }>(
    '/web/reports/:file',
    kit.signedIn(async (request, reply, session) => {
      const match = /^(\w+)\.(png|csv)$/.exec(request.params.file);
      const name = REPORT_NAMES.find((n) => n === match?.[1]);
      const t = texts(session.lang).web;
      if (!match || !name) return kit.message(reply, 404, session.lang, t.notFoundTitle, t.reportNotFound, session);
      const now = deps.clock();
      const month = chosenMonth(request.query.month, now, deps.displayTz);
      const report = await buildReport(deps.db, name, month, now, session.lang, deps.displayTz);
      const attachment = `attachment; filename="dozor-${name}-${month.toFormat('yyyy-MM')}.${match[2]}"`;
      if (match[2] === 'csv') {
        // Fractions as the person's spreadsheet reads them: a Russian one takes «99,5», not «99.5».
        const cell = (value: string | number | null) => (value === null ? '' : typeof value === 'number' && session.lang === 'ru' ? String(value).replace('.', ',') : value);
        return reply.type('text/csv; charset=utf-8').header('content-disposition', attachment).send(csvDocument([report.csv.columns, ...report.csv.rows.map((row) => row.map(cell))]));
      }
      if (!report.chart) return kit.message(reply, 404, session.lang, t.notFoundTitle, t.reportNotFound, session);
      return reply.type('image/png').header('content-disposition', attachment).send(renderBarChart(report.chart, 900, chartHeight(report.chart)));
    }),
  );
}

/** The month asked for (YYYY-MM) if it is one of the `MONTHS_BACK` offered, else the current one. */
function chosenMonth(raw: string | undefined, now: Date, tz: string): DateTime {
  const current = DateTime.fromJSDate(now).setZone(tz).startOf('month');
  const asked = raw && /^\d{4}-\d{2}$/.test(raw) ? DateTime.fromFormat(raw, 'yyyy-MM', { zone: tz }) : null;
  return asked?.isValid && asked <= current && asked >= current.minus({ months: MONTHS_BACK - 1 }) ? asked : current;
}

/** Horizontal charts grow with their rows, so every name stays readable. */
function chartHeight(chart: BarChart): number {
  return chart.horizontal ? Math.max(240, 90 + 26 * chart.labels.length) : 420;
}

async function buildReport(db: DB, name: ReportName, month: DateTime, now: Date, lang: Lang, tz: string): Promise<Report> {
  switch (name) {
    case 'availability':
      return availabilityReport(db, month, lang);
    case 'response':
      return responseReport(db, month, lang);
    case 'licences':
      return licencesReport(db, now, lang, tz);
    case 'versions':
      return versionsReport(db, lang);
  }
}

/** Each client's share of probe rounds that found its installations up, over the month's days. */
async function availabilityReport(db: DB, month: DateTime, lang: Lang): Promise<Report> {
  const t = texts(lang).web;
  const measured = (await availabilityByClient(db, month.toISODate()!, month.endOf('month').toISODate()!))
    .map((row) => ({ client: row.clientName, percent: availabilityPercent(row)!, rounds: row.rounds, down: row.rounds - row.up }))
    .sort((a, b) => a.percent - b.percent || a.client.localeCompare(b.client));
  const drawn = measured.slice(0, CHART_CLIENTS);
  const title = t.reportAvailability(month.setLocale(lang).toFormat('LLLL yyyy'));
  return {
    name: 'availability',
    title,
    note: measured.length === 0 ? t.noProbesInMonth : t.availabilityNote(formatPercent(lang, AVAILABILITY_TARGET)),
    columns: [t.client, t.availability, t.rounds, t.roundsDown],
    rows: measured.map((m) => [m.client, formatPercent(lang, m.percent), String(m.rounds), String(m.down)]),
    csv: { columns: [t.client, t.availabilityPercent, t.rounds, t.roundsDown], rows: measured.map((m) => [m.client, m.percent, m.rounds, m.down]) },
    marked: new Set(measured.flatMap((m, i) => (m.percent < AVAILABILITY_TARGET ? [i] : []))),
    chart: drawn.length ? { ...availabilityChart(drawn.map((m) => m.percent), lang), title, labels: drawn.map((m) => m.client), horizontal: true } : null,
  };
}

/** Mean time to acknowledge and to resolve, per manager, for what was acknowledged or resolved in the month. */
async function responseReport(db: DB, month: DateTime, lang: Lang): Promise<Report> {
  const t = texts(lang).web;
  const from = month.toJSDate();
  const to = month.plus({ months: 1 }).toJSDate();
  const rows = await listResponseTimeRows(db, EVERYONE, [], from);
  const names = new Map(rows.map((r) => [r.managerId, r.managerName]));
  const byManager = [...responseTimesByManager(rows, from, to)]
    .filter(([, times]) => times.acknowledged + times.resolved > 0)
    .map(([managerId, times]) => ({ manager: names.get(managerId) ?? t.noManager, ...times }))
    .sort((a, b) => a.manager.localeCompare(b.manager));
  const minutes = (ms: number | null) => (ms === null ? null : Math.round(ms / 60_000));
  return {
    name: 'response',
    title: t.reportResponse,
    note: byManager.length === 0 ? t.noResponses : t.responseNote,
    // Each figure once, in words; a manager who took nothing, or closed nothing, is said to have.
    columns: [t.manager, t.timeToAcknowledge, t.acknowledgedCount, t.timeToResolve, t.resolvedCount],
    rows: byManager.map((m) => [
      m.manager,
      m.mtta === null ? t.nothingTaken : formatSpan(lang, m.mtta),
      String(m.acknowledged),
      m.mttr === null ? t.nothingResolved : formatSpan(lang, m.mttr),
      String(m.resolved),
    ]),
    csv: {
      columns: [t.manager, t.timeToAcknowledgeMinutes, t.acknowledgedCount, t.timeToResolveMinutes, t.resolvedCount],
      rows: byManager.map((m) => [m.manager, minutes(m.mtta), m.acknowledged, minutes(m.mttr), m.resolved]),
    },
    marked: new Set(),
    chart: byManager.length
      ? {
          title: t.reportResponse,
          labels: byManager.map((m) => m.manager),
          series: [
            { label: t.timeToAcknowledgeMinutes, data: byManager.map((m) => minutes(m.mtta)), color: '#d9822b' },
            { label: t.timeToResolveMinutes, data: byManager.map((m) => minutes(m.mttr)), color: '#1f4e8c' },
          ],
          horizontal: true,
        }
      : null,
  };
}

/** Installations by the month their soonest licence term ends: the renewals to plan (those already over first). */
async function licencesReport(db: DB, now: Date, lang: Lang, tz: string): Promise<Report> {
  const t = texts(lang).web;
  const horizon = DateTime.fromJSDate(now).setZone(tz).startOf('month').plus({ months: LICENCE_MONTHS });
  const { ending } = await licenceStanding(db, EVERYONE, now, Math.ceil(horizon.diff(DateTime.fromJSDate(now), 'days').days));
  // Each installation twice: in words for the page («31.03.2027, через 114 дней»), with the date as it is for the CSV.
  const months = new Map<string, { shown: string[]; csv: string[] }>();
  const last = horizon.toISODate()!;
  for (const licence of ending.filter((l) => l.expires < last)) {
    const key = licence.daysLeft < 0 ? t.alreadyOver : licence.expires.slice(0, 7);
    const where = `${licence.clientName} · ${licence.installationName}`;
    const month = months.get(key) ?? { shown: [], csv: [] };
    month.shown.push(`${where} (${formatLicenceDay(lang, licence.expires, tz, now, tz)})`);
    month.csv.push(`${where} (${licence.expires})`);
    months.set(key, month);
  }
  const ordered = [...months].sort(([a], [b]) => (a === t.alreadyOver ? -1 : b === t.alreadyOver ? 1 : a.localeCompare(b)));
  const monthName = (key: string) => (key === t.alreadyOver ? key : formatMonth(lang, key));
  return {
    name: 'licences',
    title: t.reportLicences(LICENCE_MONTHS),
    note: ordered.length === 0 ? t.noLicenceTerms : null,
    columns: [t.month, t.installationsCount, t.whose],
    rows: ordered.map(([month, list]) => [monthName(month), String(list.shown.length), list.shown.join('; ')]),
    csv: { columns: [t.month, t.installationsCount, t.whose], rows: ordered.map(([month, list]) => [month, list.csv.length, list.csv.join('; ')]) },
    marked: new Set(ordered.flatMap(([month], i) => (month === t.alreadyOver ? [i] : []))),
    chart: ordered.length
      ? { title: t.reportLicences(LICENCE_MONTHS), labels: ordered.map(([month]) => monthName(month)), series: [{ label: t.installationsCount, data: ordered.map(([, list]) => list.shown.length), color: '#8c5a1f' }], counts: true }
      : null,
  };
}

/** Shell versions the monitored installations last reported, newest first, against the campaign's minimum. */
async function versionsReport(db: DB, lang: Lang): Promise<Report> {
  const t = texts(lang).web;
  const monitored = new Set((await listInstallationsInScope(db, EVERYONE)).filter((r) => r.monitoringEnabled).map((r) => r.installationId));
  const counts = new Map<string, number>();
  for (const [id, state] of await listReportingStates(db, EVERYONE, [])) {
    if (monitored.has(id) && state.shellVersion) counts.set(state.shellVersion, (counts.get(state.shellVersion) ?? 0) + 1);
  }
  const minVersion = (await getPolicy(db)).minShellVersion ?? null;
  const versions = [...counts].sort(([a], [b]) => compareVersions(b, a));
  const below = (version: string) => minVersion !== null && compareVersions(version, minVersion) < 0;
  const lagging = versions.filter(([v]) => below(v)).reduce((sum, [, n]) => sum + n, 0);
  const total = versions.reduce((sum, [, n]) => sum + n, 0);
  return {
    name: 'versions',
    title: t.reportVersions,
    note: minVersion ? t.campaignStanding(minVersion, total - lagging, total) : t.noCampaign,
    columns: minVersion === null ? [t.shellVersion, t.installationsCount] : [t.shellVersion, t.installationsCount, t.campaign],
    rows: versions.map(([version, n]) => [version, String(n), ...(minVersion === null ? [] : [below(version) ? t.belowCampaign : t.meetsCampaign])]),
    csv: {
      columns: minVersion === null ? [t.shellVersion, t.installationsCount] : [t.shellVersion, t.installationsCount, t.campaign],
      rows: versions.map(([version, n]) => [version, n, ...(minVersion === null ? [] : [below(version) ? t.belowCampaign : t.meetsCampaign])]),
    },
    marked: new Set(versions.flatMap(([v], i) => (below(v) ? [i] : []))),
    chart: versions.length
      ? {
          title: t.reportVersions,
          labels: versions.map(([v]) => v),
          series: minVersion
            ? [
                { label: t.meetsCampaign, data: versions.map(([v, n]) => (below(v) ? 0 : n)), color: '#2f7d4f' },
                { label: t.belowCampaign, data: versions.map(([v, n]) => (below(v) ? n : 0)), color: '#c0392b' },
              ]
            : [{ label: t.installationsCount, data: versions.map(([, n]) => n), color: '#1f4e8c' }],
          stacked: true,
          counts: true,
        }
      : null,
  };
}
