import pg from 'pg';
import type { Logger } from 'pino';
import { isPostgres } from './dialect.ts';
import type { DB } from './open.ts';
import { poolOf } from './open-postgres.ts';

/**
 * With several instances on PostgreSQL, the one that writes to the outbox is
 * often not the one that sends it: a notification on this channel tells the
 * sender to look now rather than at its next poll. SQLite has one instance,
 * which wakes its own sender directly.
 */
const CHANNEL = 'dozor_outbox';
/** How long the listener waits before connecting again after it lost its connection. */
const RECONNECT_MS = 2_000;

/** Tell the instance sending the outbox that something was written; at most one notification in flight, the rest folded into the next. */
export function outboxNotifier(db: DB, logger: Logger): () => void {
  if (!isPostgres(db)) return () => {};
  let sending = false;
  let again = false;
  const send = () => {
    sending = true;
    again = false;
    poolOf(db)
      .query(`select pg_notify('${CHANNEL}', '')`)
      .catch((err: unknown) => logger.warn({ err }, 'cannot tell the sending instance about new outbox messages; it finds them at its next poll'))
      .finally(() => {
        sending = false;
        if (again) send();
      });
  };
  return () => {
    if (sending) again = true;
    else send();
  };
}

/**
 * Listen on a connection of its own (not the pool's) for `outboxNotifier`'s
 * notifications, calling `onSignal` for each, until the returned stop is
 * called. A lost connection is made again; meanwhile the sender's own poll
 * still finds everything.
 */
export function listenForOutbox(db: DB, onSignal: () => void, logger: Logger): () => Promise<void> {
  if (!isPostgres(db)) return async () => {};
  const options = poolOf(db).options;
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const made = new pg.Client({ connectionString: options.connectionString, connectionTimeoutMillis: options.connectionTimeoutMillis });
    made.on('notification', (message) => {
      if (message.channel === CHANNEL) onSignal();
    });
    made.on('error', (err) => {
      logger.warn({ err }, 'the outbox listener lost its connection; connecting again');
      void made.end().catch(() => undefined);
      if (client === made) client = undefined;
      schedule();
    });
    try {
      await made.connect();
      await made.query(`listen ${CHANNEL}`);
    } catch (err) {
      logger.warn({ err }, 'cannot listen for outbox notifications; trying again');
      await made.end().catch(() => undefined);
      schedule();
      return;
    }
    if (stopped) return void (await made.end().catch(() => undefined));
    client = made;
    // Whatever was written while it was not listening.
    onSignal();
  };
  const schedule = () => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, RECONNECT_MS);
    retry.unref();
  };
  void connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    const listening = client;
    client = undefined;
    await listening?.end().catch(() => undefined);
  };
}
