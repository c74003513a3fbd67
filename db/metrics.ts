import { ne, sql } from 'drizzle-orm';
import type { Severity } from '../core/rules.ts';
import type { InstallationState } from '../core/state.ts';
import type { DB } from './open.ts';
import { statement } from './statements.ts';
import { incidents, probeState } from './schema.ts';
import { stateColumnList, stateFromValues } from './state.ts';

/** What a scrape shows of each monitored installation: its names, time zone and latest state. */
export interface MonitoredInstallation {
  id: number;
  name: string;
  client: string;
  tz: string;
  createdAt: Date;
  state: InstallationState | null;
}

const monitored = statement(
  'metrics.installations',
  `SELECT i.id, i.name, c.name, i.tz, i.created_at, ${stateColumnList('s')}
   FROM installations i
   JOIN clients c ON c.id = i.client_id
   LEFT JOIN installation_state s ON s.installation_id = i.id
   WHERE i.monitoring_enabled = TRUE`,
);

export async function listMonitoredInstallations(db: DB): Promise<MonitoredInstallation[]> {
  const rows = await monitored.values(db);
  return rows.map((r) => ({
    id: r[0] as number,
    name: r[1] as string,
    client: r[2] as string,
    tz: r[3] as string,
    createdAt: new Date(r[4] as number),
    state: stateFromValues(r, 5),
  }));
}

/** The latest outcome of every probe of every installation. */
export async function listProbeOutcomes(db: DB): Promise<{ installationId: number; probe: string; ok: boolean; latencyMs: number | null }[]> {
  return await db
    .select({ installationId: probeState.installationId, probe: probeState.probe, ok: probeState.ok, latencyMs: probeState.latencyMs })
    .from(probeState);
}

/** Unresolved incidents counted per installation and severity. */
export async function countOpenIncidentsByInstallation(db: DB): Promise<{ installationId: number; severity: Severity; n: number }[]> {
  return await db
    .select({ installationId: incidents.installationId, severity: incidents.severity, n: sql<number>`count(*)` })
    .from(incidents)
    .where(ne(incidents.status, 'resolved'))
    .groupBy(incidents.installationId, incidents.severity);
}

/** Unresolved incidents counted per severity. */
export async function countOpenIncidentsBySeverity(db: DB): Promise<{ severity: Severity; n: number }[]> {
  return await db
    .select({ severity: incidents.severity, n: sql<number>`count(*)` })
    .from(incidents)
    .where(ne(incidents.status, 'resolved'))
    .groupBy(incidents.severity);
}
