import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readValue, writeValue } from '../db/key-value.ts';
import { closeDatabase, pingDatabase, type DB } from '../db/open.ts';
import { openPostgres } from '../db/open-postgres.ts';
import { savepoint, writeTransaction } from '../db/transaction.ts';
import { freshPgDatabase, testPg } from './pg-helpers.ts';

/**
 * Write transactions on PostgreSQL, where two instances each have their own
 * connections to one database: no lost update, whole or nothing, and a query
 * made on the database inside a transaction kept on that transaction's
 * connection (SQLite's are in test/transaction.test.ts).
 */
const server = await testPg();

describe.skipIf(server.missing !== undefined)('a write transaction on PostgreSQL', () => {
  let database: { url: string; drop(): Promise<void> };
  let one: DB;
  let other: DB;
  const at = new Date(0);

  beforeAll(async () => {
    database = await freshPgDatabase('tx', { migrated: true });
    // Two pools, as two instances have: one connection each, so a second connection wanted inside a transaction would wait for ever.
    one = await openPostgres(database.url, { maxConnections: 1, connectionTimeoutMs: 2_000 });
    other = await openPostgres(database.url, { maxConnections: 1, connectionTimeoutMs: 2_000 });
  });
  afterAll(async () => {
    await closeDatabase(one);
    await closeDatabase(other);
    await database.drop();
  });

  it('loses no update when two instances change the same row at the same moment: one is run again after the other', async () => {
    await writeValue(one, 'tx.counter', 0, at);
    let bothRead!: () => void;
    const readers = new Promise<void>((resolve) => (bothRead = resolve));
    let reads = 0;
    let runs = 0;
    const increment = (db: DB) =>
      writeTransaction(db, async (tx) => {
        runs++;
        const value = (await readValue<number>(tx, 'tx.counter')) ?? 0;
        // Both read before either writes (on the first run of each): the case a lost update comes from.
        if (++reads === 2) bothRead();
        if (reads <= 2) await readers;
        await writeValue(tx, 'tx.counter', value + 1, at);
        return value + 1;
      });
    const results = await Promise.all([increment(one), increment(other)]);
    expect(results.sort()).toEqual([1, 2]);
    expect(await readValue(one, 'tx.counter')).toBe(2);
    expect(runs).toBe(3);
  });

  it('keeps a query made on the database inside a transaction on its connection: it sees what the transaction wrote, and waits for no other', async () => {
    const seen = await writeTransaction(one, async (tx) => {
      await writeValue(tx, 'tx.inside', 'written', at);
      // `one` has a single connection, held by this transaction: on another connection this would wait, then fail.
      return readValue(one, 'tx.inside');
    });
    expect(seen).toBe('written');
  });

  it('stores nothing of a transaction that fails, and undoes only a failed savepoint', async () => {
    await expect(
      writeTransaction(one, async (tx) => {
        await writeValue(tx, 'tx.failed', 1, at);
        throw new Error('half-way');
      }),
    ).rejects.toThrow('half-way');
    expect(await readValue(other, 'tx.failed')).toBeUndefined();

    await writeTransaction(one, async (tx) => {
      await writeValue(tx, 'tx.kept', 1, at);
      await expect(
        savepoint(tx, async (sp) => {
          await writeValue(sp, 'tx.undone', 1, at);
          throw new Error('only this');
        }),
      ).rejects.toThrow('only this');
    });
    expect(await readValue(other, 'tx.kept')).toBe(1);
    expect(await readValue(other, 'tx.undone')).toBeUndefined();
  });

  it('says the database is unhealthy when the server does not answer', async () => {
    await pingDatabase(one);
    const gone = await openPostgres(database.url, { maxConnections: 1 });
    await closeDatabase(gone);
    await expect(pingDatabase(gone)).rejects.toThrow(/pool/i);
  });
});
