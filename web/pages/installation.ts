import type { FastifyInstance, FastifyReply } from 'fastify';
import { ruleNames } from '../rule-name.ts';
import { DateTime } from 'luxon';
import { renderClientStatus } from '../../bot/render/status.ts';
import { availabilityPercent, sumTallies } from '../../core/availability.ts';
import { calendarDay } from '../../core/calendar.ts';
import { DOWNLOAD_LINK_MS, signDownload } from '../../core/download-link.ts';
import { InputError } from '../../core/errors.ts';
import { actorOf } from '../../core/permissions.ts';
import { renderBarChart } from '../../digest/chart.ts';
import { listAvailabilityDays } from '../../db/availability.ts';
import { getIncidentViews, listIncidentIdsOfInstallation } from '../../db/incidents.ts';
import { getInstallation, type Installation } from '../../db/installations.ts';
import { getMetricsSnapshot } from '../../db/metrics-snapshots.ts';
import type { DB } from '../../db/open.ts';
import { describeMetricsError } from '../../i18n/network.ts';
import { listRecentReports } from '../../db/reports.ts';
import { getClientStatus } from '../../db/status.ts';
import { findLatestSysinfo, listUploadsOf } from '../../db/uploads.ts';
import { defuse } from '../../core/text.ts';
import { formatOperapDay, formatPercent, formatSpan, formatWhen } from '../../i18n/format.ts';
import { describeError, ruleTitle, texts, type Lang } from '../../i18n/index.ts';
import { AGENT_OS, issueAgent } from '../../registry/agent.ts';
import type { AgentOs } from '../../agent/render.ts';
import type { WebKit, WebSession } from '../kit.ts';
import { availabilityChart } from './reports.ts';

/** The availability chart and figure cover this many days, today included. */
const AVAILABILITY_DAYS = 30;
/** Incidents of this many days back are on the timeline (and any still open). */
const TIMELINE_DAYS = 90;
const HISTORY_ROWS = 30;
/** Reports read for their table: runs of alike ones fold into a line each, so more are read than lines shown. */
const REPORTS_READ = 300;
/** The timeline shows at most this many incidents (a flapping installation can have thousands). */
const TIMELINE_ROWS = 200;
const METRIC_ROWS = 300;

/**
 * «Установка»: one installation whole — the bot's status card, its incidents
 * over time, availability from the probes, what it sent (reports, files,
 * metrics), the latest sysinfo to download, and for admins its agent script.
 */
