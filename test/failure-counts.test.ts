import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDatabase, closeDb, openDb, type DB } from '../db/open.ts';
import { openPostgres } from '../db/open-postgres.ts';
import { failureCounter, SharedFailureLimiter } from '../db/failure-counts.ts';
import { FailureLimiter } from '../core/failure-limiter.ts';
import { onPostgres } from './pg-helpers.ts';
import { sqlValue, testDb, type TestDb } from './helpers.ts';

/**
 * Invalid tokens and refused links counted per address by every instance on
 * the database together. Two handles on one database stand for two
 * instances, as in test/cluster.test.ts; the clock is passed in.
 */
describe('failure counts shared by the instances', () => {
  let t: TestDb;
  let other: DB;
  const MINUTE = 60_000;
  const start = Date.parse('2026-12-07T10:00:00Z');

  beforeEach(async () => {
    t = await testDb();
    other = onPostgres() ? await openPostgres(t.path, { maxConnections: 2 }) : openDb(t.path);
  });
  afterEach(async () => {
    if (onPostgres()) await closeDatabase(other);
    else closeDb(other);
    await t.close();
  });

  it('gives an address its limit across two instances, not twice it, and a new window after the old one ends', async () => {
    const a = new SharedFailureLimiter(t.db, 'agent-token', 3, MINUTE);
    const b = new SharedFailureLimiter(other, 'agent-token', 3, MINUTE);
    const verdicts = [];
    for (let i = 0; i < 6; i++) verdicts.push((await (i % 2 === 0 ? a : b).fail('203.0.113.7', start + i * 1000)).over);
    expect(verdicts).toEqual([false, false, false, true, true, true]);
    // Retry-After counts down to the end of the window that began with the first failure.
    expect((await a.fail('203.0.113.7', start + 20_000)).retryAfterSeconds).toBe(40);
    // Another address, and another door (scope), count on their own.
    expect((await b.fail('203.0.113.8', start + 6000)).over).toBe(false);
    expect((await new SharedFailureLimiter(other, 'web-link', 3, MINUTE).fail('203.0.113.7', start + 6000)).over).toBe(false);
    // A minute after the window began, the address starts again.
    expect((await b.fail('203.0.113.7', start + MINUTE)).over).toBe(false);
  });

  it('forgets windows that are over, and falls back to counting in memory when the database cannot be asked', async () => {
    const a = new SharedFailureLimiter(t.db, 'agent-token', 2, MINUTE);
    for (let i = 0; i < 50; i++) await a.fail(`198.51.100.${i}`, start);
    expect(Number(await sqlValue(t.db, 'select count(*) from failure_counts'))).toBe(50);
    await a.fail('198.51.100.200', start + MINUTE + 1);
    expect(Number(await sqlValue(t.db, 'select count(*) from failure_counts'))).toBe(1);

    const cut = new SharedFailureLimiter(other, 'agent-token', 2, MINUTE);
    if (onPostgres()) await closeDatabase(other);
    else closeDb(other);
    other = onPostgres() ? await openPostgres(t.path, { maxConnections: 2 }) : openDb(t.path);
    const verdicts = [];
    for (let i = 0; i < 3; i++) verdicts.push((await cut.fail('192.0.2.1', start + i)).over);
    expect(verdicts).toEqual([false, false, true]);
  });

  it('counts in memory with one instance on SQLite, in the database on PostgreSQL', () => {
    expect(failureCounter(t.db, 'agent-token', 30, MINUTE)).toBeInstanceOf(onPostgres() ? SharedFailureLimiter : FailureLimiter);
  });
});
