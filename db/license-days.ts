import { and, eq, gte, inArray, lt } from 'drizzle-orm';
import type { LicenseDay } from '../core/sales.ts';
import type { DB, Queryable } from './open.ts';
import { chunks, ROWS_PER_STATEMENT } from './chunks.ts';
import { MultiRowStatement, statement } from './statements.ts';
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

const recordMany = new MultiRowStatement(
  'licenseDays.recordMany',
  'INSERT INTO license_days (installation_id, day, limit_hits, max_peak, license_limit) VALUES',
  '(?, ?, ?, ?, ?)',
  `ON CONFLICT (installation_id, day) DO UPDATE SET
     limit_hits = license_days.limit_hits + excluded.limit_hits,
     max_peak = CASE WHEN coalesce(excluded.max_peak, 0) > coalesce(license_days.max_peak, 0)
                THEN coalesce(excluded.max_peak, 0) ELSE coalesce(license_days.max_peak, 0) END,
     license_limit = coalesce(excluded.license_limit, license_days.license_limit)`,
);

export interface LicenseDayEntry {
  installationId: number;
  day: string;
  hits: number;
  peak: number | null;
  limit: number | null;
}

/**
 * Add many reports' licence figures to their days, as `recordLicenseDay` one
 * by one would: entries of one installation and day are summed first (one
 * statement may not write a row twice), the latest known limit standing.
 */
export async function recordLicenseDays(db: Queryable, entries: readonly LicenseDayEntry[]): Promise<void> {
  const merged = new Map<string, LicenseDayEntry>();
  for (const entry of entries) {
    const key = `${entry.installationId} ${entry.day}`;
    const before = merged.get(key);
    merged.set(
      key,
      before
        ? {
            ...before,
            hits: before.hits + entry.hits,
            // As the statement's update does: once a day's row is added to, an unknown peak counts as 0.
            peak: Math.max(before.peak ?? 0, entry.peak ?? 0),
            limit: entry.limit ?? before.limit,
          }
        : entry,
    );
  }
  const rows = [...merged.values()].map((e) => [e.installationId, e.day, e.hits, e.peak, e.limit]);
  for (const chunk of chunks(rows, ROWS_PER_STATEMENT)) await recordMany.run(db, chunk);
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
