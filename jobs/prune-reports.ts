import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import type { DB } from '../db/open.ts';
import { deleteLicenseDaysBefore } from '../db/license-days.ts';
import { deleteReportsBefore } from '../db/reports.ts';

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
    const removed = await deleteReportsBefore(db, before, batchSize);
    total += removed;
    if (removed < batchSize) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const day = DateTime.fromJSDate(before).toISODate()!;
  await deleteLicenseDaysBefore(db, day);
  if (total > 0) deps.logger.info({ removed: total, before }, 'old report history pruned');
  return total;
}
