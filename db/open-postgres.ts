import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { markPostgres } from './dialect.ts';
import type { DB } from './open.ts';
import * as schema from './schema.ts';
import { routeIntoOpenTransactions } from './transaction.ts';

/**
 * dozor on PostgreSQL: a pool of connections, and the queries of db/ run on it
 * unchanged. They are written against the tables of db/schema.ts, whose
 * columns map values the way SQLite stores them (times as epoch
 * milliseconds, JSON as text); the pool's type parsers hand values back in
 * that shape: bigint and numeric as numbers (times and ids stay far below
 * 2^53), json and jsonb as their text.
 */
const pgMigrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), 'migrations-pg');

const BIGINT = 20;
const NUMERIC = 1700;
const JSON_TYPE = 114;
const JSONB = 3802;

// Set on node-postgres itself, not on the pool: drizzle passes each query its own type parsers, which fall back to these.
pg.types.setTypeParser(BIGINT, Number);
pg.types.setTypeParser(NUMERIC, Number);
pg.types.setTypeParser(JSON_TYPE, (value) => value);
pg.types.setTypeParser(JSONB, (value) => value);

/** An arbitrary, fixed key for the advisory lock instances take while migrating, so two starting at once take turns. */
const MIGRATION_LOCK = 0x646f7a6f; // "dozo"

export interface PostgresOptions {
  /** Connections the pool may open (node-postgres' default is 10). */
  maxConnections?: number;
  /** How long a query may wait for a free connection before it fails (and a request gets 503). */
  connectionTimeoutMs?: number;
}

/** Each pooled connection's handle, made once: building one reads the whole schema, too slow to repeat for every transaction. */
const handles = new WeakMap<pg.Pool | pg.PoolClient, DB>();

/** A drizzle handle on a PostgreSQL connection or pool, typed as the rest of db/ expects and registered as PostgreSQL. */
export function postgresHandle(client: pg.Pool | pg.PoolClient): DB {
  let db = handles.get(client);
  if (!db) {
    db = drizzle({ client, schema }) as unknown as DB;
    markPostgres(db);
    handles.set(client, db);
  }
  return db;
}

/** Connect to the PostgreSQL at `url` and bring its schema up to date (one instance at a time). */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<DB> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
  });
  // An idle connection the server ends (a restart, 57P01) is dropped by the pool; without a listener it would crash the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await migrate(drizzle({ client }), { migrationsFolder: pgMigrationsFolder });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw err;
  }
  routeIntoOpenTransactions(pool);
  return postgresHandle(pool);
}

/** The pool under a handle opened by `openPostgres`. */
export function poolOf(db: DB): pg.Pool {
  return db.$client as unknown as pg.Pool;
}
