import { and, eq, gte, inArray, lt } from 'drizzle-orm';
import type { LicenseDay } from '../core/sales.ts';
import type { DB, Queryable } from './open.ts';
import { prepared } from './prepared.ts';
import { licenseDays } from './schema.ts';

/** Add one report's licence figures to its day. */
export function recordLicenseDay(
  db: DB,
  entry: { installationId: number; day: string; hits: number; peak: number | null; limit: number | null },
): void {
  prepared(db, 'licenseDays.record', (d) =>
    d.$client.prepare(
      `INSERT INTO license_days (installation_id, day, limit_hits, max_peak, license_limit) VALUES (@installationId, @day, @hits, @peak, @limit)
       ON CONFLICT (installation_id, day) DO UPDATE SET
         limit_hits = limit_hits + excluded.limit_hits,
         max_peak = max(coalesce(max_peak, 0), coalesce(excluded.max_peak, 0)),
         license_limit = coalesce(excluded.license_limit, license_limit)`,
    ),
  ).run(entry);
}

/** One installation's licence figures for one day (YYYY-MM-DD), if it reported any. */
export function getLicenseDay(db: Queryable, installationId: number, day: string): LicenseDay | undefined {
  return db
    .select()
    .from(licenseDays)
    .where(and(eq(licenseDays.installationId, installationId), eq(licenseDays.day, day)))
    .get();
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

/** Forget licence days before `day` (YYYY-MM-DD). */
export function deleteLicenseDaysBefore(db: Queryable, day: string): void {
  db.delete(licenseDays).where(lt(licenseDays.day, day)).run();
}
