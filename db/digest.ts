import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, lt, lte, ne, or, type SQL } from 'drizzle-orm';
import type { DatabaseFacts } from '../core/report.ts';
import type { Severity } from '../core/rules.ts';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { campaignSnapshots, clients, incidents, installations, installationState, users } from './schema.ts';
import type { User } from './users.ts';

/** Whose clients a digest, /versions or /sales covers. */
export interface Scope {
  /** `all`, `team:<lead id>` or `manager:<id>`: also the key of campaign snapshots. */
  key: string;
  /** null: every client. */
  clientIds: number[] | null;
}

/** Admins see everyone; a lead their team (their managers' clients and their own); a manager their own. */
export async function scopeOf(db: Queryable, user: User, personal = false): Promise<Scope> {
  if (user.role === 'admin' && !personal) return { key: 'all', clientIds: null };
  if (user.role === 'lead' && !personal) {
    const team = (await db.select({ id: users.telegramId }).from(users).where(eq(users.leadId, user.telegramId))).map((u) => u.id);
    const ids = (
      await db
        .select({ id: clients.id })
        .from(clients)
        .where(or(eq(clients.managerId, user.telegramId), team.length ? inArray(clients.managerId, team) : undefined))
    ).map((c) => c.id);
    return { key: `team:${user.telegramId}`, clientIds: ids };
  }
  const ids = (await db.select({ id: clients.id }).from(clients).where(eq(clients.managerId, user.telegramId))).map((c) => c.id);
  return { key: `manager:${user.telegramId}`, clientIds: ids };
}

/** An installation as a digest names it. */
export interface InstallationRef {
  installationId: number;
  installationName: string;
  clientId: number;
  clientName: string;
  managerId: number | null;
  managerName: string | null;
}

/** An installation of a scope, with what decides whether the digest counts it. */
export interface ScopedInstallation extends InstallationRef {
  monitoringEnabled: boolean;
  createdAt: Date;
}

export async function listInstallationsInScope(db: Queryable, scope: Scope): Promise<ScopedInstallation[]> {
  return db
    .select({
      installationId: installations.id,
      installationName: installations.name,
      clientId: clients.id,
      clientName: clients.name,
      managerId: clients.managerId,
      managerName: users.name,
      monitoringEnabled: installations.monitoringEnabled,
      createdAt: installations.createdAt,
    })
    .from(installations)
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .leftJoin(users, eq(users.telegramId, clients.managerId))
    .where(scope.clientIds === null ? undefined : inArray(clients.id, scope.clientIds.length ? scope.clientIds : [-1]))
    .orderBy(asc(clients.name), asc(installations.name));
}

/** With a scope, only incidents of its installations (an empty scope matches nothing). */
function incidentsOf(scope: Scope, installationIds: readonly number[]): SQL | undefined {
  return scope.clientIds === null ? undefined : inArray(incidents.installationId, installationIds.length ? [...installationIds] : [-1]);
}

/** Ids of the unresolved incidents of the scope's installations, oldest first; without `notices`, problems only (no `info`). */
export async function listActiveIncidentIds(db: Queryable, scope: Scope, installationIds: readonly number[], notices = true): Promise<number[]> {
  const rows = await db
    .select({ id: incidents.id })
    .from(incidents)
    .where(and(ne(incidents.status, 'resolved'), notices ? undefined : ne(incidents.severity, 'info'), incidentsOf(scope, installationIds)))
    .orderBy(asc(incidents.openedAt));
  return rows.map((r) => r.id);
}

/**
 * Ids of the scope's problems (not notices) that ended in [from, to], the
 * latest first, at most `limit`: what the digest names as broken and fixed.
 * An incident ended by turning monitoring off was not fixed, and is left out.
 */
export async function listResolvedIncidentIds(
  db: Queryable,
  scope: Scope,
  installationIds: readonly number[],
  from: Date,
  to: Date,
  limit: number,
): Promise<number[]> {
  const rows = await db
    .select({ id: incidents.id })
    .from(incidents)
    .where(
      and(
        gte(incidents.resolvedAt, from),
        lte(incidents.resolvedAt, to),
        ne(incidents.severity, 'info'),
        or(isNull(incidents.resolution), ne(incidents.resolution, 'disabled')),
        incidentsOf(scope, installationIds),
      ),
    )
    .orderBy(desc(incidents.resolvedAt))
    .limit(limit);
  return rows.map((r) => r.id);
}

/** How many incidents of the scope opened, and how many resolved, in [from, to]. */
export async function countOpenedAndResolved(
  db: Queryable,
  scope: Scope,
  installationIds: readonly number[],
  from: Date,
  to: Date,
): Promise<{ opened: number; resolved: number }> {
  const within = incidentsOf(scope, installationIds);
  const opened = (await db.select({ id: incidents.id }).from(incidents).where(and(gte(incidents.openedAt, from), lte(incidents.openedAt, to), within))).length;
  const resolved = (await db.select({ id: incidents.id }).from(incidents).where(and(gte(incidents.resolvedAt, from), lte(incidents.resolvedAt, to), within))).length;
  return { opened, resolved };
}

