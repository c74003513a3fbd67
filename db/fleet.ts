import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import type { DatabaseFacts } from '../core/report.ts';
import { clients, incidents, installations, installationState, uploads, users } from './schema.ts';

/** One row of the fleet page: an installation, its client and manager, what it last said, and its open problems. */
export interface FleetRow {
  installationId: number;
  installationName: string;
  clientId: number;
  clientName: string;
  managerName: string | null;
  kind: string;
  tz: string;
  provider: string | null;
  monitoringEnabled: boolean;
  lastReceivedAt: Date | null;
  operapDate: string | null;
  shellVersion: string | null;
  updateNumber: number | null;
  databases: DatabaseFacts[] | null;
  seatsUsed: number | null;
  licenseLimit: number | null;
  lastSysinfoAt: Date | null;
  /** Open problems (notices left out), and how many of them are critical. */
  problems: number;
  critical: number;
}

/** Every installation with what the fleet page shows of it, in one query (open problems and the latest sysinfo grouped once, then joined). */
export function listFleet(db: Queryable): FleetRow[] {
  const open = db
    .select({
      installationId: incidents.installationId,
      problems: sql<number>`count(*)`.as('problems'),
      critical: sql<number>`sum(${incidents.severity} = 'critical')`.as('critical'),
    })
    .from(incidents)
    .where(and(ne(incidents.status, 'resolved'), ne(incidents.severity, 'info')))
    .groupBy(incidents.installationId)
    .as('open_problems');
  const sysinfo = db
    .select({ installationId: uploads.installationId, at: sql<number>`max(${uploads.receivedAt})`.as('last_sysinfo_at') })
    .from(uploads)
    .where(inArray(uploads.kind, ['zip', 'xml']))
    .groupBy(uploads.installationId)
    .as('last_sysinfo');
  return db
    .select({
      installationId: installations.id,
      installationName: installations.name,
      clientId: clients.id,
      clientName: clients.name,
      managerName: users.name,
      kind: installations.kind,
      tz: installations.tz,
      provider: installations.provider,
      monitoringEnabled: installations.monitoringEnabled,
      lastReceivedAt: installationState.lastReceivedAt,
      operapDate: installationState.operapDate,
      shellVersion: installationState.shellVersion,
      updateNumber: installationState.updateNumber,
      databases: installationState.databases,
      seatsUsed: installationState.seatsUsed,
      licenseLimit: installationState.licenseLimit,
      lastSysinfoAt: sql<Date | null>`${sysinfo.at}`.mapWith(installationState.lastReceivedAt),
      problems: sql<number>`coalesce(${open.problems}, 0)`,
      critical: sql<number>`coalesce(${open.critical}, 0)`,
    })
    .from(installations)
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .leftJoin(users, eq(users.telegramId, clients.managerId))
    .leftJoin(installationState, eq(installationState.installationId, installations.id))
    .leftJoin(open, eq(open.installationId, installations.id))
    .leftJoin(sysinfo, eq(sysinfo.installationId, installations.id))
    .orderBy(asc(clients.name), asc(installations.name))
    .all();
}
