import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseConfig } from '../../app/config.ts';
import { createLogger } from '../../app/logger.ts';
import { startService } from '../../app/service.ts';
import { systemClock } from '../../core/clock.ts';

/**
 * The service as it runs in production, minus Telegram (announcements are
 * accepted by a delivery that does nothing), for the intake benchmark. Prints
 * its URL on the first line of stdout. With `BENCH_PROFILE` set to a file,
 * SIGUSR2 starts a CPU profile (the line `profiling` follows once it runs)
 * and SIGTERM writes it there before stopping: the profile holds the load,
 * not the start.
 */
const config = parseConfig({ ...process.env, HTTP_PORT: '0', PROBE_CRON: '0 0 1 1 *', LOG_LEVEL: 'error' });
const service = await startService(config, {
  clock: systemClock,
  logger: createLogger('error'),
  delivery: { deliver: async () => {} },
});
process.stdout.write(`${service.url}\n`);

const profileTo = process.env.BENCH_PROFILE;
let profiler: Session | undefined;
if (profileTo) {
  process.on('SIGUSR2', () => {
    profiler = new Session();
    profiler.connect();
    void profiler
      .post('Profiler.enable')
      .then(() => profiler!.post('Profiler.start'))
      .then(() => process.stdout.write('profiling\n'));
  });
}

process.on('SIGTERM', () => {
  void (async () => {
    if (profiler && profileTo) writeFileSync(profileTo, JSON.stringify((await profiler.post('Profiler.stop')).profile));
    await service.stop();
    process.exit(0);
  })();
});
