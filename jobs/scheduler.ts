import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';

/**
 * A thin layer over node-cron: jobs are plain functions (tested with any clock)
 * and this only decides when they run. A run never overlaps the previous one;
 * a failing run is logged and the schedule goes on.
 */
export class JobScheduler {
  private readonly tasks: ScheduledTask[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  add(name: string, expression: string, timezone: string, job: () => unknown): void {
    const task = cron.schedule(expression, () => this.run(name, job), { name, timezone, noOverlap: true });
    this.tasks.push(task);
  }

  /** Run a job now, outside its schedule (at start-up, say). */
  run(name: string, job: () => unknown): Promise<void> {
    const running = (async () => {
      try {
        await job();
      } catch (err) {
        this.logger.error({ err, job: name }, 'scheduled job failed');
      }
    })();
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running));
    return running;
  }

  /** Stop the schedules and wait for runs in progress. */
  async stop(): Promise<void> {
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
