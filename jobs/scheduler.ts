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

/** Decides which instance runs a job's slot (its scheduled time): null means another instance has it. */
export interface JobClaims {
  claim(job: string, slot: number): Promise<JobRunClaim | null>;
}

/** A run outside the schedule (at start-up) counts for the minute it starts in. */
const UNSCHEDULED_SLOT_MS = 60_000;

/**
 * A thin layer over node-cron: jobs are plain functions (tested with any clock)
 * and this only decides when they run. A run never overlaps the previous one;
 * a failing run is logged and the schedule goes on. With `claims`, each run
 * is first claimed for its slot, so of several instances one runs it.
 */
export class JobScheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly logger: Logger,
    private readonly claims?: JobClaims,
  ) {}

  add(name: string, expression: string, timezone: string, job: Job): void {
    const task: ScheduledTask = cron.schedule(expression, (context) => this.execute(name, job, task.getNextRun(), context.date.getTime()), { name, timezone, noOverlap: true });
    this.tasks.push(task);
  }

  /** Run a job now, outside its schedule (at start-up, say). */
  run(name: string, job: Job): Promise<void> {
    return this.execute(name, job, null, Math.floor(Date.now() / UNSCHEDULED_SLOT_MS) * UNSCHEDULED_SLOT_MS);
  }

  private execute(name: string, job: Job, nextRun: Date | null, slot: number): Promise<void> {
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
      }
    })();
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running));
    return running;
  }

  /** Stop the schedules, tell running jobs to end, and wait for them. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('the service is stopping'));
    for (const task of this.tasks) {
      await task.stop();
      await task.destroy();
    }
    this.tasks.length = 0;
    await Promise.allSettled([...this.inFlight]);
  }
}

export function isValidCron(expression: string): boolean {
  return cron.validate(expression);
}
