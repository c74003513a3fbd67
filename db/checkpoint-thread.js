// @ts-check
// The checkpoint thread (see checkpointer.ts): copies the write-ahead log back
// into the database file on a timer, on a connection of its own, so the copying
// and its fsync never stall the thread that serves requests. Plain JavaScript:
// it needs only the driver, and a worker thread would need the TypeScript loader
// registered again.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** @type {{ path: string; intervalMs: number; busyTimeoutMs: number }} */
const options = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const db = new Database(options.path, { fileMustExist: true });
db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);

const timer = setInterval(() => {
  // PASSIVE: copies what it can without waiting for, or blocking, readers and writers.
  db.pragma('wal_checkpoint(PASSIVE)');
}, options.intervalMs);

port.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  port.close();
});
