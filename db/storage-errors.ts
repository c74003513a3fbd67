/**
 * SQLite errors that mean "the database cannot take writes right now" (locked,
 * disk full, I/O trouble) rather than "this request is wrong". Agents retry on 503.
 */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY|PROTOCOL|NOMEM)/;

export function isStorageUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE.test(code)) return true;
  // A closed connection (during shutdown or after a fatal error) cannot answer either.
  return error instanceof TypeError && /database connection is not open/.test(error.message);
}
