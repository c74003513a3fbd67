import type { DB, Queryable, Tx } from './open.ts';

/**
 * Run `work` as one write transaction: what it writes is stored together or
 * not at all. It takes SQLite's write lock first (BEGIN IMMEDIATE), so it
 * waits for another writer at the start instead of failing half-way. `work`
 * must be synchronous: better-sqlite3 commits when the callback returns.
 * Called inside another transaction, it becomes a savepoint of that one.
 */
export function writeTransaction<T>(db: DB, work: (tx: Tx) => T): T {
  return db.transaction(work, { behavior: 'immediate' });
}

/** Run `work` inside the caller's transaction as a savepoint: if it throws, only what it wrote is undone. */
export function savepoint<T>(tx: Queryable, work: (tx: Tx) => T): T {
  return tx.transaction(work);
}
