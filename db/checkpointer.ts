import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { isPostgres } from './dialect.ts';
import type { DB } from './open.ts';

/** SQLite's own default: a checkpoint after a commit that leaves the log at this many pages. */
const AUTO_CHECKPOINT_PAGES = 1000;
/** A log grown past this is reset to nothing once copied, even while writes go on. */
const WAL_TRUNCATE_BYTES = 16 * 1024 * 1024;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Move WAL checkpoints off the connection that serves requests. By default the
 * commit that grows the log past 1,000 pages copies it into the database file
 * and fsyncs, stalling that request (and every one queued behind it) for
 * milliseconds; under steady intake that is the worst latency there is. Here a
 * thread with its own connection checkpoints every `intervalMs`, and the
 * service's connection stops checkpointing itself. A checkpoint that fails (a
 * full disk) is reported and tried again; if the thread itself stops, the
 * connection checkpoints itself until a new thread takes over.
 */
export function startCheckpointer(db: DB, options: { intervalMs: number; logger: Logger; truncateBytes?: number; restartAfterMs?: number }): Checkpointer {
  // PostgreSQL checkpoints by itself; an in-memory SQLite has no log to copy.
  if (isPostgres(db) || db.$client.memory) return { stop: async () => {} };
  const client = db.$client;
  const restartAfterMs = options.restartAfterMs ?? 10_000;
  let stopped = false;
  let worker: Worker;
  let restartTimer: NodeJS.Timeout | undefined;

  const spawn = () => {
    worker = new Worker(new URL('./checkpoint-thread.js', import.meta.url), {
      execArgv: [],
      workerData: {
        path: client.name,
        intervalMs: options.intervalMs,
        busyTimeoutMs: client.pragma('busy_timeout', { simple: true }) as number,
        truncateBytes: options.truncateBytes ?? WAL_TRUNCATE_BYTES,
      },
    });
    worker.unref();
    client.pragma('wal_autocheckpoint = 0');
    worker.on('message', (message: { type: 'failed'; code: string | null; message: string } | { type: 'recovered' }) => {
      if (message.type === 'failed') options.logger.error({ code: message.code, reason: message.message }, 'a WAL checkpoint failed; trying again every second');
      else options.logger.info('WAL checkpoints work again');
    });
    const fallBack = (reason: unknown) => {
      if (stopped) return;
      // Until the thread is back, the service's connection checkpoints itself, as SQLite does by default.
      options.logger.error({ err: reason, restartInMs: restartAfterMs }, 'the checkpoint thread stopped; the service connection checkpoints meanwhile');
      if (client.open) client.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
      clearTimeout(restartTimer);
      restartTimer = setTimeout(() => {
        if (!stopped && client.open) spawn();
      }, restartAfterMs);
      restartTimer.unref();
    };
    worker.once('error', fallBack);
    worker.once('exit', (code) => fallBack(new Error(`exited with code ${code}`)));
  };
  spawn();

  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(restartTimer);
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      // Referenced again while it finishes: otherwise, with everything else closed, the process would end first.
      worker.ref();
      worker.postMessage('stop');
      await exited;
      if (client.open) client.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    },
  };
}
