// @ts-check
// The checkpoint thread (see checkpointer.ts): copies the write-ahead log back
// into the database file on a timer, on a connection of its own, so the copying
// and its fsync never stall the thread that serves requests. Plain JavaScript:
// it needs only the driver, and a worker thread would need the TypeScript loader
// registered again.
//
// It never dies of a failed checkpoint (a full disk, say): it reports the error
// and tries again at the next tick. Each tick copies what it can without
// blocking anyone (PASSIVE); when the log has grown past `truncateBytes`, or
// everything in it is already copied (the service is idle), it also resets the
// log to nothing (TRUNCATE), so the log stays small under steady load too.
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** @type {{ path: string; intervalMs: number; busyTimeoutMs: number; truncateBytes: number }} */
const options = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const db = new Database(options.path, { fileMustExist: true });
// A TRUNCATE waits for the writer to finish its transaction; never long, or requests would queue behind it.
db.pragma(`busy_timeout = ${Math.min(options.busyTimeoutMs, 200)}`);

const walPath = `${options.path}-wal`;
const walSize = () => {
  try {
    return statSync(walPath).size;
  } catch {
    return 0;
  }
};

let failing = false;
const tick = () => {
  try {
    const [result] = /** @type {{ busy: number; log: number; checkpointed: number }[]} */ (db.pragma('wal_checkpoint(PASSIVE)'));
    const allCopied = result !== undefined && result.log > 0 && result.checkpointed === result.log;
    if (allCopied || walSize() > options.truncateBytes) db.pragma('wal_checkpoint(TRUNCATE)');
    if (failing) port.postMessage({ type: 'recovered' });
    failing = false;
  } catch (err) {
    // Reported once per spell of failures; the next tick tries again.
    if (!failing) port.postMessage({ type: 'failed', code: /** @type {{ code?: string }} */ (err).code ?? null, message: String(/** @type {Error} */ (err).message ?? err) });
    failing = true;
  }
};
const timer = setInterval(tick, options.intervalMs);

port.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  port.close();
});
