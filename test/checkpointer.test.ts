import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startCheckpointer } from '../db/checkpointer.ts';
import { silentLogger, testDb, type TestDb } from './helpers.ts';

describe('WAL checkpoints on a thread of their own', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await testDb();
  });
  afterEach(() => t.close());

  it('copies the log into the database file while the service connection never checkpoints itself', async () => {
    const checkpointer = startCheckpointer(t.db, { intervalMs: 20, logger: silentLogger() });
    expect(t.db.$client.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const before = statSync(t.path).size;
    t.db.$client.exec('CREATE TABLE filler (text TEXT)');
    const insert = t.db.$client.prepare('INSERT INTO filler VALUES (?)');
    t.db.$client.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run('x'.repeat(1000));
    })();
    // Written to the log only; the file grows when the thread checkpoints.
    await vi.waitFor(() => expect(statSync(t.path).size).toBeGreaterThan(before + 1_000_000), { timeout: 5000, interval: 20 });
    await checkpointer.stop();
    expect(t.db.$client.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(t.db.$client.prepare('SELECT count(*) FROM filler').pluck().get()).toBe(2000);
  });
});