export function installationPage(scope: FastifyInstance, kit: WebKit): void {
  const { deps } = kit;

  /** The installation a path names, or a 404 page. */
  const found = async (rawId: string, reply: FastifyReply, session: WebSession): Promise<Installation | null> => {
    const installation = /^\d{1,12}$/.test(rawId) ? await getInstallation(deps.db, Number(rawId)) : undefined;
    if (installation) return installation;
    const t = texts(session.lang).web;
    await kit.message(reply, 404, session.lang, t.notFoundTitle, t.installationNotFound, session);
    return null;
  };

  scope.get<{ Params: { id: string } }>(
    '/web/installations/:id',
    kit.signedIn(async (request, reply, session) => {
      const installation = await found(request.params.id, reply, session);
      if (!installation) return reply;
      const { lang, user } = session;
      const t = texts(lang).web;
      const now = deps.clock();
      const when = (at: Date | null) => (at ? formatWhen(lang, at, now, deps.displayTz) : '');
      const status = await getClientStatus(deps.db, installation.clientId, now);
      const days = await availabilityWindow(deps.db, installation, now);
      const percent = availabilityPercent(sumTallies(days.map((d) => d.tally).filter((x) => x !== null)));
      const incidents = (await getIncidentViews(deps.db, await listIncidentIdsOfInstallation(deps.db, installation.id, new Date(now.getTime() - TIMELINE_DAYS * 86_400_000), TIMELINE_ROWS)))
        .sort((a, b) => b.incident.openedAt.getTime() - a.incident.openedAt.getTime())
        .map(({ incident, acknowledgedByName, resolvedByName }) => ({
          severity: incident.severity,
          title: ruleTitle(lang, incident.ruleId),
          ruleNames: ruleNames(lang, incident.ruleId, incident.details),
          opened: when(incident.openedAt),
          acknowledged: incident.acknowledgedAt ? t.acknowledgedBy(acknowledgedByName ?? '?', when(incident.acknowledgedAt)) : '',
          resolved: incident.resolvedAt ? t.resolvedHow(incident.resolution ?? 'cleared', resolvedByName ?? '', when(incident.resolvedAt)) : t.stillOpen,
          duration: formatSpan(lang, (incident.resolvedAt ?? now).getTime() - incident.openedAt.getTime()),
        }));
      const sysinfo = await findLatestSysinfo(deps.db, installation.id);
      const signed = sysinfo && deps.downloadKey ? signDownload(deps.downloadKey, sysinfo.id, new Date(now.getTime() + DOWNLOAD_LINK_MS)) : null;
      const metrics = await getMetricsSnapshot(deps.db, installation.id);
      const body = kit.eta.render('installation', {
        t,
        kinds: texts(lang).installationKinds,
        installation,
        // The card is the bot's own, in Telegram's HTML subset; every stored string in it was escaped there.
        card: status ? renderClientStatus(status, lang, deps.displayTz, now, installation.id) : '',
        percent: percent === null ? null : formatPercent(lang, percent),
        availabilityDays: AVAILABILITY_DAYS,
        measuredDays: days.filter((d) => d.tally !== null).length,
        incidents,
        ...reportsTable(foldReports(await listRecentReports(deps.db, installation.id, REPORTS_READ)).slice(0, HISTORY_ROWS), lang, installation, now, deps.displayTz),
        uploads: (await listUploadsOf(deps.db, installation.id, HISTORY_ROWS)).map((u) => ({
          // A name stored before such marks were refused at the door shows them as �.
          file: defuse(`${u.name}.${u.kind}`),
          size: t.fileSize(u.size),
          received: when(u.receivedAt),
          taken: when(u.takenAt),
        })),
        sysinfo: sysinfo && signed ? { file: defuse(`${sysinfo.name}.${sysinfo.kind}`), received: when(sysinfo.receivedAt), href: `/download/${sysinfo.id}?expires=${signed.expires}&sig=${signed.sig}` } : null,
        metrics: metrics
          ? {
              taken: when(metrics.takenAt),
              error: metrics.error ? describeMetricsError(lang, metrics.error) : null,
              samples: metrics.samples.slice(0, METRIC_ROWS).map((s) => ({ name: s.name, labels: Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`).join(', '), value: s.value })),
              more: Math.max(0, metrics.samples.length - METRIC_ROWS),
            }
          : null,
        admin: user.role === 'admin',
        agentOs: AGENT_OS,
        csrf: session.csrf,
      });
      return kit.page(reply, 200, lang, installation.name, body, { session, current: 'fleet' });
    }),
  );

  scope.get<{ Params: { id: string } }>(
    '/web/installations/:id/availability.png',
    kit.signedIn(async (request, reply, session) => {
      const installation = await found(request.params.id, reply, session);
      if (!installation) return reply;
      const t = texts(session.lang).web;
      const days = await availabilityWindow(deps.db, installation, deps.clock());
      const png = renderBarChart({
        ...availabilityChart(days.map((d) => (d.tally ? availabilityPercent(d.tally) : null)), session.lang),
        title: t.availabilityChart(installation.name),
        labels: days.map((d) => d.label),
      });
      return reply.type('image/png').header('content-disposition', `inline; filename="availability-${installation.id}.png"`).send(png);
    }),
  );

  // A new agent script (a new token: the one running there stops being accepted), for admins only.
  scope.post<{ Params: { id: string } }>(
    '/web/installations/:id/agent',
    kit.signedIn(async (request, reply, session) => {
      const t = texts(session.lang).web;
      if (!kit.formIsOurs(session, request.body)) return kit.message(reply, 403, session.lang, t.refusedTitle, t.formExpired, session);
      if (session.user.role !== 'admin') return kit.message(reply, 403, session.lang, t.refusedTitle, texts(session.lang).adminsOnly, session);
      const installation = await found(request.params.id, reply, session);
      if (!installation) return reply;
      const os = (request.body as Record<string, unknown>).os;
      if (!AGENT_OS.includes(os as AgentOs)) return kit.message(reply, 400, session.lang, t.refusedTitle, t.chooseOs, session);
      try {
        const issued = await issueAgent({ db: deps.db, clock: deps.clock, actor: actorOf(session.user.telegramId) }, installation.id, {
          os: os as AgentOs,
          publicUrl: deps.publicUrl,
          secretKey: deps.secretKey,
          options: installation.agentOptions ?? {},
        });
        // One system at a time here: both with one token would take an archive (the bot and the command line give both).
        const [script] = issued.agents;
        return reply
          .type('application/octet-stream')
          .header('content-disposition', `attachment; filename="${script!.fileName}"`)
          .send(script!.bytes);
      } catch (err) {
        if (err instanceof InputError) return kit.message(reply, 400, session.lang, t.refusedTitle, describeError(err, session.lang), session);
        throw err;
      }
    }),
  );
}

/** The last `AVAILABILITY_DAYS` calendar days of the installation, each with its rounds (null: not probed that day). */
async function availabilityWindow(db: DB, installation: Installation, now: Date) {
  const last = DateTime.fromISO(calendarDay(now, installation.tz), { zone: installation.tz });
  const first = last.minus({ days: AVAILABILITY_DAYS - 1 });
  const byDay = new Map((await listAvailabilityDays(db, installation.id, first.toISODate()!, last.toISODate()!)).map((d) => [d.day, d]));
  return Array.from({ length: AVAILABILITY_DAYS }, (_, i) => {
    const day = first.plus({ days: i });
    const tally = byDay.get(day.toISODate()!);
    return { label: day.toFormat('dd.MM'), tally: tally ? { rounds: tally.rounds, up: tally.up } : null };
  });
}

type RecentReport = Awaited<ReturnType<typeof listRecentReports>>[number];
type ReportRun = ReturnType<typeof foldReports>[number];

/** The optional columns of the reports table, each left out when no run shown has it. */
const REPORT_COLUMNS = ['generated', 'version', 'operap'] as const;

/**
 * The reports table: one line per run of alike reports, its operap day in
 * words as the card says it («сегодня», «25.11, 5 дней назад»); a column no
 * line has anything in is left out, and a line under the table says why.
 */
function reportsTable(runs: ReportRun[], lang: Lang, installation: Installation, now: Date, tz: string) {
  const t = texts(lang).web;
  const when = (at: Date | null) => (at ? formatWhen(lang, at, now, tz) : '');
  const reports = runs.map((run) => ({
    // A run of reports that said the same thing is one line: from when to when, and how many.
    received: run.count === 1 ? when(run.latest.receivedAt) : t.receivedBetween(when(run.earliest.receivedAt), when(run.latest.receivedAt)),
    count: run.count,
    generated: when(run.latest.generatedAt),
    version: run.version,
    operap: run.operap ? formatOperapDay(lang, run.operap, installation.tz, now, tz) : '',
  }));
  const hidden = REPORT_COLUMNS.filter((column) => reports.every((r) => r[column] === ''));
  const title = { generated: t.lastGenerated, version: t.version, operap: t.operap } as const;
  return {
    reports: reports.map((r) => ({ ...r, version: r.version || t.noData, operap: r.operap || t.noData })),
    reportColumns: Object.fromEntries(REPORT_COLUMNS.map((column) => [column, !hidden.includes(column)])),
    reportsHiddenNote: reports.length > 0 && hidden.length > 0 ? t.hiddenColumns.notReported(hidden.map((column) => title[column])) : null,
  };
}

/** Reports in a row (latest first) that said the same (version, update, operap): one run each. */
function foldReports(reports: readonly RecentReport[]): { latest: RecentReport; earliest: RecentReport; count: number; version: string; operap: string }[] {
  const runs: ReturnType<typeof foldReports> = [];
  for (const report of reports) {
    const version = [report.facts.shellVersion, report.facts.updateNumber].filter((v) => v !== undefined).join(' · ');
    const operap = report.facts.operapDate ?? '';
    const last = runs.at(-1);
    if (last && last.version === version && last.operap === operap) {
      last.earliest = report;
      last.count++;
    } else runs.push({ latest: report, earliest: report, count: 1, version, operap });
  }
  return runs;
}
