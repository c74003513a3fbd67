import { aliasOf } from './dialect.ts';
import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, lt, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import { canWait, DEPENDENCIES } from '../core/dependencies.ts';
import { holdOf } from '../core/holds.ts';
import type { Queryable } from './open.ts';
import { statement } from './statements.ts';
import { first } from './query.ts';
import { clients, incidentEvents, incidents, installations, users } from './schema.ts';
import { listActiveSilences, toSilence } from './silences.ts';

export type Incident = typeof incidents.$inferSelect;
export type NewIncident = typeof incidents.$inferInsert;
export type IncidentEvent = typeof incidentEvents.$inferSelect;

/** What an incident is opened with (announced at once, or not yet). */
export type OpeningIncident = Pick<NewIncident, 'installationId' | 'ruleId' | 'severity' | 'status' | 'details' | 'openedAt' | 'announcedAt' | 'nextReminderAt'>;

const insertStatement = statement(
  'incidents.insert',
  `INSERT INTO incidents (installation_id, rule_id, severity, status, details, opened_at, announced_at, next_reminder_at)
   VALUES (@installationId, @ruleId, @severity, @status, @details, @openedAt, @announcedAt, @nextReminderAt) RETURNING id`,
);
const eventStatement = statement(
  'incidents.recordEvent',
  'INSERT INTO incident_events (incident_id, at, type, actor, details) VALUES (@incidentId, @at, @type, @actor, @details)',
);
const subjectStatement = statement(
  'incidents.subject',
  `SELECT i.name AS "installationName", c.id AS "clientId", c.name AS "clientName" FROM installations i JOIN clients c ON c.id = i.client_id WHERE i.id = ?`,
);
const activeRulesStatement = statement(
  'incidents.activeRules',
  `SELECT id, rule_id AS "ruleId" FROM incidents WHERE installation_id = ? AND status <> 'resolved'`,
);
const criticalOpenedAtStatement = statement(
  'incidents.criticalOpenedAt',
  `SELECT 1 FROM incidents WHERE installation_id = ? AND opened_at = ? AND severity = 'critical' AND status <> 'resolved' LIMIT 1`,
);

/** Open an incident (a prepared statement: a webhook may open thousands in a row). */
export async function insertIncident(db: Queryable, incident: OpeningIncident): Promise<Incident> {
  const row = { ...incident, announcedAt: incident.announcedAt ?? null, nextReminderAt: incident.nextReminderAt ?? null };
  const { id } = (await insertStatement.get<{ id: number }>(db, row))!;
  return { id, ...row, acknowledgedAt: null, acknowledgedBy: null, resolvedAt: null, resolvedBy: null, resolution: null, escalatedAt: null };
}

export async function getIncident(db: Queryable, id: number): Promise<Incident | undefined> {
  return first(db.select().from(incidents).where(eq(incidents.id, id)));
}

export async function updateIncident(db: Queryable, id: number, changes: Partial<NewIncident>): Promise<Incident> {
  const row = await first(db.update(incidents).set(changes).where(eq(incidents.id, id)).returning());
  if (!row) throw new Error(`incident ${id} vanished during update`);
  return row;
}

export async function recordIncidentEvent(
  db: Queryable,
  event: { incidentId: number; at: Date; type: string; actor: string; details?: Record<string, unknown> },
): Promise<void> {
  await eventStatement.run(db, { ...event, details: event.details ?? null });
}

/** The last time an incident was put off with its witnesses told (incidents/lifecycle.ts `tellOfCriticalSnooze`): until when, and who. */
export async function lastPutOff(db: Queryable, incidentId: number): Promise<{ until: Date; told: { to: 'lead' | 'admins'; names: string[] } | null } | null> {
  const event = await first(
    db
      .select({ details: incidentEvents.details })
      .from(incidentEvents)
      .where(and(eq(incidentEvents.incidentId, incidentId), eq(incidentEvents.type, 'snoozed')))
      .orderBy(desc(incidentEvents.id))
      .limit(1),
  );
  const details = event?.details as { until?: string; told?: { to: 'lead' | 'admins'; names: string[] } | null } | null | undefined;
  if (typeof details?.until !== 'string') return null;
  return { until: new Date(details.until), told: details.told ?? null };
}

