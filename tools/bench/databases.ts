import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Transformer } from 'grammy';
import type { Update } from 'grammy/types';
import { sql } from 'drizzle-orm';
import { createLogger } from '../../app/logger.ts';
import { createBot } from '../../bot/bot.ts';
import { buildDigest } from '../../bot/digest.ts';
import { closeDatabase, closeDb, openDb, type DB } from '../../db/open.ts';
import { openPostgres } from '../../db/open-postgres.ts';
import { rawRun } from '../../db/query.ts';
import { getUser } from '../../db/users.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../../incidents/settings.ts';
import { runSweep } from '../../jobs/sweep.ts';
import { cpuTicks, postgresTicks, TICK_US } from './proc.ts';
import { loadReports, nextLine, spawnTs, type LoadResult } from './processes.ts';
import { seedBenchFleet } from './seed.ts';
import { measureWebPages } from './web.ts';

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
 * is made for the run and dropped after. Then, on each database as the
 * intake left it: a sweep with every installation due, `/status` through the
 * bot's handler, a team lead's digest and the cabinet's pages (with two
 * instances these run on one of them, once: the same figures).
 */
const SIZE = Number(process.env.BENCH_SIZE ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const load = (url: string, connections: number, seconds: number): Promise<LoadResult> => loadReports(url, SIZE, seconds, connections);

interface Row {
  setup: string;
  rps: number;
  p99: number;
  serviceUs: number;
  postgresUs: number;
  non2xx: number;
  /** Transactions PostgreSQL committed and rolled back meanwhile (a rollback is mostly a serialization failure run again). */
  commits: number | null;
  rollbacks: number | null;
}

/** The bench database's transaction counters (pg_stat_database lags a little behind; read after the load settles). */
async function transactionCounts(): Promise<{ commits: number; rollbacks: number }> {
  await admin.query('select pg_stat_clear_snapshot()');
  const { rows } = await admin.query<{ commits: string; rollbacks: string }>('select xact_commit as commits, xact_rollback as rollbacks from pg_stat_database where datname = $1', [name]);
  return { commits: Number(rows[0]!.commits), rollbacks: Number(rows[0]!.rollbacks) };
}

/** Start `envs.length` services, warm them, load them together, and read what they and PostgreSQL spent per report. */
async function measure(setup: string, envs: Record<string, string>[]): Promise<Row> {
  const services = envs.map((env) => spawnTs('tools/bench/service.ts', env));
  try {
    const urls = await Promise.all(services.map(nextLine));
    const share = Math.max(1, Math.floor(CONNECTIONS / urls.length));
    await Promise.all(urls.map((url) => load(url, share, 2)));
    const onPostgres = envs.some((env) => env.DATABASE_URL !== undefined);
    const countsBefore = onPostgres ? await transactionCounts() : null;
    const before = { services: services.map((s) => cpuTicks(s.pid!)), postgres: postgresTicks() };
    const results = await Promise.all(urls.map((url) => load(url, share, SECONDS)));
    const serviceTicks = services.reduce((sum, s, i) => sum + cpuTicks(s.pid!) - before.services[i]!, 0);
    const pgTicks = postgresTicks() - before.postgres;
    const total = results.reduce((sum, r) => sum + r.total, 0);
    const countsAfter = countsBefore ? await transactionCounts() : null;
    return {
      setup,
      rps: Math.round(results.reduce((sum, r) => sum + r.requestsPerSecond, 0)),
      p99: Math.max(...results.map((r) => r.p99)),
      serviceUs: Math.round((serviceTicks * TICK_US) / total),
      postgresUs: Math.round((pgTicks * TICK_US) / total),
      non2xx: results.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
      commits: countsBefore && countsAfter ? countsAfter.commits - countsBefore.commits : null,
      rollbacks: countsBefore && countsAfter ? countsAfter.rollbacks - countsBefore.rollbacks : null,
    };
  } finally {
    for (const s of services) s.kill('SIGTERM');
    await Promise.all(services.map((s) => new Promise((resolve) => (s.exitCode !== null ? resolve(null) : s.once('exit', resolve)))));
  }
}

async function bare(): Promise<{ rps: number; us: number }> {
  const server = spawnTs('tools/bench/bare.ts');
  try {
    const url = await nextLine(server);
    await load(url, CONNECTIONS, 2);
    const before = cpuTicks(server.pid!);
    const result = await load(url, CONNECTIONS, SECONDS);
    return { rps: Math.round(result.requestsPerSecond), us: Math.round(((cpuTicks(server.pid!) - before) * TICK_US) / result.total) };
  } finally {
    server.kill();
  }
}

/** Milliseconds `run` takes, the median of `times` runs after one to warm up. */
async function median(run: () => Promise<unknown>, times: number): Promise<number> {
  await run();
  const runs: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await run();
    runs.push(performance.now() - started);
  }
  return Math.round(runs.sort((a, b) => a - b)[Math.floor(times / 2)]! * 10) / 10;
}

