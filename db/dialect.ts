import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { Queryable } from './open.ts';

/**
 * What differs between the two databases dozor runs on, for the few queries
 * that cannot be written in SQL both understand. A handle opened on
 * PostgreSQL (and each of its transactions) is registered here when made.
 */
const postgresHandles = new WeakSet<object>();

export function markPostgres(db: object): void {
  postgresHandles.add(db);
}

export function isPostgres(db: Queryable): boolean {
  return postgresHandles.has(db);
}

/** A flag as the database returns it in a raw row: 1/0 on SQLite, true/false on PostgreSQL. */
export function flagValue(value: unknown): boolean {
  return value === 1 || value === true;
}

/** The larger of two values in one row: SQLite's two-argument max(), PostgreSQL's greatest(). */
export function greater(db: Queryable, a: SQLWrapper, b: SQLWrapper): SQL {
  return isPostgres(db) ? sql`greatest(${a}, ${b})` : sql`max(${a}, ${b})`;
}

/** `column IN (ids)` for a list that may be long: one JSON parameter on SQLite (no limit on variables), an array on PostgreSQL. */
export function inIdList(db: Queryable, column: SQLWrapper, ids: readonly number[]): SQL {
  return isPostgres(db)
    ? sql`${column} = any(${`{${ids.map((id) => Math.trunc(id)).join(',')}}`}::bigint[])`
    : sql`${column} in (select value from json_each(${JSON.stringify(ids)}))`;
}
