import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';

/** What a run of a job knows about itself. */
export interface JobRun {
  /** Aborted when the service stops: a long job ends early rather than hold the stop. */
  signal: AbortSignal;
  /** When the same job is due next (null for a run outside the schedule). */
  nextRun: Date | null;
}

export type Job = (run: JobRun) => unknown;

/** A claim on one run of a job among several instances; `lost` aborts when another instance took the run over. */
export interface JobRunClaim {
  lost: AbortSignal;
  finish(): Promise<void>;
}

/** A job's slot that was claimed and never finished, and whose claim ran out: its instance died in the run. */
export interface AbandonedSlot {
  job: string;
  slot: number;
}

/** Decides which instance runs a job's slot (its scheduled time): null means another instance has it. */
export interface JobClaims {
  claim(job: string, slot: number): Promise<JobRunClaim | null>;
  /** The slots left unfinished by an instance that died in them (their claims expired). */
  abandoned(): Promise<AbandonedSlot[]>;
}

export interface SchedulerOptions {
  /**
   * How often to look for a slot an instance died in (with `claims`); unset: never, by itself
   * (`recoverAbandoned` may still be called).
   */
  recoverEveryMs?: number;
}

interface Scheduled {
  job: Job;
  task: ScheduledTask;
  /** The latest slot the schedule reached here, whichever instance claimed it. */
  lastSlot: number | null;
}

/** A run outside the schedule (at start-up) counts for the minute it starts in. */
const UNSCHEDULED_SLOT_MS = 60_000;

/**
 * A thin layer over node-cron: jobs are plain functions (tested with any clock)
 * and this only decides when they run. A run never overlaps the previous one;
 * a failing run is logged and the schedule goes on. With `claims`, each run
 * is first claimed for its slot, so of several instances one runs it. When
 * an instance dies in a run, once its claim runs out the job's latest slot
 * is run here: that very slot again, or a later one this schedule reached
 * meanwhile and could not claim. So a daily job's run (the morning call at
 * 07:30, the pruning) is not lost until the next day.
 */
export class JobScheduler {
  private readonly scheduled = new Map<string, Scheduled>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Jobs with a run going on in this process: never taken for abandoned. */
  private readonly running = new Map<string, number>();
  private readonly stopping = new AbortController();
  private readonly recoverTimer: NodeJS.Timeout | undefined;
  private recovering: Promise<void> = Promise.resolve();

  constructor(
    private readonly logger: Logger,
    private readonly claims?: JobClaims,
    options: SchedulerOptions = {},
  ) {
    if (claims && options.recoverEveryMs !== undefined) {
      this.recoverTimer = setInterval(() => void this.recoverAbandoned(), options.recoverEveryMs);
      this.recoverTimer.unref();
    }
  }

  add(name: string, expression: string, timezone: string, job: Job): void {
    const task: ScheduledTask = cron.schedule(expression, (context) => this.due(name, context.date), { name, timezone, noOverlap: true });
    this.scheduled.set(name, { job, task, lastSlot: null });
  }

  /** A job's scheduled time has come (its schedule calls this; so may a test, with the slot it means). */
  due(name: string, slot: Date): Promise<void> {
    const entry = this.scheduled.get(name);
    if (!entry) throw new Error(`no job named ${name} is scheduled`);
    entry.lastSlot = slot.getTime();
    // A run of this job is still going on here (one taken over, say): runs never overlap, so this slot is left to it.
    if (this.running.has(name)) {
      this.logger.debug({ job: name, slot: slot.toISOString() }, 'the job is still running here; this slot is skipped');
      return Promise.resolve();
    }
    return this.execute(name, entry.job, entry.task.getNextRun(), slot.getTime());
  }

  /**
   * For each scheduled job whose run an instance died in (its claim expired
   * unfinished), run the latest slot this schedule reached. The claim taken
   * for it fences the dead run out (a higher fence), and of several instances
   * looking at once one gets it.
   */
  recoverAbandoned(): Promise<void> {
    const claims = this.claims;
    if (!claims || this.stopping.signal.aborted) return this.recovering;
    this.recovering = this.recovering.then(async () => {
      let abandoned: AbandonedSlot[];
      try {
        abandoned = await claims.abandoned();
      } catch (err) {
        this.logger.warn({ err }, 'cannot look for job runs left by an instance that died');
        return;
      }
      for (const { job, slot } of abandoned) {
        const entry = this.scheduled.get(job);
        const latest = entry?.lastSlot ?? null;
        // The schedule has not reached that slot here (this instance started after it): the next slot is the schedule's.
        if (!entry || latest === null || latest < slot || this.running.has(job) || this.stopping.signal.aborted) continue;
        this.logger.warn({ job, died: new Date(slot).toISOString(), slot: new Date(latest).toISOString() }, 'an instance died in a run of this job: running its latest slot here');
        await this.execute(job, entry.job, entry.task.getNextRun(), latest);
      }
    });
    return this.recovering;
  }

  /** Run a job now, outside its schedule (at start-up, say). */
  run(name: string, job: Job): Promise<void> {
    return this.execute(name, job, null, Math.floor(Date.now() / UNSCHEDULED_SLOT_MS) * UNSCHEDULED_SLOT_MS);
  }

  private execute(name: string, job: Job, nextRun: Date | null, slot: number): Promise<void> {
    this.running.set(name, (this.running.get(name) ?? 0) + 1);
    const running = (async () => {
      let claim: JobRunClaim | null | undefined;
      try {
        claim = this.claims ? await this.claims.claim(name, slot) : undefined;
        if (claim === null) {
          this.logger.debug({ job: name, slot: new Date(slot).toISOString() }, 'another instance runs this slot of the job');
          return;
        }
        const signal = claim ? AbortSignal.any([this.stopping.signal, claim.lost]) : this.stopping.signal;
        await job({ signal, nextRun });
      } catch (err) {
        if (!this.stopping.signal.aborted) this.logger.error({ err, job: name }, 'scheduled job failed');
      } finally {
        await claim?.finish();
        const left = (this.running.get(name) ?? 1) - 1;
        if (left > 0) this.running.set(name, left);
        else this.running.delete(name);
      }
    })();
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running));
    return running;
  }

  /** Stop the schedules, tell running jobs to end, and wait for them. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('the service is stopping'));
    clearInterval(this.recoverTimer);
    for (const { task } of this.scheduled.values()) {
      await task.stop();
      await task.destroy();
    }
    this.scheduled.clear();
    await this.recovering;
    await Promise.allSettled([...this.inFlight]);
  }
}

export function isValidCron(expression: string): boolean {
  return cron.validate(expression);
}
