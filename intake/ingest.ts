import { checkInstallation, type CheckOutcome, type InstallationSettings } from '../checks/check-installation.ts';
import type { AgentReport } from '../core/report.ts';
import { applyReport, type Evidence, type FleetOrigin } from '../core/state.ts';
import type { DB } from '../db/open.ts';
import { calendarDay } from '../core/calendar.ts';
import { recordLicenseDay } from '../db/license-days.ts';
import { insertReport } from '../db/reports.ts';
import { getState, saveState } from '../db/state.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { writeTransaction } from '../db/transaction.ts';

export type IngestResult =
  | ({ status: 'stored'; reportRowId: number } & CheckOutcome)
  | { status: 'duplicate'; opened: []; resolved: [] };

/**
 * Store a report, fold it into the installation's latest state and judge the
 * new state, in one transaction: the report, the state, any incident it opens
 * or resolves and the announcements of those are written together or not at
 * all. A repeated report id is acknowledged without writing anything.
 */
export async function ingestReport(
  db: DB,
  settings: IncidentSettings,
  installation: { id: number; tz: string } | InstallationSettings,
  report: AgentReport,
  receivedAt: Date,
): Promise<IngestResult> {
  return writeTransaction(db, async () => ingestInTransaction(db, settings, installation, report, receivedAt));
}

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

/**
 * The work of one report, to run inside a transaction the caller opened (alone,
 * or with others in a batch). It runs on `db` itself: one connection, so the
 * statements prepared once for it take part in the transaction.
 */
export async function ingestInTransaction(
  db: DB,
  settings: IncidentSettings,
  installation: { id: number; tz: string } | InstallationSettings,
  report: AgentReport,
  receivedAt: Date,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const installationId = installation.id;
  // A clock that jumped is noticed by the first report after the jump, before anything is judged.
  settings.clockWatch?.note(receivedAt.getTime());
  const reportRowId = await insertReport(db, installationId, report, receivedAt);
  if (reportRowId === null) return { status: 'duplicate', opened: [], resolved: [] };
  const previous = await getState(db, installationId);
  const next = applyReport(previous, report, receivedAt, { fleet: options.fleet, evidence: options.evidence ?? 'report' });
  await saveState(db, installationId, next);
  if (options.votesOnClock !== false) settings.clockWatch?.observe(installationId, receivedAt, report.generatedAt);
  const { licenseExhausted, licensePeak, licenseLimit } = report.facts;
  if (licenseExhausted !== undefined || licensePeak !== undefined || licenseLimit !== undefined) {
    await recordLicenseDay(db, {
      installationId,
      // The client's calendar day of the report: "3 days out of 7" is about their days.
      day: calendarDay(report.generatedAt ?? receivedAt, installation.tz),
      hits: licenseExhausted ?? 0,
      peak: licensePeak ?? null,
      limit: licenseLimit ?? null,
    });
  }
  const known = 'thresholds' in installation ? { installation } : {};
  const outcome = await checkInstallation(db, settings, installationId, receivedAt, { state: next, ...known });
  return { status: 'stored', reportRowId, ...outcome };
}
