import { eq, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { intakeRejections } from './schema.ts';

export type IntakeRejection = typeof intakeRejections.$inferSelect;

export function recordRejection(db: Queryable, installationId: number, at: Date, reason: string): void {
  db.insert(intakeRejections)
    .values({ installationId, lastRejectedAt: at, reason, count: 1 })
    .onConflictDoUpdate({
      target: intakeRejections.installationId,
      set: { lastRejectedAt: at, reason, count: sql`${intakeRejections.count} + 1` },
    })
    .run();
}

export function getRejection(db: Queryable, installationId: number): IntakeRejection | undefined {
  return db.select().from(intakeRejections).where(eq(intakeRejections.installationId, installationId)).get();
}
