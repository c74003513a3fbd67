import { asc, eq, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { clients, installations, installationState, users } from './schema.ts';

/** One row of the fleet page: an installation, its client and manager, what it last said, and its open problems. */
export interface FleetRow {
  installationId: number;
  installationName: string;
  clientId: number;
  clientName: string;
  managerName: string | null;
  kind: string;
  provider: string | null;
  monitoringEnabled: boolean;
  lastReceivedAt: Date | null;
  operapDate: string | null;
  shellVersion: string | null;
  updateNumber: number | null;
  /** Open problems (notices left out), and how many of them are critical. */
  problems: number;
  critical: number;
}

/** Every installation with what the fleet page shows of it, in one query (problems counted by a subquery per row). */
export function listFleet(db: Queryable): FleetRow[] {
  return db
    .select({
      installationId: installations.id,
      installationName: installations.name,
      clientId: clients.id,
      clientName: clients.name,
      managerName: users.name,
      kind: installations.kind,
      provider: installations.provider,
      monitoringEnabled: installations.monitoringEnabled,
      lastReceivedAt: installationState.lastReceivedAt,
      operapDate: installationState.operapDate,
      shellVersion: installationState.shellVersion,
      updateNumber: installationState.updateNumber,
      problems: sql<number>`(select count(*) from incidents i where i.installation_id = ${installations.id} and i.status <> 'resolved' and i.severity <> 'info')`,
      critical: sql<number>`(select count(*) from incidents i where i.installation_id = ${installations.id} and i.status <> 'resolved' and i.severity = 'critical')`,
    })
    .from(installations)
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .leftJoin(users, eq(users.telegramId, clients.managerId))
    .leftJoin(installationState, eq(installationState.installationId, installations.id))
    .orderBy(asc(clients.name), asc(installations.name))
    .all();
}