export async function listIncidentEvents(db: Queryable, incidentId: number): Promise<IncidentEvent[]> {
  return db.select().from(incidentEvents).where(eq(incidentEvents.incidentId, incidentId)).orderBy(asc(incidentEvents.id));
}

/** The names an announcement about an installation shows. */
export async function getSubject(
  db: Queryable,
  installationId: number,
): Promise<{ installationId: number; installationName: string; clientId: number; clientName: string } | undefined> {
  const row = await subjectStatement.get<{ installationName: string; clientId: number; clientName: string }>(db, installationId);
  return row ? { installationId, ...row } : undefined;
}

/** Unresolved incidents of one installation. */
export async function listActiveIncidents(db: Queryable, installationId: number): Promise<Incident[]> {
  return db
    .select()
    .from(incidents)
    .where(and(eq(incidents.installationId, installationId), ne(incidents.status, 'resolved')));
}

/**
 * Just the ids and rules of an installation's unresolved incidents: what
 * judging it needs, read for every report (a raw statement: drizzle's mapping
 * of whole rows costs several times the query).
 */
export async function listActiveRules(db: Queryable, installationId: number): Promise<{ id: number; ruleId: string }[]> {
  return activeRulesStatement.all<{ id: number; ruleId: string }>(db, installationId);
}

/** Unresolved incidents nobody has been told about yet (held by a silence or a cause, `listHolds`); notices (`info`) are never told. */
export async function listUnannounced(db: Queryable): Promise<Incident[]> {
  return db
    .select()
    .from(incidents)
    .where(and(ne(incidents.status, 'resolved'), isNull(incidents.announcedAt), ne(incidents.severity, 'info')))
    .orderBy(asc(incidents.id));
}

/** Incidents whose history has no event of this type (a call or a send made once). */
function withoutEvent(type: string): SQL {
  return sql`not exists (select 1 from incident_events e where e.incident_id = ${incidents.id} and e.type = ${type})`;
}

/**
 * Critical incidents opened in [from, to], announced, still not taken, and not
 * yet sent again before work (no `woken` event): the morning call's list.
 */
export async function listUntakenCriticalsOpenedBetween(db: Queryable, from: Date, to: Date): Promise<Incident[]> {
  return db
    .select()
    .from(incidents)
    .where(
      and(
        eq(incidents.status, 'open'),
        eq(incidents.severity, 'critical'),
        isNotNull(incidents.announcedAt),
        gte(incidents.openedAt, from),
        lte(incidents.openedAt, to),
        withoutEvent('woken'),
      ),
    )
    .orderBy(asc(incidents.id));
}

/**
 * The rule a rule id counts under for a mass event, in SQL: `massRuleOf`
 * (core/external-alerts.ts) for a column. An external alert's id without its
 * `:<fingerprint>` (16 hex digits) is its name's; any other id is itself.
 */
export function massRuleSql(column: SQL | typeof incidents.ruleId): SQL<string> {
  return sql<string>`(case when substr(${column}, 1, 3) = 'am:' and length(${column}) > 20 and substr(${column}, length(${column}) - 16, 1) = ':'
    then substr(${column}, 1, length(${column}) - 17) else ${column} end)`;
}

/**
 * Incidents that count under a mass event's rule (`massRuleOf`): that very
 * rule, or, for `am:<name>`, every external alert of that name, whatever its
 * labels (a range of the rule id, then its exact length: SQLite counts
 * characters, as a string's spread does).
 */
function countsUnder(massRule: string): SQL | undefined {
  if (!massRule.startsWith('am:')) return eq(incidents.ruleId, massRule);
  return and(gte(incidents.ruleId, `${massRule}:`), lt(incidents.ruleId, `${massRule};`), sql`length(${incidents.ruleId}) = ${[...massRule].length + 17}`);
}

/** How many installations opened an incident counting under a mass event's rule (`massRuleOf`) in [from, to] (a mass event when many). */
export async function countOpenedBetween(db: Queryable, massRule: string, from: Date, to: Date): Promise<number> {
  const row = await first(
    db
      .select({ n: sql<number>`count(distinct ${incidents.installationId})` })
      .from(incidents)
      .where(and(gte(incidents.openedAt, from), lte(incidents.openedAt, to), countsUnder(massRule))),
  );
  return row?.n ?? 0;
}

