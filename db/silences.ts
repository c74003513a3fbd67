import { and, asc, eq, gt, isNull } from 'drizzle-orm';
import type { Silence } from '../core/silences.ts';
import type { Queryable } from './open.ts';
import { silences } from './schema.ts';

export type SilenceRow = typeof silences.$inferSelect;

export function insertSilence(db: Queryable, silence: typeof silences.$inferInsert): SilenceRow {
  return db.insert(silences).values(silence).returning().get();
}

export function getSilence(db: Queryable, id: number): SilenceRow | undefined {
  return db.select().from(silences).where(eq(silences.id, id)).get();
}

/** Silences that have not ended by `now` (including ones that start later). */
export function listActiveSilences(db: Queryable, now: Date): SilenceRow[] {
  return db
    .select()
    .from(silences)
    .where(and(gt(silences.endsAt, now), isNull(silences.removedAt)))
    .orderBy(asc(silences.endsAt))
    .all();
}

export function endSilence(db: Queryable, id: number, at: Date, by: string): void {
  db.update(silences).set({ endsAt: at, removedAt: at, removedBy: by }).where(eq(silences.id, id)).run();
}

export function toSilence(row: SilenceRow): Silence {
  return {
    id: row.id,
    installationId: row.installationId,
    clientId: row.clientId,
    ruleId: row.ruleId,
    startsAt: row.startsAt,
    endsAt: row.endsAt,
  };
}
