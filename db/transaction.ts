import { AsyncLocalStorage } from 'node:async_hooks';
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
    noteFailure(db, err);
    throw err;
  }
  if (healthOf.get(db.$client)?.ok === false) healthOf.delete(db.$client);
  return result;
}

/**
 * The asynchronous form of `writeTransaction`, which the storage layer moves
 * to (a PostgreSQL transaction is asynchronous): `work` may await, but only
 * database work, never the network or a file, since on SQLite the one
 * connection is this transaction's until it ends. Transactions on a
 * connection take turns (an asynchronous lock around BEGIN IMMEDIATE … COMMIT);
 * one opened inside another, in the same chain of work, is a savepoint of it.
 */
export async function writeTransactionAsync<T>(db: DB, work: (tx: Tx) => Promise<T>): Promise<T> {
  const open = inside.getStore();
  if (open?.connection === db.$client) return savepointAsync(db, open, work);
  const release = await turnOf(db.$client);
  try {
    return await run(db, () => {
      db.$client.exec('BEGIN IMMEDIATE');
    }, async () => {
      const state: OpenTransaction = { connection: db.$client, savepoints: 0 };
      const result = await inside.run(state, () => work(db as unknown as Tx));
      db.$client.exec('COMMIT');
      return result;
    });
  } finally {
    release();
  }
}

interface OpenTransaction {
  connection: object;
  savepoints: number;
}

/** The transaction the current chain of work runs in, if any. */
const inside = new AsyncLocalStorage<OpenTransaction>();
/** Per connection, the end of the last transaction queued on it. */
const turns = new WeakMap<object, Promise<void>>();

/** Wait for the transactions queued on a connection before this one; call the result to let the next go. */
async function turnOf(connection: object): Promise<() => void> {
  const before = turns.get(connection) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  turns.set(connection, before.then(() => mine));
  await before;
  return release;
}

/** Begin, do the work, and on a failure roll back what began; note how the storage took it. */
async function run<T>(db: DB, begin: () => void, work: () => Promise<T>): Promise<T> {
  try {
    begin();
    return await work().then((result) => {
      if (healthOf.get(db.$client)?.ok === false) healthOf.delete(db.$client);
      return result;
    });
  } catch (err) {
    if (db.$client.inTransaction) db.$client.exec('ROLLBACK');
    noteFailure(db, err);
    throw err;
  }
}

async function savepointAsync<T>(db: DB, open: OpenTransaction, work: (tx: Tx) => Promise<T>): Promise<T> {
  const name = `dozor_${++open.savepoints}`;
  db.$client.exec(`SAVEPOINT ${name}`);
  try {
    const result = await work(db as unknown as Tx);
    db.$client.exec(`RELEASE ${name}`);
    return result;
  } catch (err) {
    db.$client.exec(`ROLLBACK TO ${name}`);
    db.$client.exec(`RELEASE ${name}`);
    throw err;
  }
}

function noteFailure(db: DB, err: unknown): void {
  if (!isStorageUnavailable(err)) return;
  const previous = healthOf.get(db.$client);
  const code = (err as { code?: unknown }).code;
  healthOf.set(db.$client, {
    ok: false,
    failingSince: previous?.failingSince ?? new Date(),
    lastError: typeof code === 'string' ? code : (err as Error).message,
  });
}

/** Whether the last write transaction on this connection went through. */
export function writeHealth(db: DB): WriteHealth {
  return healthOf.get(db.$client) ?? { ok: true, failingSince: null, lastError: null };
}

/** Run `work` inside the caller's transaction as a savepoint: if it throws, only what it wrote is undone. */
export function savepoint<T>(tx: Queryable, work: (tx: Tx) => T): T {
  return tx.transaction(work);
}
