import { eq } from 'drizzle-orm';
import type { MetricSample } from '../core/metrics.ts';
import type { Queryable } from './open.ts';
import { metricsSnapshots } from './schema.ts';

export type MetricsSnapshot = typeof metricsSnapshots.$inferSelect;

/** The installation's latest metrics, read whole. */
export function saveMetricsSnapshot(db: Queryable, snapshot: { installationId: number; takenAt: Date; receivedAt: Date; samples: MetricSample[]; uploadId: number | null }): void {
  const row = { ...snapshot, error: null };
  db.insert(metricsSnapshots).values(row).onConflictDoUpdate({ target: metricsSnapshots.installationId, set: row }).run();
}

/** The latest metrics file could not be read: say why, keeping the samples that were last read. */
export function noteUnreadableMetrics(db: Queryable, installationId: number, error: string, receivedAt: Date, uploadId: number | null): void {
  db.insert(metricsSnapshots)
    .values({ installationId, takenAt: receivedAt, receivedAt, samples: [], error, uploadId })
    .onConflictDoUpdate({ target: metricsSnapshots.installationId, set: { error, receivedAt, uploadId } })
    .run();
}

export function getMetricsSnapshot(db: Queryable, installationId: number): MetricsSnapshot | undefined {
  return db.select().from(metricsSnapshots).where(eq(metricsSnapshots.installationId, installationId)).get();
}
