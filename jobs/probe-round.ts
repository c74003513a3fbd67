import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import { judgeProbeResults, type Probed, type ProbeJudgement, type Target } from '../checks/probe-results.ts';
import { applyPageStates } from '../checks/page-state.ts';
import type { DB } from '../db/open.ts';
import { pruneProbeResults } from '../db/probes.ts';
import { deleteAvailabilityBefore } from '../db/availability.ts';
import { calendarDay } from '../core/calendar.ts';
import { listProbeTargets } from '../db/installations.ts';
import { runFollowUps } from '../incidents/follow-ups.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { probeInstallation, type ProbeSettings } from '../checks/probes/probe-installation.ts';
import type { Probers } from '../checks/probes/probers.ts';
import { writeTransaction } from '../db/transaction.ts';

export interface ProbeRoundOptions extends ProbeSettings {
  concurrency: number;
  /** A probe must fail this many rounds in a row before its incident opens. */
  failuresToOpen: number;
  /** This many installations of one provider or host failing in one round are announced as one event. */
  groupMin: number;
  historyMs: number;
}

export interface ProbeRoundDeps {
  db: DB;
  clock: Clock;
  logger: Logger;
  settings: IncidentSettings;
  probers: Probers;
  options: ProbeRoundOptions;
  /** Aborted when the service stops: the round ends at once, keeping what it has, without waiting for running probes. */
  signal?: AbortSignal;
  /**
   * How long the round may take (real time: probes take it). Installations not
   * probed by then are left for the next round, which takes them first.
   */
  budgetMs?: number;
}

export interface ProbeRoundSummary {
  probed: number;
  /** Installations left for the next round because this one ran out of time or the service stopped. */
  leftOver: number;
  opened: number;
  resolved: number;
  /** Common causes announced in this round: the provider or host, and how many installations. */
  commonCauses: ProbeJudgement['commonCauses'];
}

/** Availability by day is kept this long: a year of months for the reports, and a margin. */
const AVAILABILITY_KEEP_MS = 400 * 86_400_000;

let pingMissingReported = false;

/**
 * One round of probes over every monitored installation that has an address,
 * those probed longest ago first: probes run concurrently (bounded), then
 * their results, the incidents they open or resolve and the announcements are
 * written in one transaction. A round that runs out of time, or is stopped,
 * judges what it has and leaves the rest to the next round.
 */
export async function runProbeRound(deps: ProbeRoundDeps): Promise<ProbeRoundSummary> {
  const { db, logger, options } = deps;
  const targets: Target[] = await listProbeTargets(db);
  const limits = [deps.signal, deps.budgetMs === undefined ? undefined : AbortSignal.timeout(Math.max(0, deps.budgetMs))].filter((s) => s !== undefined);
  const cut = AbortSignal.any(limits);
  const limit = pLimit(options.concurrency);
  const probed: Probed[] = [];
  const all = Promise.all(
    targets.map((target) =>
      limit(async () => {
        if (cut.aborted) return;
        const results = await probeInstallation(target, options, deps.probers);
        if (!cut.aborted) probed.push({ target, results });
      }),
    ),
  );
  await new Promise<void>((done) => {
    if (cut.aborted) return done();
    cut.addEventListener('abort', () => done(), { once: true });
    void all.then(() => done());
  });
  // Probes still running finish within their own time limit; nobody waits for their answers.
  limit.clearQueue();

  const at = deps.clock();
  const judgement = await writeTransaction(db, async (tx) => {
    const judged = await judgeProbeResults(tx, deps.settings, probed, at, options);
    // What the main pages showed (maintenance, say) is the servers' state: folded in, and judged as a report would be.
    await applyPageStates(db, deps.settings, probed, at);
    // Alerts held back by an installation that answers again go out now.
    await runFollowUps(tx, deps.settings, at, (incidentId, err) => logger.error({ err, incidentId }, 'follow-up of an incident failed; the others went on'));
    await pruneProbeResults(tx, new Date(at.getTime() - options.historyMs));
    await deleteAvailabilityBefore(tx, calendarDay(new Date(at.getTime() - AVAILABILITY_KEEP_MS), 'UTC'));
    return judged;
  });
  for (const { probe, error } of judgement.unavailable) {
    if (!pingMissingReported) logger.warn({ probe }, `${error}; ${probe.toUpperCase()} probes are skipped`);
    pingMissingReported = true;
  }
  return { probed: probed.length, leftOver: targets.length - probed.length, opened: judgement.opened, resolved: judgement.resolved, commonCauses: judgement.commonCauses };
}
