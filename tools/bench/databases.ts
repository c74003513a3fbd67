import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { closeDatabase, closeDb, openDb } from '../../db/open.ts';
import { openPostgres } from '../../db/open-postgres.ts';
import { seedBenchFleet } from './seed.ts';

/**
 * `npm run bench:databases`: the intake on SQLite, on PostgreSQL with one
 * instance, and on PostgreSQL with two instances sharing the database, in
 * one run on one machine, with a bare HTTP server for scale. The same load
 * for each (agent reports from a separate process, `BENCH_CONNECTIONS`
 * connections for `BENCH_SECONDS`; with two instances, half the connections
 * to each), over a fleet of `BENCH_SIZE` installations. CPU per report is
 * read from /proc: the service processes' own, and PostgreSQL's server
 * processes' beside it. PostgreSQL is reached at `BENCH_DATABASE_URL`
 * (default postgres://postgres@127.0.0.1:5432/postgres), where a database
 * is made for the run and dropped after.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SIZE = Number(process.env.BENCH_SIZE ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TICK_US = 1_000_000 / 100; // USER_HZ is 100 on Linux

function spawnTs(script: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`process exited with ${code}`)));
  });
}

/** CPU time a process has used (user and system), in ticks. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU time every PostgreSQL server process has used, in ticks. */
function postgresTicks(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') total += cpuTicks(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

interface LoadResult {
  requestsPerSecond: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const runner = spawnTs('tools/bench/load.ts', [`${url}/api/v1/reports`, String(SIZE), String(seconds), String(connections)]);
  let out = '';
  runner.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => runner.once('exit', resolve));
  return JSON.parse(out) as LoadResult;
}

interface Row {
  setup: string;
  rps: number;
  p99: number;
  serviceUs: number;
  postgresUs: number;
  non2xx: number;
}

/** Start `envs.length` services, warm them, load them together, and read what they and PostgreSQL spent per report. */
async function measure(setup: string, envs: Record<string, string>[]): Promise<Row> {
  const services = envs.map((env) => spawnTs('tools/bench/service.ts', [], env));
  try {
    const urls = await Promise.all(services.map(firstLine));
    const share = Math.max(1, Math.floor(CONNECTIONS / urls.length));
    await Promise.all(urls.map((url) => load(url, share, 2)));
    const before = { services: services.map((s) => cpuTicks(s.pid!)), postgres: postgresTicks() };
    const results = await Promise.all(urls.map((url) => load(url, share, SECONDS)));
    const serviceTicks = services.reduce((sum, s, i) => sum + cpuTicks(s.pid!) - before.services[i]!, 0);
    const pgTicks = postgresTicks() - before.postgres;
    const total = results.reduce((sum, r) => sum + r.total, 0);
    return {
      setup,
      rps: Math.round(results.reduce((sum, r) => sum + r.requestsPerSecond, 0)),
      p99: Math.max(...results.map((r) => r.p99)),
      serviceUs: Math.round((serviceTicks * TICK_US) / total),
      postgresUs: Math.round((pgTicks * TICK_US) / total),
      non2xx: results.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
    };
  } finally {
    for (const s of services) s.kill('SIGTERM');
    await Promise.all(services.map((s) => new Promise((resolve) => (s.exitCode !== null ? resolve(null) : s.once('exit', resolve)))));
  }
}

async function bare(): Promise<{ rps: number; us: number }> {
  const server = spawnTs('tools/bench/bare.ts', []);
  try {
    const url = await firstLine(server);
    await load(url, CONNECTIONS, 2);
    const before = cpuTicks(server.pid!);
    const result = await load(url, CONNECTIONS, SECONDS);
    return { rps: Math.round(result.requestsPerSecond), us: Math.round(((cpuTicks(server.pid!) - before) * TICK_US) / result.total) };
  } finally {
    server.kill();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'dozor-bench-db-'));
const name = `dozor_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`create database "${name}"`);
const url = new URL(ADMIN_URL);
url.pathname = `/${name}`;
const pgUrl = url.toString();
try {
  const now = new Date();
  const sqlitePath = join(dir, 'dozor.sqlite');
  const sqlite = openDb(sqlitePath);
  await seedBenchFleet(sqlite, SIZE, now);
  closeDb(sqlite);
  const postgres = await openPostgres(pgUrl, { maxConnections: 4 });
  await seedBenchFleet(postgres, SIZE, now);
  await closeDatabase(postgres);

  const pgEnv = (instance: string) => ({ DATABASE_URL: pgUrl, SECRET_KEY: 'bench-secret-key-bench-secret-key-0123', DATA_DIR: join(dir, 'data'), INSTANCE_NAME: instance });
  const reference = await bare();
  const rows: Row[] = [];
  // Alternating, so that neither side has the machine warmer or colder.
  for (let round = 0; round < 2; round++) {
    rows.push(await measure('SQLite', [{ DATABASE_PATH: sqlitePath }]));
    rows.push(await measure('PostgreSQL, one instance', [pgEnv('bench-a')]));
    rows.push(await measure('PostgreSQL, two instances', [pgEnv('bench-a'), pgEnv('bench-b')]));
  }
  const lines = [
    `${SIZE} installations, ${CONNECTIONS} connections, ${SECONDS} s each, ${cpus().length} cores; bare server ${reference.rps} req/s at ${reference.us} µs CPU per request`,
    '',
    '| set-up | reports/s | p99 ms | service CPU per report | PostgreSQL CPU per report | not 202 |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.setup} | ${r.rps} | ${r.p99} | ${r.serviceUs} µs | ${r.setup === 'SQLite' ? '—' : `${r.postgresUs} µs`} | ${r.non2xx} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
