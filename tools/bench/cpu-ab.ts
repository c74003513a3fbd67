import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { closeDb, openDb } from '../../db/open.ts';
import { seedBenchFleet } from './seed.ts';
import { cpuTicks, microsecondsPerRequest, summariseCpuProfile } from './proc.ts';
import { loadReports, nextLine, ROOT, spawnTs } from './processes.ts';

/**
 * `npm run bench:cpu -- [checkout…]`: the intake's CPU per report, as #31
 * measures it, for one or more checkouts of dozor side by side, in
 * alternating runs (A, B, A, B…), each against Node's own HTTP server
 * measured just before it: the service process's CPU from /proc over the
 * load, divided by the reports it answered. Without arguments it measures
 * this checkout. `BENCH_RUNS` (default 4) runs per checkout, `BENCH_SECONDS`
 * (default 8) a load, `BENCH_CONNECTIONS` (default 50), `BENCH_TARGET`
 * (`service`, default, or `floor`), `BENCH_PROFILE=1` profiles the last run
 * of each checkout and prints its top functions by self time. The fleet is
 * seeded by this checkout's code, and each checkout's service migrates it at
 * start: compare checkouts whose migrations this one's database can take.
 */
const checkouts = process.argv.slice(2).length > 0 ? process.argv.slice(2).map((path) => resolve(path)) : [ROOT];
const RUNS = Number(process.env.BENCH_RUNS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const TARGET = process.env.BENCH_TARGET === 'floor' ? 'tools/bench/floor.ts' : 'tools/bench/service.ts';
const FLEET = 1000;

const load = (url: string, seconds: number) => loadReports(url, FLEET, seconds, CONNECTIONS);

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  if (child.exitCode === null) await new Promise((done) => child.once('exit', done));
}

/** CPU per request of a server process over one load after a 2 s warm-up. */
async function measure(child: ChildProcess, url: string): Promise<{ us: number; p99: number; rps: number }> {
  await load(url, 2);
  const before = cpuTicks(child.pid!);
  const result = await load(url, SECONDS);
  return { us: microsecondsPerRequest(cpuTicks(child.pid!) - before, result.total), p99: result.p99, rps: Math.round(result.requestsPerSecond) };
}

const results = new Map<string, { us: number; bare: number; p99: number; rps: number }[]>(checkouts.map((c) => [c, []]));
for (let run = 0; run < RUNS; run++) {
  for (const checkout of checkouts) {
    const bare = spawnTs('tools/bench/bare-node.ts');
    const bareUs = (await measure(bare, await nextLine(bare))).us;
    await stop(bare);
    const dir = mkdtempSync(join(tmpdir(), 'dozor-cpu-ab-'));
    try {
      const db = openDb(join(dir, 'bench.sqlite'));
      await seedBenchFleet(db, FLEET, new Date());
      closeDb(db);
      const profile = process.env.BENCH_PROFILE === '1' && run === RUNS - 1 && TARGET.endsWith('service.ts') ? join(dir, 'intake.cpuprofile') : '';
      const server = spawnTs(TARGET, { DATABASE_PATH: join(dir, 'bench.sqlite'), ...(profile ? { BENCH_PROFILE: profile } : {}) }, checkout);
      const url = await nextLine(server);
      if (profile) {
        await load(url, 2);
        server.kill('SIGUSR2');
      }
      const measured = await measure(server, url);
      await stop(server);
      results.get(checkout)!.push({ ...measured, bare: bareUs });
      process.stdout.write(`${checkout} run ${run + 1}: ${measured.us} µs a report (bare ${bareUs} µs, ${(measured.us / bareUs).toFixed(1)}×), ${measured.rps} reports/s, p99 ${measured.p99} ms\n`);
      if (profile) {
        const summary = summariseCpuProfile(profile, checkout, 25);
        process.stdout.write(`  idle ${summary.idlePercent} %, GC ${summary.gcPercent} %\n${summary.top.map((t) => `  ${t.selfPercent.toFixed(1).padStart(5)} % ${t.where}`).join('\n')}\n`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const [checkout, runs] of results) {
  process.stdout.write(`${checkout}: ${runs.map((r) => r.us).join(', ')} µs (median ${median(runs.map((r) => r.us))}); bare ${runs.map((r) => r.bare).join(', ')} µs\n`);
}
