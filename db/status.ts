import { aliasOf } from './dialect.ts';
import { asc, eq, inArray, ne, and, sql } from 'drizzle-orm';
import type { InstallationState } from '../core/state.ts';
import type { UploadReading } from '../core/sysinfo-mapping.ts';
import { getIncidentViews, listHolds, type IncidentHold, type IncidentView } from './incidents.ts';
import type { DB, Queryable } from './open.ts';
import { first } from './query.ts';
import { getRejection, type IntakeRejection } from './rejections.ts';
import { clients, incidents, installations, metricsSnapshots, users } from './schema.ts';
import type { MetricsSnapshot } from './metrics-snapshots.ts';
import { getStates } from './state.ts';
import { findLatestSysinfo, type Upload } from './uploads.ts';
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
    /** The silences in force over it (its own, of one rule or of all, and its client's), the longest first. */
    silences: SilenceRow[];
  }[];
}

/** A client with each installation's state, incidents, files, probes and silence, as of `now`. */
export async function getClientStatus(db: DB, clientId: number, now: Date): Promise<ClientStatus | undefined> {
  const manager = aliasOf(db, users, 'manager');
  const row = await first(
    db
      .select({ client: clients, managerName: manager.name, managerLeadId: manager.leadId })
      .from(clients)
      .leftJoin(manager, eq(manager.telegramId, clients.managerId))
      .where(eq(clients.id, clientId)),
  );
  if (!row) return undefined;
  const list = await db.select().from(installations).where(eq(installations.clientId, clientId)).orderBy(asc(installations.name));
  const ids = list.map((i) => i.id);
  const states = await getStates(db, ids);
  const active = ids.length
    ? await db.select({ id: incidents.id }).from(incidents).where(and(inArray(incidents.installationId, ids), ne(incidents.status, 'resolved')))
    : [];
  const views = await getIncidentViews(db, active.map((a) => a.id));
  const holds = await listHolds(db, views.map((v) => ({ ...v.incident, clientId: v.clientId })), now);
  // A client has a few installations: the latest sysinfo of each, one indexed query apiece.
  const sysinfo = new Map<number, Upload | undefined>();
  for (const id of ids) sysinfo.set(id, await findLatestSysinfo(db, id));
  const silences = (await listActiveSilences(db, now)).filter((s) => s.startsAt <= now);
  const silencesOver = (installation: Installation) =>
    silences
      .filter((s) => s.installationId === installation.id || (s.installationId === null && s.clientId === installation.clientId))
      .sort((a, b) => b.endsAt.getTime() - a.endsAt.getTime());
  const metrics = new Map(ids.length ? (await db.select().from(metricsSnapshots).where(inArray(metricsSnapshots.installationId, ids))).map((m) => [m.installationId, m]) : []);
  const perInstallation: ClientStatus['installations'] = [];
  for (const installation of list) {
    perInstallation.push({
      installation,
      state: states.get(installation.id) ?? null,
      rejection: await getRejection(db, installation.id),
      incidents: views.filter((v) => v.incident.installationId === installation.id),
      holds,
      sysinfoAt: sysinfo.get(installation.id)?.receivedAt ?? null,
      sysinfoTakenAt: sysinfo.get(installation.id)?.takenAt ?? null,
      sysinfoProblems: sysinfo.get(installation.id)?.reading?.problems ?? [],
      metrics: metrics.get(installation.id) ?? null,
      refusalsToday: (await getLicenseDay(db, installation.id, calendarDay(now, installation.tz)))?.limitHits ?? 0,
      probes: await getProbeStatuses(db, installation.id),
      silences: silencesOver(installation),
    });
  }
  return {
    client: row.client,
    managerName: row.managerName,
    managerLeadId: row.managerLeadId,
    installations: perInstallation,
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
export async function listClientsWithProblems(db: Queryable): Promise<ClientProblemSummary[]> {
  const manager = aliasOf(db, users, 'manager');
  return db
    .select({
      clientId: clients.id,
      clientName: clients.name,
      managerId: clients.managerId,
      managerLeadId: manager.leadId,
      open: sql<number>`count(*)`,
      critical: sql<number>`sum(case when ${incidents.severity} = 'critical' then 1 else 0 end)`,
      unacknowledged: sql<number>`sum(case when ${incidents.status} = 'open' then 1 else 0 end)`,
    })
    .from(incidents)
    .innerJoin(installations, eq(installations.id, incidents.installationId))
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .leftJoin(manager, eq(manager.telegramId, clients.managerId))
    // Notices (`info`) are not problems.
    .where(and(ne(incidents.status, 'resolved'), ne(incidents.severity, 'info')))
    // The manager's key too: PostgreSQL takes no bare column of a joined table beside an aggregate.
    .groupBy(clients.id, manager.telegramId)
    .orderBy(sql`sum(case when ${incidents.severity} = 'critical' then 1 else 0 end) desc`, asc(clients.name));
}
