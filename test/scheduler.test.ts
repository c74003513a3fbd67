import { describe, expect, it } from 'vitest';
import { JobScheduler, type JobRun } from '../jobs/scheduler.ts';
import { silentLogger } from './helpers.ts';

describe('the job scheduler', () => {
  it('tells a scheduled run when the next is due, and stops a long run at once when the service stops', async () => {
    const scheduler = new JobScheduler(silentLogger());
    let started!: (run: JobRun & { at: number }) => void;
    const run = new Promise<JobRun & { at: number }>((resolve) => (started = resolve));
    let ended = false;
    scheduler.add('long', '* * * * * *', 'UTC', async (job) => {
      started({ ...job, at: Date.now() });
      // A job that would run for an hour unless told to stop.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 3_600_000);
        job.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      ended = true;
    });
    const first = await run;
    expect(first.nextRun!.getTime()).toBeGreaterThan(first.at);
    expect(first.nextRun!.getTime() - first.at).toBeLessThanOrEqual(1_000);
    const stopping = Date.now();
    await scheduler.stop();
    expect(ended).toBe(true);
    expect(first.signal.aborted).toBe(true);
    expect(Date.now() - stopping).toBeLessThan(1_000);
  });
});
