import { isWakeTime, lastWorkEnd, type WorkingHours } from '../core/working-hours.ts';
import { listUntakenCriticalsOpenedBetween } from '../db/incidents.ts';
import type { DB } from '../db/open.ts';
import { writeTransaction } from '../db/transaction.ts';
import { wakeBeforeWork } from '../incidents/lifecycle.ts';

export interface WakeDeps {
  db: DB;
  hours: WorkingHours;
}

/**
 * The morning call: at `WAKE_AT` on a working day (and at a start-up before
 * work begins), every critical incident opened since the last working day
 * ended and still not taken is sent again to its manager and their lead,
 * marked as due before the client starts work. Each incident is called about
 * once; a restart calls nobody twice.
 */
export async function runWake(deps: WakeDeps, now: Date): Promise<{ woken: number }> {
  if (!isWakeTime(now, deps.hours)) return { woken: 0 };
  return writeTransaction(deps.db, async (tx) => {
    const untaken = await listUntakenCriticalsOpenedBetween(tx, lastWorkEnd(now, deps.hours), now);
    for (const incident of untaken) await wakeBeforeWork(tx, incident, now);
    return { woken: untaken.length };
  });
}
