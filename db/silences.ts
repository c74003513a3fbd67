import { and, asc, desc, eq, gt, isNull } from 'drizzle-orm';
import type { Silence } from '../core/silences.ts';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { silences } from './schema.ts';

export type SilenceRow = typeof silences.$inferSelect;

export async function insertSilence(db: Queryable, silence: typeof silences.$inferInsert): Promise<SilenceRow> {
  return (await first(db.insert(silences).values(silence).returning()))!;
}

export async function getSilence(db: Queryable, id: number): Promise<SilenceRow | undefined> {
  return first(db.select().from(silences).where(eq(silences.id, id)));
}

/** Silences that have not ended by `now` (including ones that start later). */
export async function listActiveSilences(db: Queryable, now: Date): Promise<SilenceRow[]> {
  return db
    .select()
    .from(silences)
    .where(and(gt(silences.endsAt, now), isNull(silences.removedAt)))
    .orderBy(asc(silences.endsAt));
}

/** The active silence of exactly this scope that lasts longest, if any. */
export async function findActiveSilenceOfScope(
  db: Queryable,
  scope: { installationId: number | null; clientId: number | null; ruleId: string | null },
  now: Date,
): Promise<SilenceRow | undefined> {
  const same = (column: typeof silences.installationId | typeof silences.clientId | typeof silences.ruleId, value: number | string | null) =>
    value === null ? isNull(column) : eq(column, value);
  return first(
    db
      .select()
      .from(silences)
      .where(and(gt(silences.endsAt, now), isNull(silences.removedAt), same(silences.installationId, scope.installationId), same(silences.clientId, scope.clientId), same(silences.ruleId, scope.ruleId)))
      .orderBy(desc(silences.endsAt))
      .limit(1),
  );
}

export async function endSilence(db: Queryable, id: number, at: Date, by: string): Promise<void> {
  await db.update(silences).set({ endsAt: at, removedAt: at, removedBy: by }).where(eq(silences.id, id));
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
