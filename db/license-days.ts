import { and, gte, inArray, sql } from 'drizzle-orm';
import type { LicenseDay } from '../core/sales.ts';
import type { Queryable } from './open.ts';
import { licenseDays } from './schema.ts';

/** Add one report's licence figures to its day. */
export function recordLicenseDay(
  db: Queryable,
  entry: { installationId: number; day: string; hits: number; peak: number | null; limit: number | null },
): void {
  db.insert(licenseDays)
    .values({ installationId: entry.installationId, day: entry.day, limitHits: entry.hits, maxPeak: entry.peak, licenseLimit: entry.limit })
    .onConflictDoUpdate({
      target: [licenseDays.installationId, licenseDays.day],
      set: {
        limitHits: sql`${licenseDays.limitHits} + ${entry.hits}`,
        maxPeak: sql`max(coalesce(${licenseDays.maxPeak}, 0), coalesce(${entry.peak}, 0))`,
        licenseLimit: sql`coalesce(${entry.limit}, ${licenseDays.licenseLimit})`,
      },
    })
    .run();
}

/** Licence days from `fromDay` (inclusive), optionally for some installations only. */
export function listLicenseDays(db: Queryable, fromDay: string, installationIds?: number[]): LicenseDay[] {
  const since = gte(licenseDays.day, fromDay);
  return db
    .select()
    .from(licenseDays)
    .where(installationIds ? and(since, inArray(licenseDays.installationId, installationIds)) : since)
    .all();
}
