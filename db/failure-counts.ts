import { FailureLimiter, retryAfter, type FailureCounter, type FailureVerdict } from '../core/failure-limiter.ts';
import { isPostgres } from './dialect.ts';
import type { Queryable } from './open.ts';
import { statement } from './statements.ts';

const count = statement(
  'failureCounts.count',
  `INSERT INTO failure_counts (scope, address, since, count) VALUES (@scope, @address, @now, 1)
   ON CONFLICT (scope, address) DO UPDATE SET
     count = CASE WHEN failure_counts.since <= @windowStart THEN 1 ELSE failure_counts.count + 1 END,
     since = CASE WHEN failure_counts.since <= @windowStart THEN @now ELSE failure_counts.since END
   RETURNING count, since`,
);
const prune = statement('failureCounts.prune', 'DELETE FROM failure_counts WHERE since <= ?');

/** Count one failure of an address in the shared table; the address's count and the start of its window. */
export async function countFailure(db: Queryable, scope: string, address: string, now: number, windowMs: number): Promise<{ count: number; since: number }> {
  const row = await count.get<{ count: number; since: number }>(db, { scope, address, now, windowStart: now - windowMs });
  return { count: Number(row!.count), since: Number(row!.since) };
}

/** Forget windows that began at or before `before`. */
export async function pruneFailureCounts(db: Queryable, before: number): Promise<number> {
  return prune.run(db, before);
}

/**
 * A failure limit every instance on the database counts together: behind a
 * balancer that spreads an address over two instances, the address still
 * gets `limit` failures a window, not twice as many. If the database cannot
 * be asked (it is down), the count falls back to this instance's memory, so
 * the answer never waits on it or fails for it. Windows over are forgotten
 * at most once a window.
 */
export class SharedFailureLimiter implements FailureCounter {
  private readonly fallback: FailureLimiter;
  private prunedAt = 0;

  constructor(
    private readonly db: Queryable,
    private readonly scope: string,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    this.fallback = new FailureLimiter(limit, windowMs);
  }

  async fail(address: string, now: number): Promise<FailureVerdict> {
    try {
      const { count: failures, since } = await countFailure(this.db, this.scope, address, now, this.windowMs);
      if (now - this.prunedAt >= this.windowMs) {
        this.prunedAt = now;
        await pruneFailureCounts(this.db, now - this.windowMs);
      }
      return { over: failures > this.limit, retryAfterSeconds: retryAfter(since, this.windowMs, now) };
    } catch {
      return this.fallback.failNow(address, now);
    }
  }
}

/** The failure limit for a door: shared by the instances on PostgreSQL, in memory for the one instance on SQLite. */
export function failureCounter(db: Queryable, scope: string, limit: number, windowMs: number): FailureCounter {
  return isPostgres(db) ? new SharedFailureLimiter(db, scope, limit, windowMs) : new FailureLimiter(limit, windowMs);
}