/** Whether an unresolved critical incident of the installation opened at that very moment (the same report showed it). */
export async function hasCriticalOpenedAt(db: Queryable, installationId: number, at: Date): Promise<boolean> {
  return (await criticalOpenedAtStatement.values(db, installationId, at.getTime())).length > 0;
}

/** Unresolved notices (`info`) counting under a mass event's rule, opened since a moment, that were not yet sent as part of a mass event. */
export async function listUnsentNoticesSince(db: Queryable, massRule: string, since: Date): Promise<Incident[]> {
  return db
    .select()
    .from(incidents)
    .where(
      and(
        gte(incidents.openedAt, since),
        countsUnder(massRule),
        eq(incidents.severity, 'info'),
        ne(incidents.status, 'resolved'),
        withoutEvent('mass'),
      ),
    )
    .orderBy(asc(incidents.id));
}

/** Announced, unacknowledged incidents due for a reminder or an escalation. */
export async function listFollowUpsDue(db: Queryable, now: Date, escalateBefore: Date): Promise<Incident[]> {
  return db
    .select()
    .from(incidents)
    .where(
      and(
        eq(incidents.status, 'open'),
        isNotNull(incidents.announcedAt),
        or(
          lte(incidents.nextReminderAt, now),
          and(eq(incidents.severity, 'critical'), isNull(incidents.escalatedAt), lte(incidents.announcedAt, escalateBefore)),
        ),
      ),
    )
    .orderBy(asc(incidents.id));
}

/**
 * What keeps people from hearing of an incident that was never announced, now:
 * a silence (until when), the open alert it waits for (core/dependencies.ts),
 * or nothing any more (the next check announces it).
 */
export type IncidentHold = { by: 'silence'; silenceId: number; until: Date } | { by: 'cause'; ruleId: string } | { by: 'nothing' };

/**
 * What holds each of these incidents that is unresolved and was never
 * announced (notices aside: they never are), judged as the sweep judges it
 * (`holdOf`); the others have no entry. `holdOf` asks for an installation's
 * active rules synchronously, so they are read before it, once per
 * installation, for the rules that can wait (`canWait`): the only ones it
 * asks them for.
 */
export async function listHolds(
  db: Queryable,
  rows: readonly (Pick<Incident, 'id' | 'installationId' | 'ruleId' | 'severity' | 'status' | 'announcedAt'> & { clientId: number })[],
  now: Date,
): Promise<Map<number, IncidentHold>> {
  const holds = new Map<number, IncidentHold>();
  const held = rows.filter((r) => r.status !== 'resolved' && r.announcedAt === null && r.severity !== 'info');
  if (held.length === 0) return holds;
  const silences = (await listActiveSilences(db, now)).map(toSilence);
  const activeRules = new Map<number, ReadonlySet<string>>();
  for (const row of held) {
    if (!canWait(row.ruleId) || activeRules.has(row.installationId)) continue;
    activeRules.set(row.installationId, new Set((await listActiveRules(db, row.installationId)).map((r) => r.ruleId)));
  }
  const none: ReadonlySet<string> = new Set();
  for (const row of held) {
    const hold = holdOf(row, silences, () => activeRules.get(row.installationId) ?? none, now);
    holds.set(row.id, !hold ? { by: 'nothing' } : 'silence' in hold ? { by: 'silence', silenceId: hold.silence.id, until: hold.silence.endsAt } : { by: 'cause', ruleId: hold.cause });
  }
  return holds;
}

export interface IncidentListRow extends Incident {
  installationName: string;
  clientId: number;
  clientName: string;
}

export async function listIncidentsWithNames(db: Queryable, options: { includeResolved: boolean; limit?: number }): Promise<IncidentListRow[]> {
  const query = db
    .select({
      incident: incidents,
      installationName: installations.name,
      clientId: clients.id,
      clientName: clients.name,
    })
    .from(incidents)
    .innerJoin(installations, eq(installations.id, incidents.installationId))
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .where(options.includeResolved ? sql`1 = 1` : ne(incidents.status, 'resolved'))
    .orderBy(...(options.includeResolved ? [desc(incidents.id)] : [asc(incidents.openedAt), asc(incidents.id)]))
    .limit(options.limit ?? 1000);
  return (await query).map((r) => ({ ...r.incident, installationName: r.installationName, clientId: r.clientId, clientName: r.clientName }));
}

