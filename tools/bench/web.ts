import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHttpServer } from '../../app/http.ts';
import { createLogger } from '../../app/logger.ts';
import { closeDb, openDb, type DB } from '../../db/open.ts';
import { DEFAULT_INCIDENT_SETTINGS } from '../../incidents/settings.ts';
import { runSweep } from '../../jobs/sweep.ts';
import { issueWebLink, redeemWebLink } from '../../registry/web-access.ts';
import { seedBenchFleet } from './seed.ts';
import { insertIncident, recordIncidentEvent } from '../../db/incidents.ts';
import { writeTransaction } from '../../db/transaction.ts';

/** Open problems in the storm the incidents page is measured in. */
const STORM = 12_000;

/**
 * The cabinet's pages on a generated fleet: the server's time to answer
 * (fastify's inject: routing, the session check, the queries, the template;
 * no network), the median of five after one warm-up, for the whole fleet
 * page, its CSV, the fleet filtered by a search, and the incidents page: as
 * the fleet has it, then with 12,000 problems open (its size, and an open
 * tab's reload answered 304).
 */
export async function benchWebPages(size: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'dozor-bench-web-'));
  const db = openDb(join(dir, 'web.sqlite'));
  try {
    await seedBenchFleet(db, size, new Date());
    return await measureWebPages(db, size);
  } finally {
    closeDb(db);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The pages of `benchWebPages` on a database already seeded with the bench fleet of `size` (SQLite or PostgreSQL). */
export async function measureWebPages(db: DB, size: number): Promise<Record<string, number>> {
  const now = new Date();
  // The sweep opens what the generated fleet has wrong (the silent 1%, the old versions): the incidents page lists them.
  await runSweep({ db, settings: DEFAULT_INCIDENT_SETTINGS }, now);
  const app = buildHttpServer({ db, clock: () => new Date(), logger: createLogger('silent'), settings: DEFAULT_INCIDENT_SETTINGS, web: { displayTz: 'Europe/Moscow', morningHour: 9 } });
  await app.ready();
  const ctx = { db, clock: () => new Date(), actor: 'bench' };
  const cookie = `dozor_session=${(await redeemWebLink(ctx, (await issueWebLink(ctx, 1))!))!.sessionId}`;

  const median = async (url: string, headers: Record<string, string> = {}, status = 200) => {
    const runs: number[] = [];
    let bytes = 0;
    let etag = '';
    for (let i = 0; i < 6; i++) {
      const started = process.hrtime.bigint();
      const response = await app.inject({ method: 'GET', url, headers: { cookie, ...headers } });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (response.statusCode !== status) throw new Error(`${url} answered ${response.statusCode}`);
      bytes = response.rawPayload.length;
      etag = String(response.headers.etag ?? '');
      if (i > 0) runs.push(ms);
    }
    runs.sort((a, b) => a - b);
    return { ms: Math.round(runs[2]!), bytes, etag };
  };
  const page = await median('/web/');
  const csv = await median('/web/fleet.csv');
  const search = await median(`/web/?q=${encodeURIComponent(`Клиент ${Math.ceil(size / 3)}`)}`);
  const incidents = await median('/web/incidents');
  // A storm: 12,000 problems open at once. The page shows the first 500 and the count; an open tab's reload is a 304.
  await writeTransaction(db, async (tx) => {
    for (let i = 0; i < STORM; i++) {
      const incident = await insertIncident(tx, { installationId: (i % size) + 1, ruleId: `am:BenchStorm:${i}`, severity: i % 10 === 0 ? 'critical' : 'warning', status: 'open', details: {}, openedAt: new Date(now.getTime() - i * 1000), announcedAt: now });
      await recordIncidentEvent(tx, { incidentId: incident.id, at: now, type: 'opened', actor: 'bench' });
    }
  });
  const storm = await median('/web/incidents');
  const revalidated = await median('/web/incidents', { 'if-none-match': storm.etag }, 304);
  await app.close();
  return {
    installations: size,
    fleetPageMs: page.ms,
    fleetPageMb: Number((page.bytes / 1024 / 1024).toFixed(1)),
    fleetCsvMs: csv.ms,
    fleetSearchMs: search.ms,
    incidentsPageMs: incidents.ms,
    stormIncidents: STORM,
    stormIncidentsPageMs: storm.ms,
    stormIncidentsPageKb: Math.round(storm.bytes / 1024),
    stormIncidentsReload304Ms: revalidated.ms,
  };
}
