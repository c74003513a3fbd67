import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transformer } from 'grammy';
import type { Update } from 'grammy/types';
import { createBot } from '../../bot/bot.ts';
import { closeDb, openDb } from '../../db/open.ts';
import { getUser } from '../../db/users.ts';
import { buildDigest } from '../../bot/digest.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../../incidents/settings.ts';
import { pruneReports } from '../../jobs/prune-reports.ts';
import { runSweep, runSweepYielding } from '../../jobs/sweep.ts';
import { parseReport } from '../../intake/parse-report.ts';
import { importCsv } from '../../registry/import-csv.ts';
import { createLogger } from '../../app/logger.ts';
import { LEADS, MANAGERS_PER_LEAD, seedBenchFleet, seedReportHistory } from './seed.ts';
import { benchHostileUploads, benchUploads, writeBenchMapping } from './uploads.ts';
import { benchWebPages } from './web.ts';
import { benchWebhook } from './webhook.ts';
import { cpuTicks, microsecondsPerRequest, summariseCpuProfile } from './proc.ts';
import { loadReports, nextLine, ROOT, spawnTs } from './processes.ts';

/**
 * `npm run bench`: intake throughput and latency through the real HTTP server
 * (load from a separate process, against a bare endpoint of the same
 * framework, and against the floor: the least any intake does per report),
 * the checks sweep, /status, the digest and the service's memory,
 * for fleets of 1,000, 10,000 and 100,000 installations; the browser
 * cabinet's pages at 10,000 and 100,000; then the command
 * line, uploads of a 20 MB sysinfo archive (one, and ten at once), an
 * Alertmanager webhook of 10,000 alerts, hostile
 * reports, a CSV import, the database size per million stored reports and
 * the pruning of old history.
 */
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const TARGETS = { intakeRps: 5000, intakeP99Ms: 20, intakeRatio: 0.4, sweepMs: 500, sweepStallMs: 100, statusMs: 10, digestMs: 200, rssMb: 250, cliMs: 500, parseMs: 50, importMs: 10_000, importLockMs: 2_000, uploadRssMb: 300, fleetPageMs: 300 };

const firstLine = nextLine;
const load = (url: string, tokens: number, seconds: number) => loadReports(url, tokens, seconds, CONNECTIONS);

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

function time<T>(run: () => T, repeat = 1): { ms: number; result: T } {
  let result!: T;
  const started = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) result = run();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6 / repeat, result };
}

async function timeOnce(run: () => Promise<unknown>): Promise<{ ms: number }> {
  const started = process.hrtime.bigint();
  await run();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

/** How long one awaited run takes, and what it gave. */
async function timeResult<T>(run: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const started = process.hrtime.bigint();
  const result = await run();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
}

async function timeAsync(run: () => Promise<unknown>, repeat: number): Promise<number> {
  await run();
  const started = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) await run();
  return Number(process.hrtime.bigint() - started) / 1e6 / repeat;
}

/**
 * How long `run` takes, and the longest the event loop went without a turn meanwhile: a ticker
 * notes every turn, so a request arriving at the worst moment waits at most that long.
 */
async function longestStall(run: () => Promise<unknown>): Promise<{ ms: number; longestMs: number }> {
  let last = performance.now();
  let longest = 0;
  let ticking = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  await new Promise((resolve) => setImmediate(resolve));
  const started = performance.now();
  await run();
  ticking = false;
  longest = Math.max(longest, performance.now() - last);
  return { ms: Math.round(performance.now() - started), longestMs: Number(longest.toFixed(1)) };
}

const results: Record<string, unknown>[] = [];
const startedAt = Date.now();

