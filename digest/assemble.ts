import { DateTime } from 'luxon';
import { responseTimesByManager, type ResponseTimes } from '../core/response-times.ts';
import { salesSignals } from '../core/sales.ts';
import { compareVersions } from '../core/versions.ts';
import {
  countOpenedAndResolved,
  findCampaignSnapshot,
  listActiveIncidentIds,
  listInstallationsInScope,
  listReportingStates,
  listResolvedIncidentIds,
  listResponseTimeRows,
  recordCampaignSnapshot as storeCampaignSnapshot,
  type InstallationRef,
  type Scope,
  type ScopedInstallation,
} from '../db/digest.ts';
import { getIncidentViews, type IncidentView } from '../db/incidents.ts';
import { listLicenseDays } from '../db/license-days.ts';
import type { Queryable } from '../db/open.ts';
import { getPolicy } from '../db/policies.ts';
import { licenceStanding, type LicenceEnding, type SeatsFull } from './licences.ts';

export type { InstallationRef, Scope };

const DAY = 86_400_000;
/** An installation silent longer than this is listed in the digest. */
export const SILENT_AFTER_MS = 2 * DAY;

export interface CampaignStanding {
  minVersion: string;
  compliant: number;
  /** Installations that reported a shell version. */
  total: number;
  lagging: (InstallationRef & { shellVersion: string; lagSince: Date | null })[];
  /** The standing about a week earlier, for progress over time. */
  before: { day: string; compliant: number; total: number } | null;
}

export interface Digest {
  day: string;
  scope: Scope;
  /** Every installation the scope covers (for the chart's query). */
  scopeInstallationIds: number[];
  now: Date;
  monitored: number;
  healthy: number;
  withProblems: number;
  /** Unresolved problems (not notices), oldest first. */
  open: IncidentView[];
  /** Unresolved notices (`info`) other than licence terms, which have a section of their own. */
  notices: IncidentView[];
  /** Installations whose soonest licence term ends within `LICENCE_HORIZON_DAYS` (or is over), soonest first. */
  licences: LicenceEnding[];
  /** Installations with every seat taken, or users refused a seat today. */
  seatsFull: SeatsFull[];
  opened24h: number;
  resolved24h: number;
  /** Problems that ended in the last 24 hours (not by turning monitoring off), the latest first, at most `FIXED_LIMIT`. */
  fixed: IncidentView[];
  silent: (InstallationRef & { lastReportAt: Date | null })[];
  campaign: CampaignStanding | null;
  sales: (InstallationRef & { daysAtLimit: number; licenseLimit: number | null; peak: number | null })[];
  responseTimes: { managerId: number | null; managerName: string | null; current: ResponseTimes; previous: ResponseTimes }[];
}

/** The digest names at most this many of the problems that ended in the last 24 hours (a flapping fleet ends thousands). */
export const FIXED_LIMIT = 300;

/** How far ahead the digest looks for licence terms that end. */
export const LICENCE_HORIZON_DAYS = 30;

export interface DigestOptions {
  /** The day the digest is for (YYYY-MM-DD in the digest's time zone). */
  day: string;
  tz: string;
  salesMinDays: number;
}

