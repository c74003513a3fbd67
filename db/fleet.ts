import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { flagValue } from './dialect.ts';
import { rawValues } from './query.ts';
import type { DatabaseFacts } from '../core/report.ts';
import { clients, incidents, installations, installationState, uploads, users } from './schema.ts';
import { SYSINFO_KINDS } from './uploads.ts';

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
  /** The rules of those problems, critical ones first. */
  problemRules: string[];
}

/** Every installation with what the fleet page shows of it, in one query (open problems and the latest sysinfo grouped once, then joined). */
export async function listFleet(db: Queryable): Promise<FleetRow[]> {
  const open = db
    .select({
      installationId: incidents.installationId,
      problems: sql<number>`count(*)`.as('problems'),
      critical: sql<number>`sum(case when ${incidents.severity} = 'critical' then 1 else 0 end)`.as('critical'),
      // "c:" before critical rules and "w:" before the rest, so they can be put in order once read.
      rules: sql<string>`string_agg(case ${incidents.severity} when 'critical' then 'c:' else 'w:' end || ${incidents.ruleId}, ',')`.as('rules'),
    })
    .from(incidents)
    .where(and(ne(incidents.status, 'resolved'), ne(incidents.severity, 'info')))
    .groupBy(incidents.installationId)
    .as('open_problems');
  const sysinfo = db
    .select({ installationId: uploads.installationId, at: sql<number>`max(${uploads.receivedAt})`.as('sysinfo_received_at') })
    .from(uploads)
    .where(inArray(uploads.kind, SYSINFO_KINDS))
    .groupBy(uploads.installationId)
    .as('last_sysinfo');
  // Positions, not names: the page reads 10,000 rows and more, and drizzle's per-row mapping would cost
  // more than the query itself. `decode` below must follow this list.
  const query = db
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
      lastSysinfoAt: sysinfo.at,
      problems: sql<number>`coalesce(${open.problems}, 0)`,
      critical: sql<number>`coalesce(${open.critical}, 0)`,
      problemRules: open.rules,
    })
    .from(installations)
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .leftJoin(users, eq(users.telegramId, clients.managerId))
    .leftJoin(installationState, eq(installationState.installationId, installations.id))
    .leftJoin(open, eq(open.installationId, installations.id))
    .leftJoin(sysinfo, eq(sysinfo.installationId, installations.id))
    .orderBy(asc(clients.name), asc(installations.name));
  return (await rawValues(db, query.getSQL())).map(decode);
}

const at = (value: unknown) => (value === null ? null : new Date(value as number));

/** One row as the database gives it (epoch milliseconds, a flag, JSON text), in the order selected above. */
function decode(r: unknown[]): FleetRow {
  return {
    installationId: r[0] as number,
    installationName: r[1] as string,
    clientId: r[2] as number,
    clientName: r[3] as string,
    managerName: r[4] as string | null,
    kind: r[5] as string,
    tz: r[6] as string,
    provider: r[7] as string | null,
    monitoringEnabled: flagValue(r[8]),
    lastReceivedAt: at(r[9]),
    operapDate: r[10] as string | null,
    shellVersion: r[11] as string | null,
    updateNumber: r[12] as number | null,
    databases: r[13] === null ? null : (JSON.parse(r[13] as string) as DatabaseFacts[]),
    seatsUsed: r[14] as number | null,
    licenseLimit: r[15] as number | null,
    lastSysinfoAt: at(r[16]),
    problems: r[17] as number,
    critical: r[18] as number,
    problemRules: r[19] === null ? [] : (r[19] as string).split(',').sort().map((rule) => rule.slice(2)),
  };
}
