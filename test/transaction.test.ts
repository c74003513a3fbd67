import { describe, expect, it } from 'vitest';
import { readValue, writeValue } from '../db/key-value.ts';
import { writeHealth, writeTransaction } from '../db/transaction.ts';
import { testDb, type TestDb } from './helpers.ts';

/** Asynchronous write transactions on SQLite's one connection: whole or nothing, one at a time, nested ones savepoints. */
describe('an asynchronous write transaction', () => {
  const rows = (t: TestDb) => t.db.$client.prepare("SELECT key FROM key_value WHERE key LIKE 'tx.%' ORDER BY key").pluck().all();
  const put = (t: TestDb, key: string) => t.db.$client.prepare("INSERT INTO key_value (key, value, updated_at) VALUES (?, '1', 0)").run(key);

  it('stores what it wrote together, or nothing when it fails part-way, however many times it awaited', async () => {
    const t = await testDb();
    try {
      await writeTransaction(t.db, async () => {
        put(t, 'tx.a');
        await Promise.resolve();
        put(t, 'tx.b');
      });
      await expect(
        writeTransaction(t.db, async () => {
          put(t, 'tx.c');
          await Promise.resolve();
          throw new Error('half-way');
        }),
      ).rejects.toThrow('half-way');
      expect(rows(t)).toEqual(['tx.a', 'tx.b']);
      expect(t.db.$client.inTransaction).toBe(false);
    } finally {
      await t.close();
    }
  });

  it('holds back a query made outside any transaction while another chain has one open, so its rollback cannot take the query with it', async () => {
    const t = await testDb();
    try {
      const at = new Date(0);
      let letGo!: () => void;
      const held = new Promise<void>((resolve) => (letGo = resolve));
      let began!: () => void;
      const begun = new Promise<void>((resolve) => (began = resolve));
      const failing = writeTransaction(t.db, async (tx) => {
        await writeValue(tx, 'tx.inside', 1, at);
        began();
        await held;
        throw new Error('undone');
      });
      await begun;
      const outside = writeValue(t.db, 'tx.outside', 2, at);
      const seenOutside = readValue(t.db, 'tx.inside');
      letGo();
      await expect(failing).rejects.toThrow('undone');
      await outside;
      // The read waited for the rollback: it never saw what the other chain had not committed.
      expect(await seenOutside).toBeUndefined();
      expect(rows(t)).toEqual(['tx.outside']);
      expect(await readValue(t.db, 'tx.outside')).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('lets transactions started side by side take turns, each whole, in the order they asked', async () => {
    const t = await testDb();
    try {
      const order: string[] = [];
      const one = (name: string) =>
        writeTransaction(t.db, async () => {
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
      await t.close();
    }
  });

  it('makes one opened inside another a savepoint of it: its failure undoes only its own writes', async () => {
    const t = await testDb();
    try {
      await writeTransaction(t.db, async () => {
        put(t, 'tx.outer');
        await expect(
          writeTransaction(t.db, async () => {
            put(t, 'tx.inner');
            throw new Error('inner fails');
          }),
        ).rejects.toThrow('inner fails');
        await writeTransaction(t.db, async () => {
          put(t, 'tx.inner2');
        });
      });
      expect(rows(t)).toEqual(['tx.inner2', 'tx.outer']);
    } finally {
      await t.close();
    }
  });

  it('says in the write health when the storage refused it, and that it works again after', async () => {
    const t = await testDb();
    try {
      const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      await expect(writeTransaction(t.db, async () => Promise.reject(full))).rejects.toThrow('full');
      expect(writeHealth(t.db)).toMatchObject({ ok: false, lastError: 'SQLITE_FULL' });
      await writeTransaction(t.db, async () => put(t, 'tx.ok'));
      expect(writeHealth(t.db).ok).toBe(true);
    } finally {
      await t.close();
    }
  });
});
