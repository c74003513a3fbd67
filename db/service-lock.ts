import { closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';

export class SqliteFileInUse extends Error {}

/** What holds the lock: let go of it when the service stops. */
export interface ServiceLock {
  path: string;
  release(): void;
}

/**
 * One service per SQLite file. The service holds an exclusive SQLite lock
 * on a small file beside the database (`<database>.lock`) for as long as it
 * runs; a second service on the same file finds it held and refuses to start.
 * The lock is the operating system's (SQLite's POSIX advisory lock), so it
 * goes with the process however that ends, SIGKILL and power loss included:
 * there is no stale lock to clear. The CLI takes no such lock, so it still
 * runs beside the service.
 */
export function lockSqliteFile(databasePath: string): ServiceLock {
  const path = `${resolve(databasePath)}.lock`;
  try {
    // Made owner-only before SQLite opens it, like the database itself.
    closeSync(openSync(path, 'wx', 0o600));
  } catch {
    // There already (or not creatable here: SQLite says why below).
  }
  const lock = new Database(path);
  try {
    lock.pragma('busy_timeout = 0');
    // No journal file beside the lock: nothing is ever written to it.
    lock.pragma('journal_mode = MEMORY');
    lock.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new SqliteFileInUse(
        `another dozor service is running on ${resolve(databasePath)} (it holds ${path}). ` +
          'One service per SQLite file: stop the other one first; to run several instances, use PostgreSQL (DATABASE_URL, see docs/postgres.md).',
      );
    }
    throw err;
  }
  return {
    path,
    release: () => {
      if (lock.open) lock.close();
    },
  };
}
