import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';

export type DB = BetterSQLite3Database<typeof schema> & { $client: Database.Database };
/** The handle a transaction callback receives; queries take either. */
export type Tx = Parameters<Parameters<DB['transaction']>[0]>[0];
export type Queryable = DB | Tx;

const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), 'migrations');

/**
 * Open (creating if needed) the SQLite file, set the pragmas every connection
 * needs and bring the schema up to date.
 */
export function openDb(path: string, options: { busyTimeoutMs?: number } = {}): DB {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    // After a checkpoint resets the log, SQLite truncates the file to this size (the checkpoint thread resets it often).
    sqlite.pragma(`journal_size_limit = ${16 * 1024 * 1024}`);
    sqlite.pragma('foreign_keys = ON');
    // The CLI and the service share the file; wait for the other's write instead of failing at once.
    sqlite.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    const db = drizzle({ client: sqlite, schema });
    migrate(db, { migrationsFolder });
    return db;
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

export function closeDb(db: DB): void {
  if (db.$client.open) db.$client.close();
}

/** Whether the database answers a query at all (for the health check). Throws what SQLite said when it does not. */
export function pingDatabase(db: DB): void {
  db.$client.prepare('SELECT 1').get();
}
