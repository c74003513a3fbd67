import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run `dozor` exactly as `npx dozor` would, against the given database file. */
export function dozor(databasePath: string, ...args: string[]): CliResult {
  return dozorWithEnv({}, databasePath, ...args);
}

/** `dozor` with more of the environment set (PUBLIC_URL, say). */
export function dozorWithEnv(env: Record<string, string>, databasePath: string, ...args: string[]): CliResult {
  const result = spawnSync(process.execPath, [`${ROOT}bin/dozor.js`, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, DATABASE_PATH: databasePath },
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
    execFile(process.execPath, [`${ROOT}bin/dozor.js`, ...args], { cwd: ROOT, env: { ...process.env, DATABASE_PATH: databasePath }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ status, stdout, stderr });
    });
  });
}