/** Everything a digest says about a scope at a moment, read with indexed queries. */
export async function assembleDigest(db: Queryable, scope: Scope, now: Date, options: DigestOptions): Promise<Digest> {
  const refs = await listInstallationsInScope(db, scope);
  const ids = refs.map((r) => r.installationId);
  const monitoredIds = refs.filter((r) => r.monitoringEnabled).map((r) => r.installationId);
  const byId = new Map(refs.map((r) => [r.installationId, r]));

  const active = (await getIncidentViews(db, await listActiveIncidentIds(db, scope, ids))).sort((a, b) => a.incident.openedAt.getTime() - b.incident.openedAt.getTime());
  const open = active.filter((v) => v.incident.severity !== 'info');
  const notices = active.filter((v) => v.incident.severity === 'info' && !v.incident.ruleId.startsWith('KodeksLicense'));
  const licences = await licenceStanding(db, scope, now, LICENCE_HORIZON_DAYS);
  const withProblemsSet = new Set(open.filter((v) => byId.get(v.incident.installationId)?.monitoringEnabled).map((v) => v.incident.installationId));

  const lastDay = await countOpenedAndResolved(db, scope, ids, new Date(now.getTime() - DAY), now);
  const fixed = await getIncidentViews(db, await listResolvedIncidentIds(db, scope, ids, new Date(now.getTime() - DAY), now, FIXED_LIMIT));
  fixed.sort((a, b) => b.incident.resolvedAt!.getTime() - a.incident.resolvedAt!.getTime());

  const states = await listReportingStates(db, scope, ids);
  const silentBefore = now.getTime() - SILENT_AFTER_MS;
  const silent = refs
    .filter((r) => r.monitoringEnabled)
    .map((r) => ({ ...r, lastReportAt: states.get(r.installationId)?.lastReceivedAt ?? null }))
    .filter((r) => (r.lastReportAt ?? r.createdAt).getTime() < silentBefore)
    .sort((a, b) => (a.lastReportAt?.getTime() ?? 0) - (b.lastReportAt?.getTime() ?? 0))
    .map(({ createdAt: _c, monitoringEnabled: _m, ...rest }) => rest);

  const campaign = await campaignStanding(db, scope, refs, states, open, options.day);

  const firstDay = DateTime.fromISO(options.day, { zone: options.tz }).minus({ days: 6 }).toISODate()!;
  const sales = salesSignals(await listLicenseDays(db, firstDay, scope.clientIds === null ? undefined : ids), options.salesMinDays)
    .filter((s) => byId.has(s.installationId))
    .map((s) => ({ ...strip(byId.get(s.installationId)!), daysAtLimit: s.daysAtLimit, licenseLimit: s.licenseLimit, peak: s.peak }));

  return {
    day: options.day,
    scope,
    scopeInstallationIds: ids,
    now,
    monitored: monitoredIds.length,
    healthy: monitoredIds.length - withProblemsSet.size,
    withProblems: withProblemsSet.size,
    open,
    notices,
    licences: licences.ending,
    seatsFull: licences.seatsFull,
    opened24h: lastDay.opened,
    resolved24h: lastDay.resolved,
    fixed,
    silent,
    campaign,
    sales,
    responseTimes: await responseTimesFor(db, scope, ids, now),
  };
}

function strip(ref: ScopedInstallation): InstallationRef {
  const { monitoringEnabled: _m, createdAt: _c, ...rest } = ref;
  return rest;
}

async function campaignStanding(
  db: Queryable,
  scope: Scope,
  refs: ScopedInstallation[],
  states: Map<number, { shellVersion: string | null }>,
  open: IncidentView[],
  day: string,
): Promise<CampaignStanding | null> {
  const minVersion = (await getPolicy(db)).minShellVersion;
  if (!minVersion) return null;
  const lagSince = new Map(
    open.filter((v) => v.incident.ruleId === 'KodeksShellVersionOutdated').map((v) => [v.incident.installationId, v.incident.openedAt]),
  );
  const reporting = refs.filter((r) => r.monitoringEnabled && states.get(r.installationId)?.shellVersion);
  const lagging = reporting
    .filter((r) => compareVersions(states.get(r.installationId)!.shellVersion!, minVersion) < 0)
    .map((r) => ({ ...strip(r), shellVersion: states.get(r.installationId)!.shellVersion!, lagSince: lagSince.get(r.installationId) ?? null }));
  const weekAgo = DateTime.fromISO(day).minus({ days: 7 }).toISODate()!;
  const before = await findCampaignSnapshot(db, scope.key, minVersion, weekAgo, day);
  return { minVersion, compliant: reporting.length - lagging.length, total: reporting.length, lagging, before: before ?? null };
}

async function responseTimesFor(db: Queryable, scope: Scope, ids: number[], now: Date): Promise<Digest['responseTimes']> {
  const weekAgo = new Date(now.getTime() - 7 * DAY);
  const twoWeeksAgo = new Date(now.getTime() - 14 * DAY);
  const rows = await listResponseTimeRows(db, scope, ids, twoWeeksAgo);
  const names = new Map(rows.map((r) => [r.managerId, r.managerName]));
  const current = responseTimesByManager(rows, weekAgo, now);
  const previous = responseTimesByManager(rows, twoWeeksAgo, weekAgo);
  const empty: ResponseTimes = { mtta: null, mttr: null, acknowledged: 0, resolved: 0 };
  return [...new Set([...current.keys(), ...previous.keys()])]
    .map((managerId) => ({
      managerId,
      managerName: names.get(managerId) ?? null,
      current: current.get(managerId) ?? empty,
      previous: previous.get(managerId) ?? empty,
    }))
    .filter((r) => r.current.acknowledged + r.current.resolved + r.previous.acknowledged + r.previous.resolved > 0)
    .sort((a, b) => (a.managerName ?? '').localeCompare(b.managerName ?? ''));
}

/** Remember today's campaign standing for this scope (once per day). */
export async function recordCampaignSnapshot(db: Queryable, digest: Digest): Promise<void> {
  if (!digest.campaign) return;
  await storeCampaignSnapshot(db, {
    day: digest.day,
    scopeKey: digest.scope.key,
    minVersion: digest.campaign.minVersion,
    compliant: digest.campaign.compliant,
    total: digest.campaign.total,
    takenAt: digest.now,
  });
}
