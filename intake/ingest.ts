import { applyEvaluation, type CheckOutcome } from '../checks/check-installation.ts';
import type { AgentReport } from '../core/report.ts';
import { evaluateInstallation } from '../core/rules.ts';
import { applyReport, type Evidence, type FleetOrigin, type InstallationState } from '../core/state.ts';
import type { DB, Queryable } from '../db/open.ts';
import { calendarDay } from '../core/calendar.ts';
import { recordLicenseDays, type LicenseDayEntry } from '../db/license-days.ts';
import { getPolicy } from '../db/policies.ts';
import { insertReports } from '../db/reports.ts';
import { saveStates } from '../db/state.ts';
import { setNextChecks } from '../db/check-schedule.ts';
import { loadIngestRows, type IngestRow } from '../db/sweep-rows.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { writeTransaction } from '../db/transaction.ts';

export type IngestResult =
  | ({ status: 'stored'; reportRowId: number; installation: IngestRow } & CheckOutcome)
  | { status: 'duplicate'; opened: []; resolved: [] }
  /** The installation is gone, or its token changed after the report was let in: nothing is written. */
  | { status: 'refused'; opened: []; resolved: [] };

export interface IngestOptions {
  /**
   * Whether the report's own time counts as the installation's vote on our
   * clock (default: it does). Only an agent's report under its installation's
   * own token votes: a date inside an uploaded file does not, since one fleet
   * token can upload under every installation's name.
   */
  votesOnClock?: boolean;
  /** The report is a file uploaded under a fleet token: the installation's own agent's facts stand over it (core/state.ts). */
  fleet?: FleetOrigin;
  /** What the report is evidence of: an agent's report (the default), a sysinfo, or a heartbeat with metrics. */
  evidence?: Evidence;
}

/** One report to take in. */
export interface IngestItem {
  installationId: number;
  report: AgentReport;
  receivedAt: Date;
  /**
   * The hash of the token the report came with, when it came with the
   * installation's own: checked again against the stored one inside the
   * transaction, so a report let in by a token rotated meanwhile (by another
   * instance, or the command line) is refused rather than stored.
   */
  tokenHash?: string;
  options?: IngestOptions;
}

/**
 * Store a report, fold it into the installation's latest state and judge the
 * new state, in one transaction: the report, the state, any incident it opens
 * or resolves and the announcements of those are written together or not at
 * all. A repeated report id is acknowledged without writing anything.
 */
export async function ingestReport(db: DB, settings: IncidentSettings, installation: { id: number }, report: AgentReport, receivedAt: Date): Promise<IngestResult> {
  return writeTransaction(db, async (tx) => (await ingestInTransaction(tx, settings, [{ installationId: installation.id, report, receivedAt }]))[0]!);
}

const NOTHING = { opened: [], resolved: [] } as { opened: []; resolved: [] };

/**
 * The work of a batch of reports (one or many), inside a transaction the
 * caller opened; each report's answer in the order given, each judged as if
 * the reports had come one after another. What every report reads (its
 * installation's settings, schedule, state and open incidents, the fleet's
 * policy) is read once for the batch, and what every report writes besides
 * the report itself and incident changes (its state, licence figures, next
 * check) is written once at the end, so a batch costs a few statements more
 * than its reports rather than ten a report: on PostgreSQL each statement is
 * a round trip.
 */
export async function ingestInTransaction(tx: Queryable, settings: IncidentSettings, items: readonly IngestItem[]): Promise<IngestResult[]> {
  const rows = await loadIngestRows(tx, [...new Set(items.map((item) => item.installationId))]);
  const policy = await getPolicy(tx);
  const states = new Map<number, InstallationState>();
  const licenseDays: LicenseDayEntry[] = [];
  const nextChecks: { id: number; at: number | null }[] = [];
  const admitted = items.filter(({ installationId, tokenHash }) => {
    const row = rows.get(installationId);
    return row !== undefined && (tokenHash === undefined || row.tokenHash === tokenHash);
  });
  // Each installation's newest stored report, to link the batch's reports to; it ends as the newest of them.
  const heads = new Map<number, number>();
  for (const [id, row] of rows) if (row.state?.lastReportId !== undefined) heads.set(id, row.state.lastReportId);
  const rowIds = new Map(zip(admitted, await insertReports(tx, admitted, heads)));
  const results: IngestResult[] = [];
  for (const item of items) {
    const { installationId, report, receivedAt, options = {} } = item;
    // A clock that jumped is noticed by the first report after the jump, before anything is judged.
    settings.clockWatch?.note(receivedAt.getTime());
    const row = rows.get(installationId);
    const reportRowId = rowIds.get(item);
    if (!row || reportRowId === undefined) {
      results.push({ status: 'refused', ...NOTHING });
      continue;
    }
    if (reportRowId === null) {
      results.push({ status: 'duplicate', ...NOTHING });
      continue;
    }
    row.state = applyReport(row.state, report, receivedAt, { fleet: options.fleet, evidence: options.evidence ?? 'report' });
    row.state.lastReportId = reportRowId;
    states.set(installationId, row.state);
    if (options.votesOnClock !== false) settings.clockWatch?.observe(installationId, receivedAt, report.generatedAt);
    const { licenseExhausted, licensePeak, licenseLimit } = report.facts;
    if (licenseExhausted !== undefined || licensePeak !== undefined || licenseLimit !== undefined) {
      licenseDays.push({
        installationId,
        // The client's calendar day of the report: "3 days out of 7" is about their days.
        day: calendarDay(report.generatedAt ?? receivedAt, row.tz),
        hits: licenseExhausted ?? 0,
        peak: licensePeak ?? null,
        limit: licenseLimit ?? null,
      });
    }
    const outcome = row.monitoringEnabled ? await judge(tx, settings, row, policy, receivedAt, nextChecks) : { opened: [], resolved: [] };
    results.push({ status: 'stored', reportRowId, installation: row, ...outcome });
  }
  await saveStates(tx, states);
  await recordLicenseDays(tx, licenseDays);
  await setNextChecks(tx, nextChecks);
  return results;
}

/**
 * Judge an installation's new state by every rule and bring its incidents in
 * line, as `checkInstallation` does, from what the batch read; the row is
 * kept current (deadline, open incidents) for a later report of the same
 * installation in the batch.
 */
async function judge(
  tx: Queryable,
  settings: IncidentSettings,
  row: IngestRow,
  policy: Awaited<ReturnType<typeof getPolicy>>,
  now: Date,
  nextChecks: { id: number; at: number | null }[],
): Promise<CheckOutcome> {
  const evaluation = evaluateInstallation({ installation: row, state: row.state, policy, now, blind: settings.clockWatch?.blind ?? null });
  const changed: { id: number; at: number | null }[] = [];
  const outcome = await applyEvaluation(tx, settings, row, row.active, evaluation, now, {
    shared: { policy, state: row.state, installation: row },
    deadlines: 'earlier-only',
    nextChecks: changed,
  });
  for (const change of changed) row.nextCheckAt = change.at === null ? null : new Date(change.at);
  nextChecks.push(...changed);
  if (outcome.opened.length > 0 || outcome.resolved.length > 0) {
    const resolved = new Set(outcome.resolved.map((incident) => incident.id));
    row.active = [...row.active.filter((incident) => !resolved.has(incident.id)), ...outcome.opened.map(({ id, ruleId }) => ({ id, ruleId }))];
  }
  return outcome;
}

function zip<A, B>(as: readonly A[], bs: readonly B[]): [A, B][] {
  return as.map((a, i) => [a, bs[i] as B]);
}