// The yardstick: the same framework doing nothing.
const bare = spawnTs('tools/bench/bare.ts');
const bareUrl = await firstLine(bare);
await load(bareUrl, 1, 2);
const bareTicks = cpuTicks(bare.pid!);
const bareResult = await load(bareUrl, 1, LOAD_SECONDS);
const bareCpuUs = microsecondsPerRequest(cpuTicks(bare.pid!) - bareTicks, bareResult.total);
bare.kill();
process.stdout.write(`bare endpoint: ${Math.round(bareResult.requestsPerSecond)} req/s, p99 ${bareResult.p99} ms, ${bareCpuUs} µs CPU per request\n`);

// Issue #31's yardstick: Node's own HTTP server reading the body, CPU per request from /proc.
const bareNode = spawnTs('tools/bench/bare-node.ts');
const bareNodeUrl = await firstLine(bareNode);
await load(bareNodeUrl, 1, 2);
const bareNodeTicks = cpuTicks(bareNode.pid!);
const bareNodeResult = await load(bareNodeUrl, 1, LOAD_SECONDS);
const bareNodeCpuUs = microsecondsPerRequest(cpuTicks(bareNode.pid!) - bareNodeTicks, bareNodeResult.total);
bareNode.kill();
process.stdout.write(`node:http reading the body: ${Math.round(bareNodeResult.requestsPerSecond)} req/s, ${bareNodeCpuUs} µs CPU per request\n`);

// The floor: the least an intake keeping the agents' contract does per report (token, XML, one stored row).
const floorDir = mkdtempSync(join(tmpdir(), 'dozor-bench-floor-'));
const floorDb = openDb(join(floorDir, 'floor.sqlite'));
await seedBenchFleet(floorDb, 1000, new Date());
closeDb(floorDb);
const floor = spawnTs('tools/bench/floor.ts', { DATABASE_PATH: join(floorDir, 'floor.sqlite') });
const floorUrl = await firstLine(floor);
await load(floorUrl, 1000, 2);
const floorTicks = cpuTicks(floor.pid!);
const floorResult = await load(floorUrl, 1000, LOAD_SECONDS);
const floorCpuUs = microsecondsPerRequest(cpuTicks(floor.pid!) - floorTicks, floorResult.total);
floor.kill();
await new Promise((resolve) => floor.once('exit', resolve));
rmSync(floorDir, { recursive: true, force: true });
const floorRatio = Number((floorResult.requestsPerSecond / bareResult.requestsPerSecond).toFixed(2));
process.stdout.write(`floor (token, XML, one stored row): ${Math.round(floorResult.requestsPerSecond)} req/s, ${floorRatio} of bare, ${floorCpuUs} µs CPU per report\n`);

