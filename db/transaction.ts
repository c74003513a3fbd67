import type { DB, Queryable, Tx } from './open.ts';
import { isStorageUnavailable } from './storage-errors.ts';

/** How the last write transaction on a connection went: what /healthz says about writes. */
export interface WriteHealth {
  ok: boolean;
  /** When writes began to fail (null while they work). */
  failingSince: Date | null;
  /** The SQLite code of the last failure (SQLITE_FULL, say). */
  lastError: string | null;
}

const healthOf = new WeakMap<object, WriteHealth>();

/**
 * Run `work` as one write transaction: what it writes is stored together or
 * not at all. It takes SQLite's write lock first (BEGIN IMMEDIATE), so it
 * waits for another writer at the start instead of failing half-way. `work`
 * must be synchronous: better-sqlite3 commits when the callback returns.
 * Called inside another transaction, it becomes a savepoint of that one.
 * Whether the storage took it is noted for `writeHealth`.
 */
export function writeTransaction<T>(db: DB, work: (tx: Tx) => T): T {
  let result: T;
  try {
    result = db.transaction(work, { behavior: 'immediate' });
  } catch (err) {
    if (isStorageUnavailable(err)) {
      const previous = healthOf.get(db.$client);
      const code = (err as { code?: unknown }).code;
      healthOf.set(db.$client, {
        ok: false,
        failingSince: previous?.failingSince ?? new Date(),
        lastError: typeof code === 'string' ? code : (err as Error).message,
      });
    }
    throw err;
  }
  if (healthOf.get(db.$client)?.ok === false) healthOf.delete(db.$client);
  return result;
}

/** Whether the last write transaction on this connection went through. */
export function writeHealth(db: DB): WriteHealth {
  return healthOf.get(db.$client) ?? { ok: true, failingSince: null, lastError: null };
}

/** Run `work` inside the caller's transaction as a savepoint: if it throws, only what it wrote is undone. */
export function savepoint<T>(tx: Queryable, work: (tx: Tx) => T): T {
  return tx.transaction(work);
}
