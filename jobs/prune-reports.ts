import { inArray, lt } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Logger } from '../app/logger.ts';
import type { DB } from '../db/open.ts';
import { licenseDays, reports } from '../db/schema.ts';

export interface PruneDeps {
  db: DB;
  /** Rows per transaction: small, so the intake never waits long for the write lock. */
  batchSize: number;
  logger: Logger;
}

/**
 * Forget report history older than `before`, a small batch per transaction,
 * yielding to the event loop between batches so reports keep being accepted
 * while it runs. The latest state of each installation is not history: it stays.
 */
export async function pruneReports(deps: PruneDeps, before: Date): Promise<number> {
  const { db, batchSize } = deps;
  let total = 0;
  for (;;) {
    const oldest = db.select({ id: reports.id }).from(reports).where(lt(reports.receivedAt, before)).limit(batchSize);
    const removed = db.delete(reports).where(inArray(reports.id, oldest)).run().changes;
    total += removed;
    if (removed < batchSize) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const day = DateTime.fromJSDate(before).toISODate()!;
  db.delete(licenseDays).where(lt(licenseDays.day, day)).run();
  if (total > 0) deps.logger.info({ removed: total, before }, 'old report history pruned');
  return total;
}
