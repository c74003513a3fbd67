import { asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { unmatchedAlerts } from './schema.ts';

export type UnmatchedAlert = typeof unmatchedAlerts.$inferSelect;

/**
 * Note an alert no installation takes (or several would). Returns true the
 * first time its label set is seen: that is when admins are told.
 */
export async function noteUnmatchedAlert(
  db: Queryable,
  alert: {
    fingerprint: string;
    alertname: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string | null;
    reason: 'none' | 'ambiguous';
    candidates: number[];
    status: 'firing' | 'resolved';
  },
  at: Date,
): Promise<boolean> {
  const inserted = await first(
    db
      .insert(unmatchedAlerts)
      .values({ ...alert, firstSeenAt: at, lastSeenAt: at, count: 1 })
      .onConflictDoUpdate({
        target: unmatchedAlerts.fingerprint,
        set: {
          status: alert.status,
          reason: alert.reason,
          candidates: alert.candidates,
          annotations: alert.annotations,
          startsAt: alert.startsAt,
          lastSeenAt: at,
          count: sql`${unmatchedAlerts.count} + 1`,
        },
      })
      .returning({ count: unmatchedAlerts.count }),
  );
  return inserted?.count === 1;
}

/** Unmatched alerts, latest first; by default only those still firing. */
export async function listUnmatchedAlerts(db: Queryable, options: { all?: boolean } = {}): Promise<UnmatchedAlert[]> {
  return await db
    .select()
    .from(unmatchedAlerts)
    .where(options.all ? undefined : eq(unmatchedAlerts.status, 'firing'))
    // Alerts seen at the same moment in a fixed order (by name), not the order each database happens to scan them in.
    .orderBy(desc(unmatchedAlerts.lastSeenAt), asc(unmatchedAlerts.alertname), asc(unmatchedAlerts.fingerprint));
}

export async function getUnmatchedAlert(db: Queryable, fingerprint: string): Promise<UnmatchedAlert | undefined> {
  return await first(db.select().from(unmatchedAlerts).where(eq(unmatchedAlerts.fingerprint, fingerprint)));
}

/** Forget unmatched alerts once they have found their installation. */
export async function deleteUnmatchedAlerts(db: Queryable, fingerprints: readonly string[]): Promise<void> {
  if (fingerprints.length > 0) await db.delete(unmatchedAlerts).where(inArray(unmatchedAlerts.fingerprint, [...fingerprints]));
}
