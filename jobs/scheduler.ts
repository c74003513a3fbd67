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

/**
 * A thin layer over node-cron: jobs are plain functions (tested with any clock)
 * and this only decides when they run. A run never overlaps the previous one;
 * a failing run is logged and the schedule goes on.
 */
export class JobScheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(private readonly logger: Logger) {}

  add(name: string, expression: string, timezone: string, job: Job): void {
    const task: ScheduledTask = cron.schedule(expression, () => this.execute(name, job, task.getNextRun()), { name, timezone, noOverlap: true });
    this.tasks.push(task);
  }

  /** Run a job now, outside its schedule (at start-up, say). */
  run(name: string, job: Job): Promise<void> {
    return this.execute(name, job, null);
  }

  private execute(name: string, job: Job, nextRun: Date | null): Promise<void> {
    const running = (async () => {
      try {
        await job({ signal: this.stopping.signal, nextRun });
      } catch (err) {
        if (!this.stopping.signal.aborted) this.logger.error({ err, job: name }, 'scheduled job failed');
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
