import { describe, expect, it } from 'vitest';
import { writeHealth, writeTransactionAsync } from '../db/transaction.ts';
import { testDb } from './helpers.ts';

/** Asynchronous write transactions on SQLite's one connection: whole or nothing, one at a time, nested ones savepoints. */
describe('an asynchronous write transaction', () => {
  const rows = (t: ReturnType<typeof testDb>) => t.db.$client.prepare("SELECT key FROM key_value WHERE key LIKE 'tx.%' ORDER BY key").pluck().all();
  const put = (t: ReturnType<typeof testDb>, key: string) => t.db.$client.prepare("INSERT INTO key_value (key, value, updated_at) VALUES (?, '1', 0)").run(key);

  it('stores what it wrote together, or nothing when it fails part-way, however many times it awaited', async () => {
    const t = testDb();
    try {
      await writeTransactionAsync(t.db, async () => {
        put(t, 'tx.a');
        await Promise.resolve();
        put(t, 'tx.b');
      });
      await expect(
        writeTransactionAsync(t.db, async () => {
          put(t, 'tx.c');
          await Promise.resolve();
          throw new Error('half-way');
        }),
      ).rejects.toThrow('half-way');
      expect(rows(t)).toEqual(['tx.a', 'tx.b']);
      expect(t.db.$client.inTransaction).toBe(false);
    } finally {
      t.close();
    }
  });

  it('lets transactions started side by side take turns, each whole, in the order they asked', async () => {
    const t = testDb();
    try {
      const order: string[] = [];
      const one = (name: string) =>
        writeTransactionAsync(t.db, async () => {
          order.push(`${name} begins`);
          put(t, `tx.${name}1`);
          await new Promise((resolve) => setImmediate(resolve));
          put(t, `tx.${name}2`);
          order.push(`${name} ends`);
        });
      await Promise.all([one('a'), one('b'), one('c')]);
      expect(order).toEqual(['a begins', 'a ends', 'b begins', 'b ends', 'c begins', 'c ends']);
      expect(rows(t)).toHaveLength(6);
    } finally {
      t.close();
    }
  });

  it('makes one opened inside another a savepoint of it: its failure undoes only its own writes', async () => {
    const t = testDb();
    try {
      await writeTransactionAsync(t.db, async () => {
        put(t, 'tx.outer');
        await expect(
          writeTransactionAsync(t.db, async () => {
            put(t, 'tx.inner');
            throw new Error('inner fails');
          }),
        ).rejects.toThrow('inner fails');
        await writeTransactionAsync(t.db, async () => {
          put(t, 'tx.inner2');
        });
      });
      expect(rows(t)).toEqual(['tx.inner2', 'tx.outer']);
    } finally {
      t.close();
    }
  });

  it('says in the write health when the storage refused it, and that it works again after', async () => {
    const t = testDb();
    try {
      const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      await expect(writeTransactionAsync(t.db, async () => Promise.reject(full))).rejects.toThrow('full');
      expect(writeHealth(t.db)).toMatchObject({ ok: false, lastError: 'SQLITE_FULL' });
      await writeTransactionAsync(t.db, async () => put(t, 'tx.ok'));
      expect(writeHealth(t.db).ok).toBe(true);
    } finally {
      t.close();
    }
  });
});
