import { parseConfig } from '../../app/config.ts';
import { createLogger } from '../../app/logger.ts';
import { startService } from '../../app/service.ts';
import { systemClock } from '../../core/clock.ts';

/**
 * The service as it runs in production, minus Telegram (announcements are
 * accepted by a delivery that does nothing), for the intake benchmark. Prints
 * its URL on the first line of stdout.
 */
const config = parseConfig({ ...process.env, HTTP_PORT: '0', PROBE_CRON: '0 0 1 1 *', LOG_LEVEL: 'error' });
const service = await startService(config, {
  clock: systemClock,
  logger: createLogger('error'),
  delivery: { deliver: async () => {} },
});
process.stdout.write(`${service.url}\n`);
process.on('SIGTERM', () => void service.stop().then(() => process.exit(0)));
