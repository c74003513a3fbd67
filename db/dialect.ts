import { getTableName, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { alias as pgAlias } from 'drizzle-orm/pg-core';
import { alias as sqliteAlias, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import { pgTables } from './schema-pg.ts';
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

/**
 * A table under another name, for joining it twice (`users` as manager and as
 * the one who acknowledged). On PostgreSQL the alias is made of the table's
 * PostgreSQL twin (db/schema-pg.ts), the only kind PostgreSQL's query builder
 * renders as `table alias`; its columns read values as the SQLite table's do
 * for what is joined this way (names, ids).
 */
export function aliasOf<T extends SQLiteTable, N extends string>(db: Queryable, table: T, name: N): ReturnType<typeof sqliteAlias<T, N>> {
  if (!isPostgres(db)) return sqliteAlias(table, name);
  const twin = pgTables[getTableName(table)];
  if (!twin) throw new Error(`no PostgreSQL table for ${getTableName(table)}`);
  return pgAlias(twin, name) as unknown as ReturnType<typeof sqliteAlias<T, N>>;
}
