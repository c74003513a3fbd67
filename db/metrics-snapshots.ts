import { eq } from 'drizzle-orm';
import type { MetricSample } from '../core/metrics.ts';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { metricsSnapshots } from './schema.ts';

export type MetricsSnapshot = typeof metricsSnapshots.$inferSelect;

/** The installation's latest metrics, read whole. */
export async function saveMetricsSnapshot(
  db: Queryable,
  snapshot: { installationId: number; takenAt: Date; receivedAt: Date; samples: MetricSample[]; uploadId: number | null },
): Promise<void> {
  const row = { ...snapshot, error: null };
  await db.insert(metricsSnapshots).values(row).onConflictDoUpdate({ target: metricsSnapshots.installationId, set: row });
}

/** The latest metrics file could not be read: say why, keeping the samples that were last read. */
export async function noteUnreadableMetrics(db: Queryable, installationId: number, error: string, receivedAt: Date, uploadId: number | null): Promise<void> {
  await db
    .insert(metricsSnapshots)
    .values({ installationId, takenAt: receivedAt, receivedAt, samples: [], error, uploadId })
    .onConflictDoUpdate({ target: metricsSnapshots.installationId, set: { error, receivedAt, uploadId } });
}

export async function getMetricsSnapshot(db: Queryable, installationId: number): Promise<MetricsSnapshot | undefined> {
  return await first(db.select().from(metricsSnapshots).where(eq(metricsSnapshots.installationId, installationId)));
}