/** The all-due sweep, /status and a lead's digest on `db`, in milliseconds. */
async function readsAndSweep(db: DB): Promise<{ sweepMs: number; statusMs: number; digestMs: number }> {
  const sweepMs = await median(async () => {
    await rawRun(db, sql`update check_schedule set due_at = ${Date.now()}`);
    await runSweep({ db, settings: DEFAULT_INCIDENT_SETTINGS }, new Date());
  }, 3);
  const recorder: Transformer = async () => ({ ok: true, result: { message_id: 1, date: 0, chat: { id: 1, type: 'private' } } }) as never;
  const settings = { displayTz: 'Europe/Moscow', runbookBaseUrl: null, morningHour: 9, defaultQuietHours: { from: 0, to: 0 }, digest: { tz: 'Europe/Moscow', salesMinDays: 3 } };
  const bot = createBot('1:bench', { db, clock: () => new Date(), logger: createLogger('silent'), settings, incidentSettings: DEFAULT_INCIDENT_SETTINGS, onIncidentChange: () => {} }, {
    botInfo: { id: 1, is_bot: true, first_name: 'b', username: 'b' } as never,
    transformers: [recorder],
  });
  let updateId = 1;
  const statusMs = await median(
    () =>
      bot.handleUpdate({
        update_id: updateId++,
        message: { message_id: 1, date: 0, chat: { id: 10_000, type: 'private', first_name: 'm' }, from: { id: 10_000, is_bot: false, first_name: 'm' }, text: `/status Клиент ${Math.ceil(SIZE / 3)}`, entities: [{ type: 'bot_command', offset: 0, length: 7 }] },
      } as Update),
    21,
  );
  const lead = (await getUser(db, 100))!;
  const digestMs = await median(() => buildDigest(db, lead, new Date(), { tz: 'Europe/Moscow', salesMinDays: 3 }), 3);
  return { sweepMs, statusMs, digestMs };
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
    '| set-up | reports/s | p99 ms | service CPU per report | PostgreSQL CPU per report | not 202 | transactions (rolled back) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.setup} | ${r.rps} | ${r.p99} | ${r.serviceUs} µs | ${r.setup === 'SQLite' ? '—' : `${r.postgresUs} µs`} | ${r.non2xx} | ${r.commits === null ? '—' : `${r.commits} (${r.rollbacks})`} |`,
    ),
  ];
  const onSqlite = openDb(sqlitePath);
  const sqliteReads = await readsAndSweep(onSqlite);
  closeDb(onSqlite);
  const onPostgres = await openPostgres(pgUrl, { maxConnections: 10 });
  const postgresReads = await readsAndSweep(onPostgres);
  await closeDatabase(onPostgres);
  lines.push(
    '',
    '| database | sweep, all due ms | /status ms | digest ms (a lead\'s installations) |',
    '|---|---:|---:|---:|',
    `| SQLite | ${sqliteReads.sweepMs} | ${sqliteReads.statusMs} | ${sqliteReads.digestMs} |`,
    `| PostgreSQL | ${postgresReads.sweepMs} | ${postgresReads.statusMs} | ${postgresReads.digestMs} |`,
  );
  // The cabinet's pages, server time (tools/bench/web.ts), on each database as the intake left it.
  const pages: Record<string, Record<string, number>> = {};
  const webSqlite = openDb(sqlitePath);
  pages.SQLite = await measureWebPages(webSqlite, SIZE);
  closeDb(webSqlite);
  const webPostgres = await openPostgres(pgUrl, { maxConnections: 10 });
  pages.PostgreSQL = await measureWebPages(webPostgres, SIZE);
  await closeDatabase(webPostgres);
  lines.push(
    '',
    '| database | fleet page ms | its CSV ms | a search ms | incidents page ms | with 12,000 open ms |',
    '|---|---:|---:|---:|---:|---:|',
    ...Object.entries(pages).map(([database, p]) => `| ${database} | ${p.fleetPageMs} | ${p.fleetCsvMs} | ${p.fleetSearchMs} | ${p.incidentsPageMs} | ${p.stormIncidentsPageMs} |`),
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
