import { and, asc, eq, isNotNull, ne, sql, type SQL } from 'drizzle-orm';
import { inIdList } from './dialect.ts';
import type { Queryable } from './open.ts';
import { first } from './query.ts';
import { auditLog, clients, incidentEvents, incidents, installations, users } from './schema.ts';

/** What the incidents page is narrowed to. */
export interface OpenProblemFilter {
  /** The client's manager (their Telegram id). */
  managerId: number | null;
  severity: 'critical' | 'warning' | null;
  /** Clients the search found (null: no search asked). */
  clientIds: readonly number[] | null;
}

/** Open problems (notices left out) within the filter, as a condition on incidents joined with installations and clients. */
function openProblems(db: Queryable, filter: OpenProblemFilter): SQL | undefined {
  return and(
    ne(incidents.status, 'resolved'),
    ne(incidents.severity, 'info'),
    filter.severity ? eq(incidents.severity, filter.severity) : undefined,
    filter.managerId !== null ? eq(clients.managerId, filter.managerId) : undefined,
    // A search may find thousands of clients, more than SQLite takes as separate parameters.
    filter.clientIds !== null ? inIdList(db, installations.clientId, filter.clientIds) : undefined,
  );
}

/**
 * The first `limit` open problems within the filter, critical first, then
 * those nobody took, then the oldest; and how many there are in all.
 */
export async function listOpenProblems(db: Queryable, filter: OpenProblemFilter, limit: number): Promise<{ ids: number[]; total: number }> {
  const where = openProblems(db, filter);
  const rows = await db
    .select({ id: incidents.id })
    .from(incidents)
    .innerJoin(installations, eq(installations.id, incidents.installationId))
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .where(where)
    .orderBy(
      sql`(case when ${incidents.severity} = 'critical' then 0 else 2 end) + (case when ${incidents.status} = 'open' then 0 else 1 end)`,
      asc(incidents.openedAt),
      asc(incidents.id),
    )
    .limit(limit);
  const ids = rows.map((row) => row.id);
  const total =
    ids.length < limit
      ? ids.length
      : ((
          await first(
            db
              .select({ n: sql<number>`count(*)` })
              .from(incidents)
              .innerJoin(installations, eq(installations.id, incidents.installationId))
              .innerJoin(clients, eq(clients.id, installations.clientId))
              .where(where),
          )
        )?.n ?? 0);
  return { ids, total };
}

/** The managers of clients with open problems, by name: the page's filter offers them. */
export async function listOpenProblemManagers(db: Queryable): Promise<{ id: number; name: string }[]> {
  return db
    .selectDistinct({ id: users.telegramId, name: users.name })
    .from(incidents)
    .innerJoin(installations, eq(installations.id, incidents.installationId))
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .innerJoin(users, eq(users.telegramId, clients.managerId))
    .where(and(ne(incidents.status, 'resolved'), ne(incidents.severity, 'info'), isNotNull(clients.managerId)))
    .orderBy(asc(users.name));
}

/**
 * A figure that changes whenever what the incidents page shows may have: an
 * incident opened, taken, reminded or closed (its events), or people changed
 * something (the audit log: a snooze, a name, a manager). Two lookups of a
 * largest key, so a reloading page costs next to nothing when nothing moved.
 */
export async function incidentsPageVersion(db: Queryable): Promise<string> {
  const event = (await first(db.select({ id: sql<number | null>`max(${incidentEvents.id})` }).from(incidentEvents)))?.id ?? 0;
  const audit = (await first(db.select({ id: sql<number | null>`max(${auditLog.id})` }).from(auditLog)))?.id ?? 0;
  return `${event}.${audit}`;
}
