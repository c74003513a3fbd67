import { DrizzleQueryError } from 'drizzle-orm/errors';
/**
 * SQLite errors that mean "the database cannot take writes right now" (locked,
 * disk full, I/O trouble) rather than "this request is wrong". Agents retry on 503.
 */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY|PROTOCOL|NOMEM)/;
/**
 * The same from PostgreSQL (SQLSTATE codes): the connection lost or refused
 * (class 08), the server shutting down or starting (57P01–57P03), too many
 * connections (53300), a full disk or out of memory (53100, 53200), a
 * read-only standby (25006), a lock or statement timeout (55P03, 57014).
 */
const POSTGRES_UNAVAILABLE = /^(08...|57P0[1-3]|53[123]00|25006|55P03|57014)$/;
/** The network under a PostgreSQL connection failing. */
const CONNECTION_FAILED = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE)$/;
/** The same for the files kept beside the database (uploads): full, over quota, failing, read-only. */
const FILES_UNAVAILABLE = /^E(NOSPC|DQUOT|IO|ROFS)$/;

/**
 * The error the database gave: drizzle wraps what node-postgres throws in an
 * error of its own ("Failed query: …") with the driver's as its cause.
 */
function driverError(error: unknown): unknown {
  if (error instanceof DrizzleQueryError && error.cause) return error.cause;
  return error;
}

/** The code of a database or system error (SQLITE_FULL, 40001, ECONNREFUSED), if it has one. */
function codeOf(error: unknown): string | undefined {
  const code = error && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** The code of the database's error under whatever wraps it (for /healthz and the logs). */
export function storageErrorCode(error: unknown): string | undefined {
  return codeOf(driverError(error));
}

export function isStorageUnavailable(thrown: unknown): boolean {
  const error = driverError(thrown);
  if (!error || typeof error !== 'object') return false;
  const code = codeOf(error);
  if (code !== undefined && [UNAVAILABLE, FILES_UNAVAILABLE, POSTGRES_UNAVAILABLE, CONNECTION_FAILED].some((pattern) => pattern.test(code))) return true;
  if (!(error instanceof Error)) return false;
  // A closed connection (during shutdown or after a fatal error) cannot answer either; nor a pool with no connection free in time.
  if (error instanceof TypeError && /database connection is not open/.test(error.message)) return true;
  return /^(Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end)/.test(error.message);
}

/** PostgreSQL refused to serialise a transaction with another (40001) or broke a deadlock (40P01): running it again succeeds. */
export function isSerializationFailure(error: unknown): boolean {
  const code = codeOf(driverError(error));
  return code === '40001' || code === '40P01';
}

/** A PostgreSQL address as it may be shown: its password replaced. */
export function shownDatabaseUrl(url: string): string {
  if (!URL.canParse(url)) return 'DATABASE_URL';
  const shown = new URL(url);
  if (shown.password !== '') shown.password = '***';
  return shown.toString();
}

/** What a person can do about a database error that keeps a command from using the database, or null for other errors. */
export function explainStorageError(thrown: unknown, path: string): string | null {
  const error = driverError(thrown);
  const code = codeOf(error);
  if (code === undefined) return null;
  const why = (error as Error).message;
  if (/^postgres(ql)?:/.test(path)) return explainPostgresError(code, why, path);
  // Creating the database's folder failed before SQLite was asked.
  if (/^(ENOTDIR|EACCES|EPERM|EROFS|ENOSPC|EEXIST)$/.test(code)) return `cannot create the folder of the database ${path}: ${why}.`;
  if (!code.startsWith('SQLITE_')) return null;
  if (/^SQLITE_(READONLY|CANTOPEN|PERM|AUTH)/.test(code)) {
    return `cannot open or write the database ${path} (${why}, ${code}): the file, or the folder that holds it, is read-only for this user or missing; SQLite also writes ${path}-wal and ${path}-shm next to it. Run as the service's user, or fix the permissions.`;
  }
  if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return `the database ${path} is busy (${why}, ${code}): another process holds its write lock; try again in a moment.`;
  if (code.startsWith('SQLITE_FULL')) return `the disk holding ${path} is full (${code}): nothing was written; free some space and try again.`;
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return `${path} is not a usable dozor database (${why}, ${code}).`;
  return `the database ${path} failed: ${why} (${code}).`;
}

function explainPostgresError(code: string, why: string, shown: string): string | null {
  if (/^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET)$/.test(code) || code.startsWith('08')) {
    return `cannot reach PostgreSQL at ${shown} (${why}, ${code}): is the server running, and is DATABASE_URL's host and port right?`;
  }
  if (code === '28P01' || code === '28000') return `PostgreSQL at ${shown} refused the login (${code}): check the user and password in DATABASE_URL.`;
  if (code === '3D000') return `PostgreSQL at ${shown} has no such database (${code}): create it first (createdb), dozor makes the tables itself.`;
  if (code === '42501') return `the user of DATABASE_URL may not do this at ${shown} (${why}, ${code}): it must own the database or be allowed to create tables in it.`;
  if (/^(57P0[1-3]|53[123]00)$/.test(code)) return `PostgreSQL at ${shown} cannot take this now (${why}, ${code}); try again in a moment.`;
  return null;
}
