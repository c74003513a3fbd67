import { asc, eq, inArray, ne, and, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { InstallationState } from '../core/state.ts';
import type { UploadReading } from '../core/sysinfo-mapping.ts';
import { getIncidentViews, listHolds, type IncidentHold, type IncidentView } from './incidents.ts';
import type { DB, Queryable } from './open.ts';
import { getRejection, type IntakeRejection } from './rejections.ts';
import { clients, incidents, installations, metricsSnapshots, users } from './schema.ts';
import type { MetricsSnapshot } from './metrics-snapshots.ts';
import { getStates } from './state.ts';
import { findLatestSysinfo } from './uploads.ts';
import { getLicenseDay } from './license-days.ts';
import { calendarDay } from '../core/calendar.ts';
import { getProbeStatuses } from './probes.ts';
import { listActiveSilences, type SilenceRow } from './silences.ts';
import type { ProbeStatuses } from '../core/probe-rules.ts';
import type { Client } from './clients.ts';
import type { Installation } from './installations.ts';

/** Everything `/status` shows about one client, read in a handful of indexed queries. */
export interface ClientStatus {
  client: Client;
  managerName: string | null;
  managerLeadId: number | null;
  installations: {
    installation: Installation;
    state: InstallationState | null;
    rejection: IntakeRejection | undefined;
    incidents: IncidentView[];
    /** What holds those of its incidents nobody was told of yet, by incident id (`listHolds`). */
    holds: ReadonlyMap<number, IncidentHold>;
    /** When the latest sysinfo file arrived (null: none kept). */
    sysinfoAt: Date | null;
    /** The time written inside that sysinfo, when the mapping reads it. */
    sysinfoTakenAt: Date | null;
    /** What the mapping could not read in it (empty when it read all it names, or reads nothing). */
    sysinfoProblems: UploadReading['problems'];
    metrics: MetricsSnapshot | null;
    /** Users refused for lack of a seat today at the installation (its own time zone). */
    refusalsToday: number;
    /** The latest network probes (ping, TCP, web, DNS) that ran. */
    probes: ProbeStatuses;
    /** The silence in force over it that lasts longest, if any (its own, or its client's). */
    silence: SilenceRow | null;
  }[];
}

/** A client with each installation's state, incidents, files, probes and silence, as of `now`. */
export function getClientStatus(db: DB, clientId: number, now: Date): ClientStatus | undefined {
  const manager = alias(users, 'manager');
  const row = db
    .select({ client: clients, managerName: manager.name, managerLeadId: manager.leadId })
    .from(clients)
    .leftJoin(manager, eq(manager.telegramId, clients.managerId))
    .where(eq(clients.id, clientId))
    .get();
  if (!row) return undefined;
  const list = db.select().from(installations).where(eq(installations.clientId, clientId)).orderBy(asc(installations.name)).all();
  const ids = list.map((i) => i.id);
  const states = getStates(db, ids);
  const active = ids.length
    ? db.select({ id: incidents.id }).from(incidents).where(and(inArray(incidents.installationId, ids), ne(incidents.status, 'resolved'))).all()
    : [];
  const views = getIncidentViews(db, active.map((a) => a.id));
  const holds = listHolds(db, views.map((v) => ({ ...v.incident, clientId: v.clientId })), now);
  // A client has a few installations: the latest sysinfo of each, one indexed query apiece.
  const sysinfo = new Map(ids.map((id) => [id, findLatestSysinfo(db, id)]));
  const silences = listActiveSilences(db, now).filter((s) => s.startsAt <= now);
  const silenceOver = (installation: Installation) =>
    silences
      .filter((s) => (s.installationId === installation.id || (s.installationId === null && s.clientId === installation.clientId)))
      .sort((a, b) => b.endsAt.getTime() - a.endsAt.getTime())[0] ?? null;
  const metrics = new Map(ids.length ? db.select().from(metricsSnapshots).where(inArray(metricsSnapshots.installationId, ids)).all().map((m) => [m.installationId, m]) : []);
  return {
    client: row.client,
    managerName: row.managerName,
    managerLeadId: row.managerLeadId,
    installations: list.map((installation) => ({
      installation,
      state: states.get(installation.id) ?? null,
      rejection: getRejection(db, installation.id),
      incidents: views.filter((v) => v.incident.installationId === installation.id),
      holds,
      sysinfoAt: sysinfo.get(installation.id)?.receivedAt ?? null,
      sysinfoTakenAt: sysinfo.get(installation.id)?.takenAt ?? null,
      sysinfoProblems: sysinfo.get(installation.id)?.reading?.problems ?? [],
      metrics: metrics.get(installation.id) ?? null,
      refusalsToday: getLicenseDay(db, installation.id, calendarDay(now, installation.tz))?.limitHits ?? 0,
      probes: getProbeStatuses(db, installation.id),
      silence: silenceOver(installation),
    })),
  };
}

export interface ClientProblemSummary {
  clientId: number;
  clientName: string;
  managerId: number | null;
  managerLeadId: number | null;
  open: number;
  critical: number;
  unacknowledged: number;
}

/** Clients with unresolved incidents, worst first. */
export function listClientsWithProblems(db: Queryable): ClientProblemSummary[] {
  const manager = alias(users, 'manager');
  return db
    .select({
      clientId: clients.id,
      clientName: clients.name,
      managerId: clients.managerId,
      managerLeadId: manager.leadId,
      open: sql<number>`count(*)`,
      critical: sql<number>`sum(${incidents.severity} = 'critical')`,
      unacknowledged: sql<number>`sum(${incidents.status} = 'open')`,
    })
    .from(incidents)
    .innerJoin(installations, eq(installations.id, incidents.installationId))
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .leftJoin(manager, eq(manager.telegramId, clients.managerId))
    // Notices (`info`) are not problems.
    .where(and(ne(incidents.status, 'resolved'), ne(incidents.severity, 'info')))
    .groupBy(clients.id)
    .orderBy(sql`sum(${incidents.severity} = 'critical') desc`, asc(clients.name))
    .all();
}
