import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.ts';
import { closeDb, openDb, type DB } from '../db/open.ts';
import { Dispatcher, type Delivery } from '../delivery/dispatcher.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { buildIntakeServer } from '../intake/server.ts';
import { JobScheduler } from '../jobs/scheduler.ts';
import { runSweep } from '../jobs/sweep.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export interface Service {
  db: DB;
  http: FastifyInstance;
  /** The address the HTTP server listens on (with the real port when 0 was asked for). */
  url: string;
  dispatcher: Dispatcher | undefined;
  stop(): Promise<void>;
}

export interface ServiceDeps {
  clock: Clock;
  logger: Logger;
  /** Where announcements go; without one they wait in the outbox. */
  delivery?: Delivery;
}

/**
 * Open the database, start the intake server, the scheduled checks and the
 * outbox dispatcher. Stopping reverses it: no new requests, scheduled and
 * in-flight work ends, the database closes.
 */
export async function startService(config: Config, deps: ServiceDeps): Promise<Service> {
  const { clock, logger } = deps;
  const db = openDb(config.DATABASE_PATH);
  const settings: IncidentSettings = { remindEveryMs: config.REMIND_EVERY, escalateAfterMs: config.ESCALATE_AFTER };
  const dispatcher = deps.delivery ? new Dispatcher({ db, delivery: deps.delivery, clock, logger }) : undefined;
  const wakeDispatcher = () => dispatcher?.wake();

  const http = buildIntakeServer({ db, clock, logger, settings, onIncidentChange: wakeDispatcher });
  const scheduler = new JobScheduler(logger);
  const sweep = () => {
    const summary = runSweep({ db, settings }, clock());
    logger.debug({ summary }, 'sweep done');
    if (summary.opened + summary.resolved + summary.announced + summary.reminded + summary.escalated > 0) wakeDispatcher();
  };

  let url: string;
  try {
    url = await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  } catch (err) {
    closeDb(db);
    throw err;
  }
  await scheduler.run('sweep', sweep);
  scheduler.add('sweep', config.CHECK_CRON, config.DISPLAY_TZ, sweep);
  if (dispatcher) dispatcher.start();
  else logger.warn('no delivery channel configured: announcements wait in the outbox');
  logger.info({ url, database: config.DATABASE_PATH }, 'dozor is running');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await http.close();
      await scheduler.stop();
      await dispatcher?.stop();
      closeDb(db);
      logger.info('dozor stopped');
    })());
  return { db, http, url, dispatcher, stop };
}
