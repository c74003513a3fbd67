import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './cli-helpers.ts';
import { tempDir } from './helpers.ts';

/** Start the service the way `npm start` does and wait for it to say where it listens. */
function startProcess(env: Record<string, string>): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, HTTP_PORT: '0', ...env },
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`service exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'dozor is running' && entry.url) resolve({ child, url: entry.url });
    });
  });
}

describe('the service process', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('creates and migrates its database, answers /healthz and stops cleanly on SIGTERM', async () => {
    const database = join(dir.path, 'nested', 'dozor.sqlite');
    const { child, url } = await startProcess({ DATABASE_PATH: database });
    expect(existsSync(database)).toBe(true);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses to start on invalid configuration, naming the variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, HTTP_PORT: 'eighty' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/HTTP_PORT: expected a port number/);
  });
});