for (const size of SIZES) {
  const dir = mkdtempSync(join(tmpdir(), 'dozor-bench-'));
  const database = join(dir, 'bench.sqlite');
  const now = new Date();
  const seedDb = openDb(database);
  const seeding = time(() => seedBenchFleet(seedDb, size, now));
  closeDb(seedDb);

  const service = spawnTs('tools/bench/service.ts', { DATABASE_PATH: database });
  const url = await firstLine(service);
  const tokens = Math.min(size, 5000);
  await load(url, tokens, 2); // warm-up
  // The write-ahead log's size, sampled through the run: it must stay bounded under steady load.
  let walPeak = 0;
  const walSampler = setInterval(() => {
    try {
      walPeak = Math.max(walPeak, statSync(`${database}-wal`).size);
    } catch {
      // No log at this instant (just truncated).
    }
  }, 100);
  const serviceTicks = cpuTicks(service.pid!);
  const intake = await load(url, tokens, LOAD_SECONDS);
  const serviceCpuUs = microsecondsPerRequest(cpuTicks(service.pid!) - serviceTicks, intake.total);
  clearInterval(walSampler);
  const rss = rssMb(service.pid!);
  service.kill('SIGTERM');
  await new Promise((resolve) => service.once('exit', resolve));

  const db = openDb(database);
  // A sweep where every installation is due: the worst case. The first one warms this process up (the
  // service has already opened the silent 1%'s incidents while it ran); the median of the three that
  // follow is the figure (one run can catch the machine busy flushing what the service wrote).
  const allDue = async () => {
    db.$client.prepare('UPDATE check_schedule SET due_at = ?').run(Date.now());
    return timeResult(() => runSweep({ db, settings: DEFAULT_INCIDENT_SETTINGS }, new Date()));
  };
  const firstSweep = await allDue();
  const sweeps = [await allDue(), await allDue(), await allDue()].sort((a, b) => a.ms - b.ms);
  const sweep = sweeps[1]!;
  const idleSweep = { ms: await timeAsync(() => runSweep({ db, settings: DEFAULT_INCIDENT_SETTINGS }, new Date()), 5) };
  // The all-due sweep as the service runs it, giving the event loop a turn between batches: the longest the
  // loop is held is the longest an agent's report waits behind the sweep.
  db.$client.prepare('UPDATE check_schedule SET due_at = ?').run(Date.now());
  const { ms: yielding, longestMs: longestStallMs } = await longestStall(() => runSweepYielding({ db, settings: DEFAULT_INCIDENT_SETTINGS }, new Date()));

  // /status through the bot's handler, no network: the API is a recorder.
  const recorder: Transformer = async () => ({ ok: true, result: { message_id: 1, date: 0, chat: { id: 1, type: 'private' } } }) as never;
  const bot = createBot('1:bench', { db, clock: () => new Date(), logger: createLogger('silent'), settings: { displayTz: 'Europe/Moscow', runbookBaseUrl: null, morningHour: 9, defaultQuietHours: { from: 0, to: 0 }, digest: { tz: 'Europe/Moscow', salesMinDays: 3 } }, incidentSettings: DEFAULT_INCIDENT_SETTINGS, onIncidentChange: () => {} }, {
    botInfo: { id: 1, is_bot: true, first_name: 'b', username: 'b' } as never,
    transformers: [recorder],
  });
  let updateId = 1;
  const clientName = `Клиент ${Math.ceil(size / 3)}`;
  const status = await timeAsync(
    () =>
      bot.handleUpdate({
        update_id: updateId++,
        message: { message_id: 1, date: 0, chat: { id: 10_000, type: 'private', first_name: 'm' }, from: { id: 10_000, is_bot: false, first_name: 'm' }, text: `/status ${clientName}`, entities: [{ type: 'bot_command', offset: 0, length: 7 }] },
      } as Update),
    50,
  );

  const lead = (await getUser(db, 100))!;
  const leadInstallations = Math.round(size / LEADS);
  // The mean of three runs, each awaited.
  const digestRuns = await timeOnce(async () => {
    for (let i = 0; i < 3; i++) await buildDigest(db, lead, new Date(), { tz: 'Europe/Moscow', salesMinDays: 3 });
  });
  const digest = { ms: digestRuns.ms / 3 };
  closeDb(db);
  rmSync(dir, { recursive: true, force: true });

  const row = {
    installations: size,
    seedMs: Math.round(seeding.ms),
    intakeRps: Math.round(intake.requestsPerSecond),
    intakeP50Ms: intake.p50,
    intakeP99Ms: intake.p99,
    intakeNon2xx: intake.non2xx,
    intakeErrors: intake.errors + intake.timeouts,
    bareRps: Math.round(bareResult.requestsPerSecond),
    intakeRatio: Number((intake.requestsPerSecond / bareResult.requestsPerSecond).toFixed(2)),
    intakeCpuUs: serviceCpuUs,
    intakeCpuRatio: Number((serviceCpuUs / Math.max(1, bareNodeCpuUs)).toFixed(1)),
    sweepAllDueMs: Math.round(sweep.ms),
    sweepAllDueRunsMs: sweeps.map((s) => Math.round(s.ms)),
    firstSweepMs: Math.round(firstSweep.ms),
    firstSweepOpened: firstSweep.result.opened,
    sweepChecked: sweep.result.checked,
    sweepIdleMs: Number(idleSweep.ms.toFixed(2)),
    sweepYieldingMs: yielding,
    sweepLongestStallMs: longestStallMs,
    statusMs: Number(status.toFixed(2)),
    digestMs: Number(digest.ms.toFixed(1)),
    digestLeadInstallations: leadInstallations,
    serviceRssMb: Math.round(rss),
    walPeakMb: Number((walPeak / 1024 / 1024).toFixed(1)),
  };
  results.push(row);
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

// Where the intake's CPU goes: a CPU profile of the service over one load on the smallest fleet (the start and
// the warm-up left out), summed by function.
const profileSize = Math.min(...SIZES);
const profileDir = mkdtempSync(join(tmpdir(), 'dozor-bench-profile-'));
const profileDb = openDb(join(profileDir, 'bench.sqlite'));
await seedBenchFleet(profileDb, profileSize, new Date());
closeDb(profileDb);
const profiled = spawnTs('tools/bench/service.ts', { DATABASE_PATH: join(profileDir, 'bench.sqlite'), BENCH_PROFILE: join(profileDir, 'intake.cpuprofile') });
const profiledUrl = await firstLine(profiled);
await load(profiledUrl, Math.min(profileSize, 5000), 2);
profiled.kill('SIGUSR2');
await nextLine(profiled);
await load(profiledUrl, Math.min(profileSize, 5000), LOAD_SECONDS);
profiled.kill('SIGTERM');
await new Promise((resolve) => profiled.once('exit', resolve));
const intakeProfile = { installations: profileSize, ...summariseCpuProfile(join(profileDir, 'intake.cpuprofile'), ROOT) };
rmSync(profileDir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ intakeProfile })}\n`);

// The cabinet's pages (server time, no network) on fleets of 10,000 and 100,000; the fleet page's target is at 10,000.
const WEB_SIZES = (process.env.BENCH_WEB_SIZES ?? '10000,100000').split(',').map(Number);
const webPages: Record<string, number>[] = [];
for (const size of WEB_SIZES) {
  const row = await benchWebPages(size);
  webPages.push(row);
  process.stdout.write(`${JSON.stringify({ webPages: row })}\n`);
}

// The command line on a fleet of 1,000: `dozor user list --json` as `npx dozor` runs it (the bin script under
// node), after one run that builds the tool's cache; the median of five.
const cliDir = mkdtempSync(join(tmpdir(), 'dozor-bench-cli-'));
const cliDatabase = join(cliDir, 'cli.sqlite');
const cliDb = openDb(cliDatabase);
await seedBenchFleet(cliDb, 1000, new Date());
closeDb(cliDb);
const cliRun = () => {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [join(ROOT, 'bin/dozor.js'), 'user', 'list', '--json'], { cwd: ROOT, env: { ...process.env, DATABASE_PATH: cliDatabase } });
  if (run.status !== 0) throw new Error(`dozor user list failed: ${run.stderr.toString()}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
};
cliRun();
const cliRuns = [cliRun(), cliRun(), cliRun(), cliRun(), cliRun()].sort((a, b) => a - b);
rmSync(cliDir, { recursive: true, force: true });
const cli = { command: 'dozor user list --json', installations: 1000, medianMs: Math.round(cliRuns[2]!), runsMs: cliRuns.map(Math.round) };
process.stdout.write(`${JSON.stringify(cli)}\n`);

