import { and, asc, eq, lte } from 'drizzle-orm';
import { checkInstallation } from '../checks/check-installation.ts';
import type { DB } from '../db/open.ts';
import { getPolicy } from '../db/policies.ts';
import { installations } from '../db/schema.ts';
import { runFollowUps, type FollowUpSummary } from '../incidents/follow-ups.ts';
import { activeSilences } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';

export interface SweepDeps {
  db: DB;
  settings: IncidentSettings;
}

export interface SweepSummary extends FollowUpSummary {
  checked: number;
  opened: number;
  resolved: number;
}

/** Installations checked per transaction: small enough that intake never waits long for the write lock. */
const BATCH = 500;

/**
 * The scheduled check: every installation whose time-based rules are due (found
 * by index, never by scanning report history), then reminders, escalations and
 * announcements whose silence ended. Idempotent: running it twice at the same
 * moment changes nothing the second time.
 */
export function runSweep(deps: SweepDeps, now: Date): SweepSummary {
  const { db, settings } = deps;
  const summary: SweepSummary = { checked: 0, opened: 0, resolved: 0, announced: 0, reminded: 0, escalated: 0 };
  const due = db
    .select({ id: installations.id })
    .from(installations)
    .where(and(eq(installations.monitoringEnabled, true), lte(installations.nextCheckAt, now)))
    .orderBy(asc(installations.nextCheckAt))
    .all()
    .map((r) => r.id);

  for (let i = 0; i < due.length; i += BATCH) {
    const batch = due.slice(i, i + BATCH);
    db.transaction(
      (tx) => {
        const shared = { policy: getPolicy(tx), silences: activeSilences(tx, now) };
        for (const id of batch) {
          const outcome = checkInstallation(tx, settings, id, now, shared);
          summary.checked++;
          summary.opened += outcome.opened.length;
          summary.resolved += outcome.resolved.length;
        }
      },
      { behavior: 'immediate' },
    );
  }

  Object.assign(
    summary,
    db.transaction((tx) => runFollowUps(tx, settings, now), { behavior: 'immediate' }),
  );
  return summary;
}
