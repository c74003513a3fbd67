import type { DB, Queryable } from './open.ts';

/**
 * Statements prepared once per connection, for the hot paths (intake, sweep):
 * building a query and preparing its statement on every call costs more than
 * running it. A transaction runs on the same connection, so statements
 * prepared on the database may be used inside it; `rootOf` tells a database
 * (which carries its connection) from a transaction handle.
 */
const caches = new WeakMap<object, Map<string, unknown>>();

export function rootOf(db: Queryable): DB | null {
  return '$client' in db ? (db as DB) : null;
}

export function prepared<T>(db: DB, key: string, build: (db: DB) => T): T {
  let cache = caches.get(db.$client);
  if (!cache) {
    cache = new Map();
    caches.set(db.$client, cache);
  }
  let statement = cache.get(key) as T | undefined;
  if (statement === undefined) {
    statement = build(db);
    cache.set(key, statement);
  }
  return statement;
}

/** A JavaScript value as SQLite stores it in our columns: dates as epoch milliseconds, flags as 0/1, JSON as text. */
export function toSqlValue(value: unknown): string | number | bigint | Buffer | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'object' && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value as string | number | bigint | Buffer;
}

/** Bind parameters for a raw statement, converted with `toSqlValue`. */
export function toSqlParams(values: Record<string, unknown>): Record<string, ReturnType<typeof toSqlValue>> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, toSqlValue(value)]));
}
