import { and, eq, gte, inArray, lt } from 'drizzle-orm';
import type { LicenseDay } from '../core/sales.ts';
import type { DB, Queryable } from './open.ts';
import { statement } from './statements.ts';
import { first } from './query.ts';
import { licenseDays } from './schema.ts';

const record = statement(
  'licenseDays.record',
  `INSERT INTO license_days (installation_id, day, limit_hits, max_peak, license_limit) VALUES (@installationId, @day, @hits, @peak, @limit)
   ON CONFLICT (installation_id, day) DO UPDATE SET
     limit_hits = license_days.limit_hits + excluded.limit_hits,
     max_peak = CASE WHEN coalesce(excluded.max_peak, 0) > coalesce(license_days.max_peak, 0)
                THEN coalesce(excluded.max_peak, 0) ELSE coalesce(license_days.max_peak, 0) END,
     license_limit = coalesce(excluded.license_limit, license_days.license_limit)`,
);

/** Add one report's licence figures to its day. */
export async function recordLicenseDay(
  db: DB,
  entry: { installationId: number; day: string; hits: number; peak: number | null; limit: number | null },
): Promise<void> {
  await record.run(db, entry);
}

/** One installation's licence figures for one day (YYYY-MM-DD), if it reported any. */
export async function getLicenseDay(db: Queryable, installationId: number, day: string): Promise<LicenseDay | undefined> {
  return await first(
    db
      .select()
      .from(licenseDays)
      .where(and(eq(licenseDays.installationId, installationId), eq(licenseDays.day, day))),
  );
}

/** Licence days from `fromDay` (inclusive), optionally for some installations only. */
export async function listLicenseDays(db: Queryable, fromDay: string, installationIds?: number[]): Promise<LicenseDay[]> {
  const since = gte(licenseDays.day, fromDay);
  return await db
    .select()
    .from(licenseDays)
    .where(installationIds ? and(since, inArray(licenseDays.installationId, installationIds)) : since);
}

/** Forget licence days before `day` (YYYY-MM-DD). */
export async function deleteLicenseDaysBefore(db: Queryable, day: string): Promise<void> {
  await db.delete(licenseDays).where(lt(licenseDays.day, day));
}
