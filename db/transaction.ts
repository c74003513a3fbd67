import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { isPostgres } from './dialect.ts';
import { ungated } from './gate.ts';
import { postgresHandle } from './open-postgres.ts';
import type { DB, Queryable, Tx } from './open.ts';
import { isSerializationFailure, isStorageUnavailable, storageErrorCode } from './storage-errors.ts';

/** How the last write transaction on a database went: what /healthz says about writes. */
export interface WriteHealth {
  ok: boolean;
  /** When writes began to fail (null while they work). */
  failingSince: Date | null;
  /** The code of the last failure (SQLITE_FULL, 57P01, ECONNREFUSED, say). */
  lastError: string | null;
}

const healthOf = new WeakMap<object, WriteHealth>();

/** A transaction PostgreSQL refused to serialise is run again, this many times in all at most. */
const SERIALIZATION_ATTEMPTS = 8;

/**
 * Run `work` as one write transaction: what it writes is stored together or
 * not at all, and whether the storage took it is noted for `writeHealth`.
 * `work` may await, but only database work through the handle it is given,
 * never the network or a file: on SQLite the one connection is this
 * transaction's until it ends, and on PostgreSQL the work may be run again.
 * One opened inside another, in the same chain of work, is a savepoint of it.
 *
 * On SQLite, transactions on a connection take turns (an asynchronous lock
 * around BEGIN IMMEDIATE … COMMIT), so one waits for another writer at the
 * start instead of failing half-way. On PostgreSQL each runs SERIALIZABLE on
 * a connection of its own from the pool: two instances changing the same
 * rows at once end as if one ran after the other, and the one the server
 * refuses (40001, or a deadlock) is run again.
 */
export async function writeTransaction<T>(db: DB, work: (tx: Tx) => Promise<T>): Promise<T> {
  const open = openOn(db);
  if (open) return savepointIn(open, work);
  return isPostgres(db) ? postgresTransaction(db, work) : sqliteTransaction(db, work);
}

/** Run `work` inside the caller's transaction as a savepoint: if it throws, only what it wrote is undone. */
export function savepoint<T>(tx: Queryable, work: (tx: Tx) => Promise<T>): Promise<T> {
  const open = openOn(tx as DB);
  if (!open) throw new Error('savepoint() is for work inside writeTransaction()');
  return savepointIn(open, work);
}

interface OpenTransaction {
  /** The handles (connection, pool) this transaction belongs to: another transaction asked of them inside it nests. */
  owners: readonly object[];
  tx: Tx;
  exec(statement: string): Promise<void>;
  savepoints: number;
  /** Set at the end: work scheduled from inside (a timer, say) that runs later is outside it. */
  over: boolean;
}

/** The transaction the current chain of work runs in, if any. */
const inside = new AsyncLocalStorage<OpenTransaction>();

function openOn(db: DB): OpenTransaction | undefined {
  const open = inside.getStore();
  if (!open || open.over) return undefined;
  return open.owners.includes(db.$client) || (open.tx as unknown) === db ? open : undefined;
}

/** Whether the current chain of work is inside a write transaction on this database (queries must then use its handle). */
export function insideTransactionOf(db: DB): boolean {
  return openOn(db) !== undefined;
}

/**
 * Run one query (or a few with no await between them) on the database, in
 * its turn: on SQLite, outside a transaction of its own chain, it waits for
 * the transactions queued on the connection (see db/gate.ts), unless none is
 * (then at once: a query that runs synchronously cannot land inside another).
 */
export async function withTurn<T>(db: DB, query: () => T | Promise<T>): Promise<T> {
  if (isPostgres(db) || !queued.get(db.$client) || openOn(db)) return query();
  const release = await turnOf(db.$client);
  try {
    return await query();
  } finally {
    release();
  }
}

