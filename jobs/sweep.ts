import { applyEvaluation } from '../checks/check-installation.ts';
import { evaluateInstallation, RULES, TIME_BASED_RULES } from '../core/rules.ts';
import { setNextChecks } from '../db/check-schedule.ts';
import { loadDueRows } from '../db/sweep-rows.ts';
import type { DB } from '../db/open.ts';
import { readValue, writeValue } from '../db/key-value.ts';
import type { BlindSpell } from '../core/clock-watch.ts';
import type { Silence } from '../core/silences.ts';
import { getPolicy } from '../db/policies.ts';
import { runFollowUps, type FollowUpSummary } from '../incidents/follow-ups.ts';
import { activeSilences } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { writeTransaction } from '../db/transaction.ts';

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
const BATCH = 1000;

/**
 * The scheduled check: every installation whose next check is due (found in
 * the narrow schedule table, never by scanning report history), read in bulk
 * and judged in memory by the time-based rules (or by all, where the schedule
 * asks), then reminders, escalations and announcements whose silence ended.
 * Idempotent: running it twice at the same moment changes nothing the second time.
 */
export function runSweep(deps: SweepDeps, now: Date): SweepSummary {
  const { db, settings } = deps;
  const summary: SweepSummary = { checked: 0, opened: 0, resolved: 0, announced: 0, reminded: 0, escalated: 0 };
  noteSweep(db, settings, now);
  // Batches in id order, each its own transaction: intake waits at most one batch for the write lock.
  for (let afterId = 0; ; ) {
    const done = writeTransaction(db, () => {
      const rows = loadDueRows(db, now, afterId, BATCH);
      if (rows.length === 0) return true;
      // Silences matter only when an incident opens, which few batches see: read once, when first needed.
      let silences: Silence[] | undefined;
      const shared = {
        policy: getPolicy(db),
        get silences() {
          return (silences ??= activeSilences(db, now));
        },
      };
      const nextChecks: { id: number; at: number | null }[] = [];
      for (const row of rows) {
        const input = { installation: row, state: row.state, policy: shared.policy, now, blind: settings.clockWatch?.blind ?? null };
        const evaluation = evaluateInstallation(input, row.allRules ? RULES : TIME_BASED_RULES);
        const judged = row.allRules ? 'all' : 'time-based';
        const outcome = applyEvaluation(db, settings, row, row.active, evaluation, now, { judged, shared, nextChecks });
        summary.checked++;
        summary.opened += outcome.opened.length;
        summary.resolved += outcome.resolved.length;
      }
      setNextChecks(db, nextChecks);
      afterId = rows[rows.length - 1]!.id;
      return rows.length < BATCH;
    });
    if (done) break;
  }

  Object.assign(
    summary,
    writeTransaction(db, (tx) => runFollowUps(tx, settings, now)),
  );
  return summary;
}

/**
 * Tell the clock watch about this sweep, with what it remembered across
 * restarts: a long gap since the last sweep is a spell nobody was listening.
 */
function noteSweep(db: DB, settings: IncidentSettings, now: Date): void {
  const watch = settings.clockWatch;
  if (!watch) return;
  if (watch.lastSweepAt === null) {
    const saved = readValue<{ lastSweepAt: number; blind: BlindSpell | null; graceUntil: number }>(db, CLOCK_KEY);
    if (saved) Object.assign(watch, saved);
  }
  watch.note(now.getTime());
  writeValue(db, CLOCK_KEY, { lastSweepAt: watch.lastSweepAt, blind: watch.blind, graceUntil: watch.graceUntil }, now);
}

const CLOCK_KEY = 'clock.watch';
