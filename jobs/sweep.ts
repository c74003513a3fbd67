import type { Logger } from 'pino';
import { applyEvaluation, type SharedLookups } from '../checks/check-installation.ts';
import type { BlindSpell, GraceReason } from '../core/clock-watch.ts';
import { evaluateInstallation, RULES, TIME_BASED_RULES } from '../core/rules.ts';
import { setNextChecks } from '../db/check-schedule.ts';
import { readValue, writeValue } from '../db/key-value.ts';
import type { DB, Queryable } from '../db/open.ts';
import { getPolicy } from '../db/policies.ts';
import { loadDueRows, type SweepRow } from '../db/sweep-rows.ts';
import { writeTransaction } from '../db/transaction.ts';
import { runFollowUps, type FollowUpSummary } from '../incidents/follow-ups.ts';
import { activeSilences } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';

export interface SweepDeps {
  db: DB;
  settings: IncidentSettings;
  /** Where an installation or incident that cannot be handled is reported; the sweep goes on without it. */
  logger?: Logger;
}

export interface SweepSummary extends FollowUpSummary {
  checked: number;
  opened: number;
  resolved: number;
  /** Installations whose judging failed: logged, and looked at again after `RETRY_FAILED_MS`. */
  failed: number;
}

/** Installations checked per transaction: small enough that intake never waits long for the write lock. */
const BATCH = 1000;
/** An installation whose judging failed is looked at again this much later, not at every sweep. */
export const RETRY_FAILED_MS = 10 * 60_000;

/**
 * The scheduled check: every installation whose next check is due (found in
 * the narrow schedule table, never by scanning report history), read in bulk
 * and judged in memory by the time-based rules (or by all, where the schedule
 * asks), then reminders, escalations and announcements whose silence ended.
 * Idempotent: running it twice at the same moment changes nothing the second time.
 *
 * A generator: it yields after each batch (each its own transaction), so the
 * service can let the event loop serve requests in between; `runSweep` runs
 * it through at once.
 */
export async function* sweepSteps(deps: SweepDeps, now: Date): AsyncGenerator<void, SweepSummary> {
  const { db, settings } = deps;
  const summary: SweepSummary = { checked: 0, opened: 0, resolved: 0, failed: 0, announced: 0, reminded: 0, escalated: 0 };
  await noteSweep(db, settings, now);
  for (let afterId = 0; ; ) {
    let rows: SweepRow[] = [];
    try {
      // Every query through the transaction's handle: on PostgreSQL the database's own would run outside it, on another connection.
      await writeTransaction(db, async (tx) => {
        rows = await loadDueRows(tx, now, afterId, BATCH);
        await judge(tx, deps, rows, now, summary);
      });
    } catch (err) {
      if (rows.length === 0) throw err;
      // One installation's judging threw, and the batch's transaction went with it: judge the batch again one by one.
      await judgeOneByOne(deps, rows, now, summary);
    }
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]!.id;
    if (rows.length < BATCH) break;
    yield;
  }
  Object.assign(
    summary,
    await writeTransaction(db, async (tx) =>
      runFollowUps(tx, settings, now, (incidentId, err) => deps.logger?.error({ err, incidentId }, 'follow-up of an incident failed; the others went on')),
    ),
  );
  return summary;
}

/** The whole sweep at once (the command line, tests). */
export async function runSweep(deps: SweepDeps, now: Date): Promise<SweepSummary> {
  const steps = sweepSteps(deps, now);
  for (;;) {
    const step = await steps.next();
    if (step.done) return step.value;
  }
}

/** The whole sweep, giving the event loop a turn between batches, so no request waits behind more than one. */
export async function runSweepYielding(deps: SweepDeps, now: Date): Promise<SweepSummary> {
  const steps = sweepSteps(deps, now);
  for (;;) {
    const step = await steps.next();
    if (step.done) return step.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Judge a batch inside the caller's transaction (`db` its handle); counts go to `summary` only once the whole batch is through. */
async function judge(db: Queryable, deps: SweepDeps, rows: readonly SweepRow[], now: Date, summary: SweepSummary): Promise<void> {
  const { settings } = deps;
  if (rows.length === 0) return;
  // Silences matter only when an incident opens: read once for the batch (a getter cannot wait for the query).
  const shared: SharedLookups = {
    policy: await getPolicy(db),
    silences: await activeSilences(db, now),
  };
  const counts = { checked: 0, opened: 0, resolved: 0 };
  const nextChecks: { id: number; at: number | null }[] = [];
  for (const row of rows) {
    const input = { installation: row, state: row.state, policy: shared.policy!, now, blind: settings.clockWatch?.blind ?? null };
    const evaluation = evaluateInstallation(input, row.allRules ? RULES : TIME_BASED_RULES);
    const judged = row.allRules ? 'all' : 'time-based';
    const outcome = await applyEvaluation(db, settings, row, row.active, evaluation, now, { judged, shared, nextChecks });
    counts.checked++;
    counts.opened += outcome.opened.length;
    counts.resolved += outcome.resolved.length;
  }
  await setNextChecks(db, nextChecks);
  summary.checked += counts.checked;
  summary.opened += counts.opened;
  summary.resolved += counts.resolved;
}

/** Each installation of a batch in a transaction of its own; one that fails is logged and looked at again later. */
async function judgeOneByOne(deps: SweepDeps, rows: readonly SweepRow[], now: Date, summary: SweepSummary): Promise<void> {
  const { db, logger } = deps;
  for (const row of rows) {
    try {
      await writeTransaction(db, async (tx) => judge(tx, deps, [row], now, summary));
    } catch (err) {
      summary.failed++;
      const retryAt = now.getTime() + RETRY_FAILED_MS;
      logger?.error({ err, installation: row.id, retryAt: new Date(retryAt) }, 'judging an installation failed; it is looked at again later, the others went on');
      try {
        await writeTransaction(db, async (tx) => setNextChecks(tx, [{ id: row.id, at: retryAt }]));
      } catch (scheduleErr) {
        logger?.error({ err: scheduleErr, installation: row.id }, 'could not put off the failed installation');
      }
    }
  }
}

/**
 * Tell the clock watch about this sweep, with what it remembered across
 * restarts: a long gap since the last sweep is a spell nobody was listening.
 */
async function noteSweep(db: DB, settings: IncidentSettings, now: Date): Promise<void> {
  const watch = settings.clockWatch;
  if (!watch) return;
  if (watch.lastSweepAt === null) {
    const saved = await readValue<{ lastSweepAt: number; blind: BlindSpell | null; graceUntil: number; graceReason?: GraceReason }>(db, CLOCK_KEY);
    if (saved) Object.assign(watch, saved);
  }
  watch.note(now.getTime());
  await writeValue(db, CLOCK_KEY, { lastSweepAt: watch.lastSweepAt, blind: watch.blind, graceUntil: watch.graceUntil, graceReason: watch.graceReason }, now);
}

const CLOCK_KEY = 'clock.watch';