async function sqliteTransaction<T>(db: DB, work: (tx: Tx) => Promise<T>): Promise<T> {
  const connection = db.$client;
  const release = await turnOf(connection);
  const open: OpenTransaction = {
    owners: [connection],
    tx: ungated(db) as unknown as Tx,
    exec: async (statement) => {
      connection.exec(statement);
    },
    savepoints: 0,
    over: false,
  };
  try {
    connection.exec('BEGIN IMMEDIATE');
    const result = await inside.run(open, () => work(open.tx));
    connection.exec('COMMIT');
    noteSuccess(db);
    return result;
  } catch (err) {
    if (connection.inTransaction) connection.exec('ROLLBACK');
    noteFailure(db, err);
    throw err;
  } finally {
    open.over = true;
    release();
  }
}

/** Per connection, the end of the last turn queued on it, and how many turns are queued or running. */
const turns = new WeakMap<object, Promise<void>>();
const queued = new WeakMap<object, number>();

/** Wait for the turns queued on a connection before this one; call the result to let the next go. */
async function turnOf(connection: object): Promise<() => void> {
  const before = turns.get(connection) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  turns.set(connection, before.then(() => mine));
  queued.set(connection, (queued.get(connection) ?? 0) + 1);
  await before;
  return () => {
    queued.set(connection, queued.get(connection)! - 1);
    release();
  };
}

/**
 * On PostgreSQL, a query made on the pool by work running inside one of its
 * transactions (a function handed the database rather than the transaction's
 * handle) goes to that transaction's connection, as it would on SQLite's one
 * connection: on another connection it would not see what the transaction
 * wrote, could wait on its locks, and with every connection held by a
 * transaction doing the same, would wait for a free one for ever.
 */
export function routeIntoOpenTransactions(pool: pg.Pool): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const routed = (...args: unknown[]): unknown => {
    const open = inside.getStore();
    if (open && !open.over && open.owners[0] === pool) return (open.owners[1] as pg.PoolClient).query(...(args as [string]));
    return query(...args);
  };
  pool.query = routed as typeof pool.query;
}

async function postgresTransaction<T>(db: DB, work: (tx: Tx) => Promise<T>): Promise<T> {
  const pool = db.$client as unknown as pg.Pool;
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      noteFailure(db, err);
      throw err;
    }
    const tx = postgresHandle(client) as unknown as Tx;
    const open: OpenTransaction = {
      owners: [pool, client],
      tx,
      exec: async (statement) => {
        await client.query(statement);
      },
      savepoints: 0,
      over: false,
    };
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      const result = await inside.run(open, () => work(tx));
      await client.query('COMMIT');
      noteSuccess(db);
      return result;
    } catch (err) {
      open.over = true;
      await client.query('ROLLBACK').catch((rollbackFailed: Error) => {
        broken = rollbackFailed;
      });
      if (isSerializationFailure(err) && attempt < SERIALIZATION_ATTEMPTS) {
        // Both ran into each other: each waits a random, growing while, so they do not meet again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
        continue;
      }
      noteFailure(db, err);
      throw err;
    } finally {
      open.over = true;
      // A connection that could not even roll back is not given to the next transaction.
      client.release(broken);
    }
  }
}

async function savepointIn<T>(open: OpenTransaction, work: (tx: Tx) => Promise<T>): Promise<T> {
  const name = `dozor_${++open.savepoints}`;
  await open.exec(`SAVEPOINT ${name}`);
  try {
    const result = await work(open.tx);
    await open.exec(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (err) {
    await open.exec(`ROLLBACK TO SAVEPOINT ${name}`);
    await open.exec(`RELEASE SAVEPOINT ${name}`);
    throw err;
  }
}

function noteSuccess(db: DB): void {
  if (healthOf.get(db.$client)?.ok === false) healthOf.delete(db.$client);
}

function noteFailure(db: DB, err: unknown): void {
  if (!isStorageUnavailable(err)) return;
  const previous = healthOf.get(db.$client);
  healthOf.set(db.$client, {
    ok: false,
    failingSince: previous?.failingSince ?? new Date(),
    lastError: storageErrorCode(err) ?? (err as Error).message,
  });
}

/** Whether the last write transaction on this database went through. */
export function writeHealth(db: DB): WriteHealth {
  return healthOf.get(db.$client) ?? { ok: true, failingSince: null, lastError: null };
}
