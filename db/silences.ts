import { and, asc, desc, eq, gt, isNull } from 'drizzle-orm';
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

/** The active silence of exactly this scope that lasts longest, if any. */
export function findActiveSilenceOfScope(
  db: Queryable,
  scope: { installationId: number | null; clientId: number | null; ruleId: string | null },
  now: Date,
): SilenceRow | undefined {
  const same = (column: typeof silences.installationId | typeof silences.clientId | typeof silences.ruleId, value: number | string | null) =>
    value === null ? isNull(column) : eq(column, value);
  return db
    .select()
    .from(silences)
    .where(and(gt(silences.endsAt, now), isNull(silences.removedAt), same(silences.installationId, scope.installationId), same(silences.clientId, scope.clientId), same(silences.ruleId, scope.ruleId)))
    .orderBy(desc(silences.endsAt))
    .get();
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
