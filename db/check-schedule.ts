import { eq, sql } from 'drizzle-orm';
import type { DB, Queryable } from './open.ts';
import { chunks, ROWS_PER_STATEMENT } from './chunks.ts';
import { prepared } from './prepared.ts';
import { checkSchedule } from './schema.ts';

/**
 * When the rules must look at an installation again without a new report
 * (see `check_schedule` in the schema). A moment found by judging the rules
 * asks for the time-based ones; a change of what the rules would say asks for
 * all of them, at once.
 */

/** The stored moment for one installation (null: none). */
export function getNextCheck(db: DB, id: number): Date | null {
  const at = prepared(db, 'schedule.get', (d) =>
    d.$client.prepare<[number], number>('SELECT due_at FROM check_schedule WHERE installation_id = ?').pluck(),
  ).get(id);
  return at === undefined ? null : new Date(at);
}

/** Store many moments the rules just found (epoch milliseconds; null drops the row), in the caller's transaction. */
export function setNextChecks(db: DB, changes: readonly { id: number; at: number | null }[]): void {
  if (changes.length === 0) return;
  const upsert = prepared(db, 'schedule.upsert', (d) =>
    d.$client.prepare<[number, number]>(
      `INSERT INTO check_schedule (installation_id, due_at, all_rules) VALUES (?, ?, 0)
       ON CONFLICT (installation_id) DO UPDATE SET due_at = excluded.due_at, all_rules = 0`,
    ),
  );
  const remove = prepared(db, 'schedule.delete', (d) => d.$client.prepare<[number]>('DELETE FROM check_schedule WHERE installation_id = ?'));
  for (const { id, at } of changes) {
    if (at === null) remove.run(id);
    else upsert.run(id, at);
  }
}

/** No scheduled checks for one installation (its monitoring was turned off). */
export function unschedule(db: Queryable, id: number): void {
  db.delete(checkSchedule).where(eq(checkSchedule.installationId, id)).run();
}

/** Judge every rule of these installations at the next sweep, those monitored. */
export function recheckNow(db: Queryable, ids: number | readonly number[], now: Date): void {
  for (const chunk of chunks(typeof ids === 'number' ? [ids] : ids, ROWS_PER_STATEMENT)) askForEveryRule(db, now, chunk);
}

/** Judge every rule of every monitored installation at the next sweep (a fleet-wide policy changed). */
export function recheckAllNow(db: Queryable, now: Date): void {
  askForEveryRule(db, now, null);
}

function askForEveryRule(db: Queryable, now: Date, onlyIds: readonly number[] | null): void {
  db.run(sql`INSERT INTO check_schedule (installation_id, due_at, all_rules)
             SELECT id, ${now.getTime()}, 1 FROM installations WHERE monitoring_enabled = 1 ${onlyIds === null ? sql`` : sql`AND id IN (${sql.join(onlyIds.map((id) => sql`${id}`), sql`, `)})`}
             ON CONFLICT (installation_id) DO UPDATE SET due_at = excluded.due_at, all_rules = 1`);
}
