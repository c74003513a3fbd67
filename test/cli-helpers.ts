import { execFile, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A test key for instances on PostgreSQL, which must be given one (32 characters or more). */
export const TEST_SECRET_KEY = 'dozor-tests-secret-key-0123456789abcdef';

/**
 * The environment naming a test's database: a SQLite file's path, or a
 * PostgreSQL address (the suite's PostgreSQL run), which also needs the
 * settings several instances share (SECRET_KEY, DATA_DIR).
 */
export function databaseEnv(database: string, dataDir?: string): Record<string, string> {
  if (!/^postgres(ql)?:\/\//.test(database)) return { DATABASE_PATH: database };
  return {
    DATABASE_URL: database,
    SECRET_KEY: process.env.SECRET_KEY ?? TEST_SECRET_KEY,
    DATA_DIR: dataDir ?? process.env.DATA_DIR ?? join(tmpdir(), `dozor-test-data-${process.pid}`),
  };
}

/** Run `dozor` exactly as `npx dozor` would, against the given database (a file, or a PostgreSQL address). */
export function dozor(databasePath: string, ...args: string[]): CliResult {
  return dozorWithEnv({}, databasePath, ...args);
}

/** `dozor` with more of the environment set (PUBLIC_URL, say). */
export function dozorWithEnv(env: Record<string, string>, databasePath: string, ...args: string[]): CliResult {
  const result = spawnSync(process.execPath, [`${ROOT}bin/dozor.js`, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...databaseEnv(databasePath, env.DATA_DIR), ...env },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Run a `--json` command that must succeed, and parse its one JSON document. */
export function dozorJson<T = Record<string, unknown>>(databasePath: string, ...args: string[]): T {
  const result = dozor(databasePath, ...args, '--json');
  if (result.status !== 0) throw new Error(`dozor ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** `dozor` in a child process without blocking this one (a service in this process keeps answering meanwhile). */
export function dozorAsync(databasePath: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [`${ROOT}bin/dozor.js`, ...args], { cwd: ROOT, env: { ...process.env, ...databaseEnv(databasePath) }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}
