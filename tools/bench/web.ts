import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHttpServer } from '../../app/http.ts';
import { createLogger } from '../../app/logger.ts';
import { closeDb, openDb } from '../../db/open.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../../incidents/settings.ts';
import { runSweep } from '../../jobs/sweep.ts';
import { issueWebLink, redeemWebLink } from '../../registry/web-access.ts';
import { seedBenchFleet } from './seed.ts';

/**
 * The cabinet's pages on a generated fleet: the server's time to answer
 * (fastify's inject: routing, the session check, the queries, the template;
 * no network), the median of five after one warm-up, for the whole fleet
 * page, its CSV, the fleet filtered by a search, and the incidents page.
 */
export async function benchWebPages(size: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'dozor-bench-web-'));
  const db = openDb(join(dir, 'web.sqlite'));
  const now = new Date();
  seedBenchFleet(db, size, now);
  // The sweep opens what the generated fleet has wrong (the silent 1%, the old versions): the incidents page lists them.
  runSweep({ db, settings: DEFAULT_INCIDENT_SETTINGS }, now);
  const app = buildHttpServer({ db, clock: () => new Date(), logger: createLogger('silent'), settings: DEFAULT_INCIDENT_SETTINGS, web: { displayTz: 'Europe/Moscow', morningHour: 9 } });
  await app.ready();
  const ctx = { db, clock: () => new Date(), actor: 'bench' };
  const cookie = `dozor_session=${redeemWebLink(ctx, issueWebLink(ctx, 1)!)!.sessionId}`;

  const median = async (url: string) => {
    const runs: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 6; i++) {
      const started = process.hrtime.bigint();
      const response = await app.inject({ method: 'GET', url, headers: { cookie } });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (response.statusCode !== 200) throw new Error(`${url} answered ${response.statusCode}`);
      bytes = response.rawPayload.length;
      if (i > 0) runs.push(ms);
    }
    runs.sort((a, b) => a - b);
    return { ms: Math.round(runs[2]!), bytes };
  };
  const page = await median('/web/');
  const csv = await median('/web/fleet.csv');
  const search = await median(`/web/?q=${encodeURIComponent(`Клиент ${Math.ceil(size / 3)}`)}`);
  const incidents = await median('/web/incidents');
  await app.close();
  closeDb(db);
  rmSync(dir, { recursive: true, force: true });
  return {
    installations: size,
    fleetPageMs: page.ms,
    fleetPageMb: Number((page.bytes / 1024 / 1024).toFixed(1)),
    fleetCsvMs: csv.ms,
    fleetSearchMs: search.ms,
    incidentsPageMs: incidents.ms,
  };
}
