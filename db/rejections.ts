import { eq, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { intakeRejections } from './schema.ts';

export type IntakeRejection = typeof intakeRejections.$inferSelect;

export async function recordRejection(db: Queryable, installationId: number, at: Date, reason: string): Promise<void> {
  await db
    .insert(intakeRejections)
    .values({ installationId, lastRejectedAt: at, reason, count: 1 })
    .onConflictDoUpdate({
      target: intakeRejections.installationId,
      set: { lastRejectedAt: at, reason, count: sql`${intakeRejections.count} + 1` },
    });
}

export async function getRejection(db: Queryable, installationId: number): Promise<IntakeRejection | undefined> {
  return await first(db.select().from(intakeRejections).where(eq(intakeRejections.installationId, installationId)));
}
