import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { DB } from './open.ts';

/** SQLite's own default: a checkpoint after a commit that leaves the log at this many pages. */
const AUTO_CHECKPOINT_PAGES = 1000;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Move WAL checkpoints off the connection that serves requests. By default the
 * commit that grows the log past 1,000 pages copies it into the database file
 * and fsyncs, stalling that request (and every one queued behind it) for
 * milliseconds; under steady intake that is the worst latency there is. Here a
 * thread with its own connection checkpoints every `intervalMs`, and the
 * service's connection stops checkpointing itself. If the thread fails, the
 * connection checkpoints itself again.
 */
export function startCheckpointer(db: DB, options: { intervalMs: number; logger: Logger }): Checkpointer {
  const client = db.$client;
  if (client.memory) return { stop: async () => {} };
  const worker = new Worker(new URL('./checkpoint-thread.js', import.meta.url), {
    execArgv: [],
    workerData: { path: client.name, intervalMs: options.intervalMs, busyTimeoutMs: client.pragma('busy_timeout', { simple: true }) as number },
  });
  worker.unref();
  client.pragma('wal_autocheckpoint = 0');
  let stopped = false;
  const fallBack = (reason: unknown) => {
    if (stopped) return;
    stopped = true;
    options.logger.error({ err: reason }, 'the checkpoint thread stopped; the service connection checkpoints again');
    if (client.open) client.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
  };
  worker.on('error', fallBack);
  worker.on('exit', (code) => fallBack(new Error(`exited with code ${code}`)));
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      // Referenced again while it finishes: otherwise, with everything else closed, the process would end first.
      worker.ref();
      worker.postMessage('stop');
      await exited;
      if (client.open) client.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    },
  };
}