/** An incident with the names a message about it shows. */
export interface IncidentView {
  incident: Incident;
  installationName: string;
  clientId: number;
  clientName: string;
  managerId: number | null;
  managerName: string | null;
  managerLeadId: number | null;
  acknowledgedByName: string | null;
  resolvedByName: string | null;
  /** For KodeksIcmp: alerts of the installation held back because it does not answer. */
  heldBack: number;
  /** The latest snooze of this alert (its installation and rule, or its whole installation, as the buttons make them), ended or not: until when, and by whom. */
  snoozedUntil: Date | null;
  snoozedByName: string | null;
}

/** The latest snooze of an incident's alert, one column of it (a silence of its installation, of its rule or of all, not lifted). */
function latestSnooze(column: SQL) {
  return sql`(select ${column} from silences s left join users u on s.author = 'tg:' || u.telegram_id
    where s.installation_id = ${incidents.installationId} and (s.rule_id = ${incidents.ruleId} or s.rule_id is null) and s.client_id is null and s.removed_at is null
    order by s.ends_at desc, s.id desc limit 1)`;
}

/** How many alerts an incident holds back while it is open (core/dependencies.ts), as one SQL expression. */
function heldBackCount() {
  const cases = DEPENDENCIES.map(
    ({ cause, waiting }) => sql`when ${incidents.ruleId} = ${cause} then (
        select count(*) from incidents held
        where held.installation_id = ${incidents.installationId} and held.status <> 'resolved' and held.announced_at is null
          and held.rule_id in (${sql.join(waiting.map((rule) => sql`${rule}`), sql`, `)}))`,
  );
  return sql<number>`case when ${incidents.status} = 'resolved' then 0 ${sql.join(cases, sql` `)} else 0 end`;
}

export async function getIncidentViews(db: Queryable, ids: readonly number[]): Promise<IncidentView[]> {
  if (ids.length === 0) return [];
  const manager = aliasOf(db, users, 'manager');
  const acker = aliasOf(db, users, 'acker');
  const resolver = aliasOf(db, users, 'resolver');
  const rows = await db
    .select({
      incident: incidents,
      installationName: installations.name,
      clientId: clients.id,
      clientName: clients.name,
      managerId: clients.managerId,
      managerName: manager.name,
      managerLeadId: manager.leadId,
      acknowledgedByName: acker.name,
      resolvedByName: resolver.name,
      heldBack: heldBackCount(),
      snoozedUntil: sql<Date | null>`${latestSnooze(sql`s.ends_at`)}`.mapWith(incidents.openedAt),
      snoozedByName: sql<string | null>`${latestSnooze(sql`coalesce(u.name, s.author)`)}`,
    })
    .from(incidents)
    .innerJoin(installations, eq(installations.id, incidents.installationId))
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .leftJoin(manager, eq(manager.telegramId, clients.managerId))
    .leftJoin(acker, sql`${incidents.acknowledgedBy} = 'tg:' || ${acker.telegramId}`)
    .leftJoin(resolver, sql`${incidents.resolvedBy} = 'tg:' || ${resolver.telegramId}`)
    .where(inArray(incidents.id, [...ids]))
    .orderBy(asc(incidents.id));
  return rows.map((row) => ({
    ...row,
    // People are shown by name; other actors (cli:…, system) as they are.
    acknowledgedByName: row.acknowledgedByName ?? row.incident.acknowledgedBy,
    resolvedByName: row.resolvedByName ?? row.incident.resolvedBy,
  }));
}

/** An installation's incidents opened since `since`, and any older one still open: newest first, at most `limit`. */
export async function listIncidentIdsOfInstallation(db: Queryable, installationId: number, since: Date, limit: number): Promise<number[]> {
  const rows = await db
    .select({ id: incidents.id })
    .from(incidents)
    .where(and(eq(incidents.installationId, installationId), or(gte(incidents.openedAt, since), ne(incidents.status, 'resolved'))))
    .orderBy(desc(incidents.openedAt))
    .limit(limit);
  return rows.map((r) => r.id);
}
