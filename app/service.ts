import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.ts';
import { closeDb, openDb, type DB } from '../db/open.ts';
import { buildIntakeServer } from '../intake/server.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export interface Service {
  db: DB;
  http: FastifyInstance;
  /** The address the HTTP server listens on (with the real port when 0 was asked for). */
  url: string;
  stop(): Promise<void>;
}

/** Open the database, start the intake server. Stopping reverses it: no new requests, in-flight ones end, the database closes. */
export async function startService(config: Config, deps: { clock: Clock; logger: Logger }): Promise<Service> {
  const db = openDb(config.DATABASE_PATH);
  const http = buildIntakeServer({ db, clock: deps.clock, logger: deps.logger });
  let url: string;
  try {
    url = await http.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  } catch (err) {
    closeDb(db);
    throw err;
  }
  deps.logger.info({ url, database: config.DATABASE_PATH }, 'dozor is running');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await http.close();
      closeDb(db);
      deps.logger.info('dozor stopped');
    })());
  return { db, http, url, stop };
}
