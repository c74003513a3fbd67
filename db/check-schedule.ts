import { eq, sql } from 'drizzle-orm';
import type { DB, Queryable } from './open.ts';
import { chunks, ROWS_PER_STATEMENT } from './chunks.ts';
import { rawRun } from './query.ts';
import { checkSchedule } from './schema.ts';
import { MultiRowStatement, statement } from './statements.ts';

/**
 * When the rules must look at an installation again without a new report
 * (see `check_schedule` in the schema). A moment found by judging the rules
 * asks for the time-based ones; a change of what the rules would say asks for
 * all of them, at once.
 */

const dueAt = statement('schedule.get', 'SELECT due_at FROM check_schedule WHERE installation_id = ?');
const upsert = statement(
  'schedule.upsert',
  `INSERT INTO check_schedule (installation_id, due_at, all_rules) VALUES (?, ?, FALSE)
   ON CONFLICT (installation_id) DO UPDATE SET due_at = excluded.due_at, all_rules = FALSE`,
);
const remove = statement('schedule.delete', 'DELETE FROM check_schedule WHERE installation_id = ?');

/** The stored moment for one installation (null: none). */
export async function getNextCheck(db: DB, id: number): Promise<Date | null> {
  const at = await dueAt.value<number>(db, id);
  return at === undefined ? null : new Date(at);
}

const upsertMany = new MultiRowStatement(
  'schedule.upsertMany',
  'INSERT INTO check_schedule (installation_id, due_at, all_rules) VALUES',
  '(?, ?, FALSE)',
  'ON CONFLICT (installation_id) DO UPDATE SET due_at = excluded.due_at, all_rules = FALSE',
);
const removeMany = statement('schedule.deleteMany', 'DELETE FROM check_schedule WHERE installation_id IN ID_LIST(?)');

/**
 * Store many moments the rules just found (epoch milliseconds; null drops the
 * row), in the caller's transaction: a few statements for a whole batch. Where
 * one installation appears more than once, its last moment stands.
 */
export async function setNextChecks(db: Queryable, changes: readonly { id: number; at: number | null }[]): Promise<void> {
  if (changes.length === 0) return;
  if (changes.length === 1) {
    const [{ id, at }] = changes as [{ id: number; at: number | null }];
    await (at === null ? remove.run(db, id) : upsert.run(db, id, at));
    return;
  }
  const last = new Map<number, number | null>();
  for (const { id, at } of changes) last.set(id, at);
  const removed: number[] = [];
  const kept: [number, number][] = [];
  for (const [id, at] of last) {
    if (at === null) removed.push(id);
    else kept.push([id, at]);
  }
  for (const chunk of chunks(removed, ROWS_PER_STATEMENT)) await removeMany.run(db, chunk);
  for (const chunk of chunks(kept, ROWS_PER_STATEMENT)) await upsertMany.run(db, chunk);
}

/** No scheduled checks for one installation (its monitoring was turned off). */
export async function unschedule(db: Queryable, id: number): Promise<void> {
  await db.delete(checkSchedule).where(eq(checkSchedule.installationId, id));
}

/** Judge every rule of these installations at the next sweep, those monitored. */
export async function recheckNow(db: Queryable, ids: number | readonly number[], now: Date): Promise<void> {
  for (const chunk of chunks(typeof ids === 'number' ? [ids] : ids, ROWS_PER_STATEMENT)) await askForEveryRule(db, now, chunk);
}

/** Judge every rule of every monitored installation at the next sweep (a fleet-wide policy changed). */
export async function recheckAllNow(db: Queryable, now: Date): Promise<void> {
  await askForEveryRule(db, now, null);
}

async function askForEveryRule(db: Queryable, now: Date, onlyIds: readonly number[] | null): Promise<void> {
  await rawRun(
    db,
    sql`INSERT INTO check_schedule (installation_id, due_at, all_rules)
             SELECT id, CAST(${now.getTime()} AS bigint), TRUE FROM installations WHERE monitoring_enabled = TRUE ${onlyIds === null ? sql`` : sql`AND id IN (${sql.join(onlyIds.map((id) => sql`${id}`), sql`, `)})`}
             ON CONFLICT (installation_id) DO UPDATE SET due_at = excluded.due_at, all_rules = TRUE`,
  );
}