/** What each installation of the scope last said of its licences: databases with their terms, seats, refusals. */
export async function listLicenceStanding(
  db: Queryable,
  scope: Scope,
  installationIds: readonly number[],
): Promise<Map<number, { tz: string; databases: DatabaseFacts[]; seatsUsed: number | null; licenseLimit: number | null; lastSysinfoAt: Date | null }>> {
  const rows = await db
    .select({
      id: installationState.installationId,
      tz: installations.tz,
      lastSysinfoAt: installationState.lastSysinfoAt,
      databases: installationState.databases,
      seatsUsed: installationState.seatsUsed,
      licenseLimit: installationState.licenseLimit,
    })
    .from(installationState)
    .innerJoin(installations, eq(installations.id, installationState.installationId))
    .where(scope.clientIds === null ? undefined : inArray(installationState.installationId, installationIds.length ? [...installationIds] : [-1]));
  return new Map(rows.map(({ id, databases, ...rest }) => [id, { ...rest, databases: databases ?? [] }]));
}

/** When each installation of the scope last reported, and its shell version. */
export async function listReportingStates(
  db: Queryable,
  scope: Scope,
  installationIds: readonly number[],
): Promise<Map<number, { lastReceivedAt: Date; shellVersion: string | null }>> {
  const rows = await db
    .select({ id: installationState.installationId, lastReceivedAt: installationState.lastReceivedAt, shellVersion: installationState.shellVersion })
    .from(installationState)
    .where(scope.clientIds === null ? undefined : inArray(installationState.installationId, installationIds.length ? [...installationIds] : [-1]));
  return new Map(rows.map((s) => [s.id, { lastReceivedAt: s.lastReceivedAt, shellVersion: s.shellVersion }]));
}

/** The earliest campaign snapshot of a scope in [fromDay, beforeDay) for this minimum version. */
export async function findCampaignSnapshot(
  db: Queryable,
  scopeKey: string,
  minVersion: string,
  fromDay: string,
  beforeDay: string,
): Promise<{ day: string; compliant: number; total: number } | undefined> {
  return first(
    db
      .select({ day: campaignSnapshots.day, compliant: campaignSnapshots.compliant, total: campaignSnapshots.total })
      .from(campaignSnapshots)
      .where(and(eq(campaignSnapshots.scope, scopeKey), eq(campaignSnapshots.minVersion, minVersion), gte(campaignSnapshots.day, fromDay), lt(campaignSnapshots.day, beforeDay)))
      .orderBy(asc(campaignSnapshots.day))
      .limit(1),
  );
}

/** Remember a scope's campaign standing for a day (the first one written that day stays). */
export async function recordCampaignSnapshot(
  db: Queryable,
  snapshot: { day: string; scopeKey: string; minVersion: string; compliant: number; total: number; takenAt: Date },
): Promise<void> {
  await db
    .insert(campaignSnapshots)
    .values({ day: snapshot.day, scope: snapshot.scopeKey, minVersion: snapshot.minVersion, compliant: snapshot.compliant, total: snapshot.total, takenAt: snapshot.takenAt })
    .onConflictDoNothing();
}

/** Incidents of the scope acknowledged or resolved since `since`, with their manager: what response times are measured on. */
export async function listResponseTimeRows(db: Queryable, scope: Scope, installationIds: readonly number[], since: Date) {
  return db
    .select({
      managerId: clients.managerId,
      managerName: users.name,
      announcedAt: incidents.announcedAt,
      acknowledgedAt: incidents.acknowledgedAt,
      openedAt: incidents.openedAt,
      resolvedAt: incidents.resolvedAt,
    })
    .from(incidents)
    .innerJoin(installations, eq(installations.id, incidents.installationId))
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .leftJoin(users, eq(users.telegramId, clients.managerId))
    .where(
      and(
        or(gte(incidents.acknowledgedAt, since), and(isNotNull(incidents.resolvedAt), gte(incidents.resolvedAt, since))),
        incidentsOf(scope, installationIds),
      ),
    );
}

export interface IncidentSpan {
  severity: Severity;
  openedAt: Date;
  resolvedAt: Date | null;
}

/** When each incident of the scope that overlaps [from, to) opened and ended: what the digest's chart is drawn from. */
export async function listIncidentSpans(db: Queryable, scope: Scope, installationIds: readonly number[], from: Date, to: Date): Promise<IncidentSpan[]> {
  return db
    .select({ severity: incidents.severity, openedAt: incidents.openedAt, resolvedAt: incidents.resolvedAt })
    .from(incidents)
    .where(and(lt(incidents.openedAt, to), or(isNull(incidents.resolvedAt), gte(incidents.resolvedAt, from)), incidentsOf(scope, installationIds)));
}
