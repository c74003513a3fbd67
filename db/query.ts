import type { SQL } from 'drizzle-orm';
import { isPostgres } from './dialect.ts';
import type { DB, Queryable } from './open.ts';
import { withTurn } from './transaction.ts';

/** What a PostgreSQL handle offers for raw statements (node-postgres under drizzle). */
interface PostgresHandle {
  execute(query: SQL): Promise<{ rows: unknown[]; rowCount: number | null }>;
  dialect: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } };
  $client: { query(config: { text: string; values: unknown[]; rowMode: 'array' }): Promise<{ rows: unknown[][] }> };
}

function postgres(db: Queryable): PostgresHandle {
  return db as unknown as PostgresHandle;
}

/**
 * The few ways of running a query that differ between drivers, in one place:
 * every function in `db/` awaits its queries (`await db.select()…` gives the
 * rows, `await db.insert()…` runs it) and goes through these for the rest, so
 * the same functions can run on a connection that answers asynchronously.
 */

/** The first row a query gives, or undefined (the asynchronous `.get()`). */
export async function first<T>(query: PromiseLike<T[]>): Promise<T | undefined> {
  return (await query)[0];
}

/** How many rows a write changed: SQLite reports `changes`, PostgreSQL `rowCount`. */
export function changedRows(result: unknown): number {
  const outcome = result as { changes?: number | bigint; rowCount?: number | null };
  if (outcome.changes !== undefined) return Number(outcome.changes);
  return outcome.rowCount ?? 0;
}

/** The rows of a raw statement, as objects keyed by the names it selects. */
export async function rawRows<T>(db: Queryable, query: SQL): Promise<T[]> {
  if (isPostgres(db)) return (await postgres(db).execute(query)).rows as T[];
  return withTurn(db as DB, () => db.all<T>(query));
}

/** The rows of a raw statement as arrays of values in the order it selects them (the fast path for many rows). */
export async function rawValues(db: Queryable, query: SQL): Promise<unknown[][]> {
  if (isPostgres(db)) {
    const handle = postgres(db);
    const { sql: text, params } = handle.dialect.sqlToQuery(query);
    return (await handle.$client.query({ text, values: params, rowMode: 'array' })).rows;
  }
  return withTurn(db as DB, () => db.values(query));
}

/** The first row of a raw statement, or undefined. */
export async function rawRow<T>(db: Queryable, query: SQL): Promise<T | undefined> {
  if (isPostgres(db)) return (await rawRows<T>(db, query))[0];
  return withTurn(db as DB, () => db.get<T | undefined>(query));
}

/** Run a raw statement that returns nothing; how many rows it changed. */
export async function rawRun(db: Queryable, query: SQL): Promise<number> {
  if (isPostgres(db)) return (await postgres(db).execute(query)).rowCount ?? 0;
  return withTurn(db as DB, () => changedRows(db.run(query)));
}
