import { calendarDay } from '../core/calendar.ts';
import { daysLeft, soonestLicense } from '../core/server-rules.ts';
import { listInstallationsInScope, listLicenceStanding, type InstallationRef, type Scope } from '../db/digest.ts';
import { listLicenseDays } from '../db/license-days.ts';
import type { Queryable } from '../db/open.ts';

export interface LicenceEnding extends InstallationRef {
  database: string;
  /** The last day of the term, YYYY-MM-DD. */
  expires: string;
  /** Days left at the client: 0 on the last day, negative once over. */
  daysLeft: number;
}

export interface SeatsFull extends InstallationRef {
  used: number | null;
  licensed: number | null;
  /** Users refused for lack of a seat on the day. */
  refused: number;
}

/** Installations whose licence dates are not known, by why: nothing came from them, no full report or sysinfo did, or what came holds no dates. */
export interface UndatedLicences {
  noReports: number;
  noSysinfo: number;
  noDates: number;
}

/**
 * What a scope's licences look like now, for renewal planning and sales:
 * installations whose soonest term ends within `days` (or is over), soonest
 * first; and those whose every seat is taken, or that refused users today.
 */
export async function licenceStanding(
  db: Queryable,
  scope: Scope,
  now: Date,
  days: number,
): Promise<{ ending: LicenceEnding[]; seatsFull: SeatsFull[]; undated: UndatedLicences; monitored: number }> {
  const refs = (await listInstallationsInScope(db, scope)).filter((r) => r.monitoringEnabled);
  const ids = refs.map((r) => r.installationId);
  const standing = await listLicenceStanding(db, scope, ids);
  const ending: LicenceEnding[] = [];
  const seatsFull: SeatsFull[] = [];
  const undated: UndatedLicences = { noReports: 0, noSysinfo: 0, noDates: 0 };
  // Refusals are counted per day at each installation; a day either side covers every time zone.
  const fromDay = calendarDay(new Date(now.getTime() - 86_400_000), 'UTC');
  const refusals = await listLicenseDays(db, fromDay, scope.clientIds === null ? undefined : ids);
  for (const ref of refs) {
    const own = standing.get(ref.installationId);
    if (!own) {
      undated.noReports++;
      continue;
    }
    const { monitoringEnabled: _m, createdAt: _c, ...installation } = ref;
    const soonest = soonestLicense(own.databases);
    if (soonest) {
      const left = daysLeft(soonest.expires, own.tz, now);
      if (left <= days) ending.push({ ...installation, database: soonest.database, expires: soonest.expires, daysLeft: left });
    } else if (own.lastSysinfoAt === null) undated.noSysinfo++;
    else undated.noDates++;
    const today = calendarDay(now, own.tz);
    const refused = refusals.find((d) => d.installationId === ref.installationId && d.day === today)?.limitHits ?? 0;
    const full = own.licenseLimit !== null && own.seatsUsed !== null && own.seatsUsed >= own.licenseLimit;
    if (full || refused > 0) seatsFull.push({ ...installation, used: own.seatsUsed, licensed: own.licenseLimit, refused });
  }
  ending.sort((a, b) => a.expires.localeCompare(b.expires) || a.clientName.localeCompare(b.clientName));
  return { ending, seatsFull, undated, monitored: refs.length };
}
