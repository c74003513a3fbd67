import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { systemClock } from '../core/clock.ts';
import { join } from 'node:path';
import { closeDatabase, closeDb, openDb, type DB } from '../db/open.ts';
import { openPostgres } from '../db/open-postgres.ts';
import { databaseEnv, ROOT } from './cli-helpers.ts';
import { freshPgDatabase, onPostgres } from './pg-helpers.ts';
import { seedFleet } from './helpers.ts';

export interface ServiceProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Everything the process logged so far (JSON lines). */
  log: string[];
  /** Everything the process wrote on stderr so far. */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Start the service exactly as `npm start` does, and wait until it says where it listens. */
export function startServiceProcess(env: Record<string, string>, timeoutMs = 20_000): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
    cwd: ROOT,
    // The morning call and a digest missed at start-up depend on the real time of day: off unless a test asks for them.
    // The machine running the tests may have less free disk than the reserve a real server keeps for reports.
    // One INSTANCE_NAME across restarts, as an operator sets it: a restarted process takes its roles back at once.
    env: { ...process.env, HTTP_PORT: '0', LOG_LEVEL: 'info', WAKE_AT: 'off', DIGEST_MAX_DELAY: '1s', UPLOAD_MIN_FREE: '1', INSTANCE_NAME: 'dozor-test', ...env },
  });
  const log: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': the last lines the process wrote are read by then.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start in time: ${stderr}\n${log.join('\n')}`)), timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code}: ${stderr}\n${log.join("\n")}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.push(line);
      let entry: { msg?: string; url?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.msg === 'dozor is running' && entry.url) {
        clearTimeout(timer);
        resolve({
          child,
          url: entry.url,
          log,
          stderr: () => stderr,
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
  });
}

/** A database file with the usual fleet, closed again for a process to open: the agent's token. */
export async function seedDatabaseFile(path: string): Promise<string> {
  const db = openDb(path);
  try {
    return (await seedFleet({ db, clock: systemClock, actor: 'test' })).token;
  } finally {
    closeDb(db);
  }
}

/** A database for service processes: where it is (as environment), the usual fleet seeded into it (the agent's token), and its removal. */
export interface ServiceDatabase {
  env: Record<string, string>;
  /** The SQLite file, or the PostgreSQL address. */
  target: string;
  seed(): Promise<string>;
  /** A handle of the test's own on it (close it with closeDatabase). */
  open(): Promise<DB>;
  drop(): Promise<void>;
}

/**
 * A SQLite file in `dir`, or in the suite's PostgreSQL run a new migrated
 * PostgreSQL database (with the SECRET_KEY and DATA_DIR instances on it need).
 */
export async function serviceDatabase(dir: string): Promise<ServiceDatabase> {
  if (!onPostgres()) {
    const path = join(dir, 'dozor.sqlite');
    return { env: databaseEnv(path), target: path, seed: () => seedDatabaseFile(path), open: async () => openDb(path), drop: async () => {} };
  }
  const database = await freshPgDatabase('p', { migrated: true });
  return {
    env: databaseEnv(database.url, join(dir, 'data')),
    target: database.url,
    seed: async () => {
      const db = await openPostgres(database.url, { maxConnections: 2 });
      try {
        return (await seedFleet({ db, clock: systemClock, actor: 'test' })).token;
      } finally {
        await closeDatabase(db);
      }
    },
    open: () => openPostgres(database.url, { maxConnections: 2 }),
    drop: () => database.drop(),
  };
}
