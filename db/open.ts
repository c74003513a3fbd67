import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { isPostgres } from './dialect.ts';
import { gateQueries } from './gate.ts';
import { openPostgres, poolOf } from './open-postgres.ts';
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
  if (path !== ':memory:') restrictDatabaseFiles(path);
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
    return gateQueries(db);
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

/**
 * What `restrictDatabaseFiles` did: the paths it made owner-only, those it
 * could not (not ours, say), and folders that were there before and that
 * others may list, which it leaves as they are (a folder chosen by the
 * administrator may hold other things than dozor's).
 */
export interface ModeChanges {
  tightened: string[];
  failed: string[];
  openFolders: string[];
}

/**
 * The database readable by the service's own user only: the file and its
 * -wal and -shm 0600, in a folder made 0700 when dozor makes it. A new file is
 * created so before SQLite opens it (SQLite gives the -wal and -shm the
 * database's own mode); existing ones that others could read are tightened.
 */
export function restrictDatabaseFiles(path: string): ModeChanges {
  const file = resolve(path);
  const changes: ModeChanges = { tightened: [], failed: [], openFolders: [] };
  ownFolder(dirname(file), changes);
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch {
    // There already, or it cannot be made here (a read-only folder): SQLite says why when it opens it.
  }
  for (const target of [file, `${file}-wal`, `${file}-shm`]) ownerOnly(target, changes);
  return changes;
}

/** A folder dozor keeps files in: made 0700 when it is not there yet; one that was there is noted if others may list it. */
export function ownFolder(folder: string, changes: ModeChanges): void {
  if (mkdirSync(folder, { recursive: true, mode: 0o700 }) !== undefined) return;
  try {
    if ((statSync(folder).mode & 0o077) !== 0) changes.openFolders.push(folder);
  } catch {
    // Unreadable: whoever opens a file in it says why.
  }
}

/**
 * Take group's and others' rights off a path, noting it in `changes`. A folder
 * with the sticky bit is shared by design (/tmp) and left as it is.
 */
export function ownerOnly(path: string, changes: ModeChanges): void {
  let mode: number;
  let sharedFolder: boolean;
  try {
    const stats = statSync(path);
    mode = stats.mode & 0o7777;
    sharedFolder = stats.isDirectory() && (mode & 0o1000) !== 0;
  } catch {
    return;
  }
  if ((mode & 0o077) === 0 || sharedFolder) return;
  try {
    chmodSync(path, mode & 0o700);
    changes.tightened.push(path);
  } catch {
    changes.failed.push(path);
  }
}

export function closeDb(db: DB): void {
  if (db.$client.open) db.$client.close();
}

/** Where the service keeps its data: PostgreSQL at `url` when given, else the SQLite file at `path`. */
export interface DatabaseTarget {
  url?: string | undefined;
  path: string;
  busyTimeoutMs?: number;
  poolSize?: number;
}

/** Open the database the configuration names, its schema brought up to date. */
export async function openDatabase(target: DatabaseTarget): Promise<DB> {
  if (target.url !== undefined) return openPostgres(target.url, { maxConnections: target.poolSize });
  return openDb(target.path, { busyTimeoutMs: target.busyTimeoutMs });
}

/** Close either kind: the SQLite file, or every connection of the PostgreSQL pool. */
export async function closeDatabase(db: DB): Promise<void> {
  if (isPostgres(db)) {
    await poolOf(db).end().catch(() => undefined);
    return;
  }
  closeDb(db);
}

const PING_TIMEOUT_MS = 3_000;

/** Whether the database answers a query at all (for the health check). Throws what the database said when it does not. */
export async function pingDatabase(db: DB): Promise<void> {
  if (isPostgres(db)) {
    // A server that accepts the connection and never answers is as unhealthy as one that refuses it.
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`PostgreSQL did not answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([poolOf(db).query('SELECT 1'), silent]);
    } finally {
      clearTimeout(timer);
    }
    return;
  }
  db.$client.prepare('SELECT 1').get();
}