// Uploads of a 20 MB sysinfo archive to the service on a fleet of 1,000, read by a mapping as they arrive.
const uploadDir = mkdtempSync(join(tmpdir(), 'dozor-bench-uploads-'));
const uploadDb = openDb(join(uploadDir, 'uploads.sqlite'));
await seedBenchFleet(uploadDb, 1000, new Date());
closeDb(uploadDb);
writeBenchMapping(join(uploadDir, 'mapping.json'));
const uploadService = spawnTs('tools/bench/service.ts', {
  DATABASE_PATH: join(uploadDir, 'uploads.sqlite'),
  DATA_DIR: join(uploadDir, 'data'),
  SYSINFO_MAPPING: join(uploadDir, 'mapping.json'),
});
const uploadUrl = await firstLine(uploadService);
const uploads = await benchUploads(uploadUrl, uploadService.pid!, uploadDir);
// Then ten hostile archives at once, twice: the many-entry archive of #26 (refused), and ten that pass the checks but are heavy to read.
const hostileUploads = await benchHostileUploads(uploadUrl, uploadService.pid!, uploadDir);
uploadService.kill('SIGTERM');
await new Promise((resolve) => uploadService.once('exit', resolve));
rmSync(uploadDir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ uploads, hostileUploads })}\n`);

// A storm from Alertmanager (#26): 10,000 alerts in one webhook for 500 installations of one manager, with /healthz asked every 20 ms.
const webhook = await benchWebhook();
const WEBHOOK_STALL_TARGET_MS = 200;
process.stdout.write(`${JSON.stringify({ webhook })}\n`);

// Hostile reports within the 256 KiB limit: the slowest of these is the longest one report can hold the event loop.
const hostile = {
  unknownElements: `<report id="h1">${'<a/>'.repeat(60_000)}</report>`,
  repeatedElements: `<report id="h2">${'<shell version="6.4.3.59"/>'.repeat(9_000)}</report>`,
  longAttribute: `<report id="h3"><storage path="${'x'.repeat(250_000)}"/></report>`,
};
const parseWorstMs: Record<string, number> = {};
for (const [name, body] of Object.entries(hostile)) {
  parseWorstMs[name] = Number(
    time(() => {
      try {
        parseReport(Buffer.from(body), 'xml', { tz: 'Europe/Moscow' });
      } catch {
        // Refused, as it should be: what is measured is how long it took to say so.
      }
    }, 5).ms.toFixed(1),
  );
}
process.stdout.write(`${JSON.stringify({ parseWorstMs })}\n`);

// A CSV import of 10,000 installations under one client: the check alone (a dry run, reading only), and the whole import.
const importDir = mkdtempSync(join(tmpdir(), 'dozor-bench-import-'));
const importDb = openDb(join(importDir, 'import.sqlite'));
const importCtx = { db: importDb, clock: () => new Date(), actor: 'bench' };
const importRows = ['client,installation,kind,host', ...Array.from({ length: 10_000 }, (_, i) => `ООО «Ромашка»,Сервер ${i},network,s${i}.example.ru`)].join('\n');
const importCheck = await timeOnce(() => importCsv(importCtx, importRows, { dryRun: true }));
const importWhole = await timeOnce(() => importCsv(importCtx, importRows, { dryRun: false }));
closeDb(importDb);
rmSync(importDir, { recursive: true, force: true });
const csvImport = { rows: 10_000, checkMs: Math.round(importCheck.ms), wholeMs: Math.round(importWhole.ms), writeMs: Math.round(importWhole.ms - importCheck.ms) };
process.stdout.write(`${JSON.stringify({ csvImport })}\n`);

// Database size per million stored reports, and pruning them in small batches.
const dir = mkdtempSync(join(tmpdir(), 'dozor-bench-history-'));
const historyDb = openDb(join(dir, 'history.sqlite'));
await seedBenchFleet(historyDb, 1000, new Date());
historyDb.$client.pragma('wal_checkpoint(TRUNCATE)');
const emptySize = statSync(join(dir, 'history.sqlite')).size;
const REPORTS = 1_000_000;
const inserting = time(() => seedReportHistory(historyDb, 1000, REPORTS, new Date()));
historyDb.$client.pragma('wal_checkpoint(TRUNCATE)');
const fullSize = statSync(join(dir, 'history.sqlite')).size;
const pruning = await (async () => {
  const started = process.hrtime.bigint();
  // Everything is older than the cut-off here: the worst case for the nightly job.
  const removed = await pruneReports({ db: historyDb, batchSize: 2000, logger: createLogger('silent') }, new Date(Date.now() + 365 * 86_400_000));
  return { removed, ms: Number(process.hrtime.bigint() - started) / 1e6 };
})();
closeDb(historyDb);
rmSync(dir, { recursive: true, force: true });
const history = {
  reports: REPORTS,
  insertMs: Math.round(inserting.ms),
  dbBytesPerMillionReports: fullSize - emptySize,
  dbMbPerMillionReports: Number(((fullSize - emptySize) / 1024 / 1024).toFixed(1)),
  pruneRemoved: pruning.removed,
  pruneMs: Math.round(pruning.ms),
};
process.stdout.write(`${JSON.stringify(history)}\n`);

// The table, checked against the targets.
const pass = (ok: boolean) => (ok ? 'ok' : 'MISSED');
// The cabinet's target is the fleet page at 10,000 installations: a run without that size (BENCH_WEB_SIZES) does not judge it.
const fleetPageAt10k = webPages.find((w) => w.installations === 10_000)?.fleetPageMs;
const lines = [
  '',
  `| installations | intake req/s | p50 ms | p99 ms | vs bare | sweep, all due ms | longest stall in it ms | sweep, scheduled ms | /status ms | digest ms (lead's installations) | service RSS MB | WAL peak MB |`,
  `| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ...results.map(
    (r) =>
      `| ${r.installations} | ${r.intakeRps} | ${r.intakeP50Ms} | ${r.intakeP99Ms} | ${r.intakeRatio} | ${r.sweepAllDueMs} | ${r.sweepLongestStallMs} | ${r.sweepIdleMs} | ${r.statusMs} | ${r.digestMs} (${r.digestLeadInstallations}) | ${r.serviceRssMb} | ${r.walPeakMb} |`,
  ),
  '',
  `bare endpoint: ${Math.round(bareResult.requestsPerSecond)} req/s; floor (token, XML, one stored row): ${Math.round(floorResult.requestsPerSecond)} req/s, ${floorRatio} of bare`,
  `CPU per request (from /proc): node:http reading the body ${bareNodeCpuUs} µs, fastify doing nothing ${bareCpuUs} µs, the floor ${floorCpuUs} µs (${(floorCpuUs / Math.max(1, bareNodeCpuUs)).toFixed(1)}×), the intake ${results.map((r) => `${r.intakeCpuUs} µs (${r.intakeCpuRatio}×) at ${r.installations}`).join(', ')}`,
  `intake CPU profile at ${intakeProfile.installations} installations, self time as % of samples (idle ${intakeProfile.idlePercent} %, GC ${intakeProfile.gcPercent} %): ${intakeProfile.top.map((t) => `${t.where} ${t.selfPercent}`).join('; ')}`,
  `history: ${history.dbMbPerMillionReports} MB per 1,000,000 reports, pruned in ${history.pruneMs} ms`,
  `command line: ${cli.command} on ${cli.installations} installations, median of 5: ${cli.medianMs} ms`,
  `hostile reports of 256 KiB, parse ms: ${Object.entries(parseWorstMs).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  `Alertmanager webhook of ${webhook.alerts} alerts for ${webhook.installations} installations of one manager: taken in ${webhook.webhookMs} ms, /healthz waited at most ${webhook.longestStallMs} ms; again (all unchanged) in ${webhook.repeatMs} ms; service peak RSS ${webhook.peakRssMb} MB (${webhook.rssBeforeMb} MB before)`,
  `uploads of a ${uploads.archiveMb} MB sysinfo archive: one stored and read in ${uploads.singleMs} ms; ${uploads.concurrent} at once in ${uploads.concurrentAllMs} ms (slowest ${uploads.concurrentSlowestMs} ms), service peak RSS ${uploads.peakRssMb} MB (${uploads.rssBeforeMb} MB before), ${uploads.failed} failed`,
  ...(['manyEntries', 'heavyToRead'] as const).map((k) => {
    const h = hostileUploads[k];
    return `hostile uploads, ten at once, ${k === 'manyEntries' ? 'the many-entry archive' : 'archives heavy to read'} (${h.archiveMb} MB): answered ${h.statuses.join('/')} in ${h.allMs} ms, service peak RSS ${h.peakRssMb} MB (${h.rssBeforeMb} MB before), /healthz at worst ${h.healthzWorstMs} ms`;
  }),
  ...webPages.map(
    (w) => `cabinet at ${w.installations} installations: fleet page ${w.fleetPageMs} ms (${w.fleetPageMb} MB), its CSV ${w.fleetCsvMs} ms, a search ${w.fleetSearchMs} ms, incidents page ${w.incidentsPageMs} ms`,
  ),
  `CSV import of ${csvImport.rows} rows under one client: ${csvImport.wholeMs} ms, of which the check (reading only) ${csvImport.checkMs} ms and the write (holding the lock) about ${csvImport.writeMs} ms`,
];
const largest = results.find((r) => r.installations === 100_000) ?? results[results.length - 1]!;
const checks = {
  intakeRps: pass((largest.intakeRps as number) >= TARGETS.intakeRps),
  intakeP99: pass((largest.intakeP99Ms as number) < TARGETS.intakeP99Ms),
  intakeRatio: pass((largest.intakeRatio as number) >= TARGETS.intakeRatio),
  sweep: pass((largest.sweepAllDueMs as number) < TARGETS.sweepMs),
  sweepStall: pass((largest.sweepLongestStallMs as number) < TARGETS.sweepStallMs),
  status: pass((largest.statusMs as number) < TARGETS.statusMs),
  digest: pass((largest.digestMs as number) < TARGETS.digestMs),
  memory: pass((largest.serviceRssMb as number) < TARGETS.rssMb),
  cli: pass(cli.medianMs < TARGETS.cliMs),
  hostileParse: pass(Math.max(...Object.values(parseWorstMs)) < TARGETS.parseMs),
  csvImport: pass(csvImport.wholeMs < TARGETS.importMs && csvImport.writeMs < TARGETS.importLockMs),
  webhook: pass(webhook.opened === webhook.alerts && webhook.healthFailures === 0 && webhook.longestStallMs < WEBHOOK_STALL_TARGET_MS),
  uploads: pass(uploads.failed === 0 && uploads.peakRssMb < TARGETS.uploadRssMb),
  hostileUploads: pass(
    hostileUploads.serviceAlive &&
      hostileUploads.manyEntries.statuses.join() === '400' &&
      hostileUploads.heavyToRead.statuses.join() === '200' &&
      Math.max(hostileUploads.manyEntries.peakRssMb, hostileUploads.heavyToRead.peakRssMb) < TARGETS.uploadRssMb,
  ),
  fleetPage: fleetPageAt10k === undefined ? 'not measured at 10,000' : pass(fleetPageAt10k < TARGETS.fleetPageMs),
};
lines.push(`targets at ${largest.installations} installations: ${Object.entries(checks).map(([k, v]) => `${k} ${v}`).join(', ')}`);
process.stdout.write(`${lines.join('\n')}\n`);

const report = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
  settings: { loadSeconds: LOAD_SECONDS, connections: CONNECTIONS, managers: LEADS * MANAGERS_PER_LEAD },
  targets: TARGETS,
  bare: { ...bareResult, cpuUs: bareCpuUs },
  bareNode: { ...bareNodeResult, cpuUs: bareNodeCpuUs },
  floor: { ...floorResult, ratio: floorRatio, cpuUs: floorCpuUs },
  intakeProfile,
  results,
  history,
  cli,
  parseWorstMs,
  csvImport,
  webhook,
  uploads,
  hostileUploads,
  webPages,
  checks,
  durationSeconds: Math.round((Date.now() - startedAt) / 1000),
};
mkdirSync(join(ROOT, 'tools/bench/results'), { recursive: true });
const file = join(ROOT, 'tools/bench/results', `bench-${report.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`written to ${file} in ${report.durationSeconds} s\n`);
