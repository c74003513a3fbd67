import { systemClock } from '../core/clock.ts';
import { ConfigError, databasePassword, loadEnv, MISSING_BOT_TOKEN, parseConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startService } from './service.ts';
import { SqliteFileInUse } from '../db/service-lock.ts';

let config;
try {
  config = parseConfig(loadEnv());
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`dozor: ${err.message}\nSee README.md, section "Configuration".\n`);
  process.exit(1);
}

if (!config.BOT_TOKEN) {
  process.stderr.write(`dozor: ${MISSING_BOT_TOKEN}\nSee README.md, section "Configuration".\n`);
  process.exit(1);
}

const logger = createLogger(
  config.LOG_LEVEL,
  undefined,
  [config.BOT_TOKEN, config.METRICS_TOKEN, config.ALERTMANAGER_TOKEN, config.WEBHOOK_SECRET, config.SECRET_KEY, databasePassword(config.DATABASE_URL)].filter(
    (s): s is string => s !== undefined && s !== '',
  ),
);
const service = await startService(config, { clock: systemClock, logger }).catch((err: unknown) => {
  // Another service on the same SQLite file: said in one line, like a configuration error.
  if (err instanceof SqliteFileInUse) process.stderr.write(`dozor: ${err.message}\n`);
  logger.fatal({ err }, 'dozor could not start');
  process.exit(1);
});

/** However the stop goes, the process is gone this long after the signal: nothing waits on Telegram or a stuck job for ever. */
const STOP_DEADLINE_MS = 9_000;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      logger.error({ afterMs: STOP_DEADLINE_MS }, 'stopping took too long; exiting now (everything stored is safe, the outbox is kept)');
      logger.flush(() => process.exit(1));
    }, STOP_DEADLINE_MS);
    deadline.unref();
    // The log is flushed before exiting, so its last lines ("dozor stopped") are not lost.
    service.stop().then(
      () => logger.flush(() => process.exit(0)),
      (err: unknown) => {
        logger.error({ err }, 'unclean stop');
        logger.flush(() => process.exit(1));
      },
    );
  });
}
