import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The checkout the benchmark runs from. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A TypeScript program of a checkout (this one by default) in a process of its own, its stdout readable by line. */
export function spawnTs(script: string, env: Record<string, string> = {}, cwd = ROOT): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(cwd, script)], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
}

const stdoutLines = new WeakMap<ChildProcess, AsyncIterator<string>>();

/** The next line a child prints on stdout (its URL first); it failing to print one is an error. */
export async function nextLine(child: ChildProcess): Promise<string> {
  let lines = stdoutLines.get(child);
  if (!lines) {
    lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    stdoutLines.set(child, lines);
  }
  const next = await lines.next();
  if (next.done) throw new Error(`process exited with ${child.exitCode}`);
  return next.value;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Agent reports posted to `url` by tools/bench/load.ts in a process of its own, rotating over `tokens` installations. */
export async function loadReports(url: string, tokens: number, seconds: number, connections: number): Promise<LoadResult> {
  const runner = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/bench/load.ts'), `${url}/api/v1/reports`, String(tokens), String(seconds), String(connections)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  runner.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => runner.once('exit', resolve));
  return JSON.parse(out) as LoadResult;
}
