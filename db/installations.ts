import { and, asc, eq, getTableColumns, inArray, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
import type { ThresholdValue } from '../core/rules.ts';
import type { DB, Queryable } from './open.ts';
import { chunks, ROWS_PER_STATEMENT } from './chunks.ts';
import { flagValue, isPostgres } from './dialect.ts';
import { prepared, rootOf } from './prepared.ts';
import { statement } from './statements.ts';
import { ungated } from './gate.ts';
import { withTurn } from './transaction.ts';
import { first } from './query.ts';
import { clients, installations, metricsSnapshots, probeState } from './schema.ts';

export type Installation = typeof installations.$inferSelect;
export type NewInstallation = typeof installations.$inferInsert;

/** Many installations at once (a bulk import), returned in the order given. */
export async function insertInstallations(db: Queryable, rows: readonly NewInstallation[]): Promise<Installation[]> {
  const byToken = new Map<string, Installation>();
  for (const chunk of chunks(rows, ROWS_PER_STATEMENT)) {
    // RETURNING promises no order; each row's token hash is unique.
    for (const row of await db.insert(installations).values(chunk).returning()) byToken.set(row.tokenHash, row);
  }
  return rows.map((row) => byToken.get(row.tokenHash)!);
}

/** The installation names these clients already use. */
export async function listInstallationNames(db: Queryable, clientIds: readonly number[]): Promise<{ clientId: number; name: string }[]> {
  const names: { clientId: number; name: string }[] = [];
  for (const chunk of chunks(clientIds, ROWS_PER_STATEMENT)) {
    names.push(...(await db.select({ clientId: installations.clientId, name: installations.name }).from(installations).where(inArray(installations.clientId, chunk))));
  }
  return names;
}

export async function getInstallation(db: Queryable, id: number): Promise<Installation | undefined> {
  const root = rootOf(db);
  // A drizzle statement prepared once per SQLite connection: the intake reads the installation of every report.
  if (root && !isPostgres(root)) {
    const byId = prepared(root, 'installation.byId', (d) => ungated(d).select().from(installations).where(eq(installations.id, sql.placeholder('id'))).prepare());
    return withTurn(root, () => byId.get({ id }));
  }
  return first(db.select().from(installations).where(eq(installations.id, id)));
}

export async function listInstallationsOfClient(db: Queryable, clientId: number): Promise<Installation[]> {
  return db
    .select()
    .from(installations)
    .where(eq(installations.clientId, clientId))
    .orderBy(asc(installations.name));
}

export interface InstallationWithClient extends Installation {
  clientName: string;
}

export async function listInstallations(db: Queryable): Promise<InstallationWithClient[]> {
  return db
    .select({ ...getTableColumns(installations), clientName: clients.name })
    .from(installations)
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .orderBy(asc(clients.name), asc(installations.name));
}

/** What the intake needs about the installation a token belongs to, and what judging its report needs. */
export interface TokenOwner {
  id: number;
  tokenHash: string;
  tz: string;
  monitoringEnabled: boolean;
  createdAt: Date;
  thresholds: Record<string, ThresholdValue>;
}

const byTokenHash = statement(
  'installation.byTokenHash',
  `SELECT id, token_hash AS "tokenHash", tz, monitoring_enabled AS "monitoringEnabled", created_at AS "createdAt", thresholds
   FROM installations WHERE token_hash = ?`,
);

export async function findInstallationByTokenHash(db: DB, tokenHash: string): Promise<TokenOwner | undefined> {
  // Every report asks this: a raw statement, mapped by hand (drizzle's row mapping costs more than the query).
  const row = await byTokenHash.get<{ id: number; tokenHash: string; tz: string; monitoringEnabled: number | boolean; createdAt: number; thresholds: string }>(db, tokenHash);
  if (!row) return undefined;
  return {
    id: row.id,
    tokenHash: row.tokenHash,
    tz: row.tz,
    monitoringEnabled: flagValue(row.monitoringEnabled),
    createdAt: new Date(row.createdAt),
    thresholds: row.thresholds === '{}' ? {} : (JSON.parse(row.thresholds) as Record<string, ThresholdValue>),
  };
}

export async function updateInstallation(
  db: Queryable,
  id: number,
  changes: Partial<Omit<NewInstallation, 'id' | 'clientId' | 'createdAt'>>,
): Promise<Installation> {
  const row = await first(db.update(installations).set(changes).where(eq(installations.id, id)).returning());
  if (!row) throw new Error(`installation ${id} vanished during update`);
  return row;
}

/** An installation an external alert could belong to. */
export interface AlertTarget {
  id: number;
  name: string;
  clientName: string;
  monitoringEnabled: boolean;
}

/** Installations with this id, this exact name (names repeat across clients), or this host (case aside) or IP. */
export async function findAlertTargets(db: Queryable, by: { id: number } | { name: string } | { address: string }): Promise<AlertTarget[]> {
  const where =
    'id' in by
      ? eq(installations.id, by.id)
      : 'name' in by
        ? eq(installations.name, by.name)
        : or(sql`lower(${installations.host}) = ${by.address.toLowerCase()}`, eq(installations.ip, by.address));
  return db
    .select({ id: installations.id, name: installations.name, clientName: clients.name, monitoringEnabled: installations.monitoringEnabled })
    .from(installations)
    .innerJoin(clients, eq(clients.id, installations.clientId))
    .where(where)
    .orderBy(asc(installations.id));
}

/** What a probe round reaches: every monitored installation with a host, an IP or a web address. */
/**
 * Installations to probe, those probed longest ago first (never probed before
 * all): a round cut at its time limit is resumed by the next one where it stopped.
 */
export async function listProbeTargets(
  db: Queryable,
): Promise<{ id: number; host: string | null; ip: string | null; url: string | null; provider: string | null; licmanHost: string | null; licmanPort: number | null; tz: string }[]> {
  const lastProbed = db
    .select({ installationId: probeState.installationId, at: sql<number>`max(${probeState.checkedAt})`.as('last_probed_at') })
    .from(probeState)
    .groupBy(probeState.installationId)
    .as('last_probed');
  return db
    .select({
      id: installations.id,
      host: installations.host,
      ip: installations.ip,
      url: installations.url,
      provider: installations.provider,
      licmanHost: installations.licmanHost,
      licmanPort: installations.licmanPort,
      tz: installations.tz,
    })
    .from(installations)
    .leftJoin(lastProbed, eq(lastProbed.installationId, installations.id))
    .where(
      and(
        eq(installations.monitoringEnabled, true),
        or(isNotNull(installations.host), isNotNull(installations.ip), isNotNull(installations.url), isNotNull(installations.licmanHost)),
      ),
    )
    .orderBy(sql`${lastProbed.at} is not null`, asc(lastProbed.at), asc(installations.id));
}

/** An installation dozor reads the metrics of itself: its address and sealed account. */
export interface MetricsPullTarget {
  id: number;
  url: string;
  metricsUser: string;
  metricsSecret: string;
}

/**
 * Monitored installations with a web address and a metrics account whose
 * latest metrics (pulled or uploaded, read or not) arrived before `dueBefore`,
 * or never: those waiting longest first.
 */
export async function listMetricsPullDue(db: Queryable, dueBefore: Date): Promise<MetricsPullTarget[]> {
  return (await db
    .select({ id: installations.id, url: installations.url, metricsUser: installations.metricsUser, metricsSecret: installations.metricsSecret })
    .from(installations)
    .leftJoin(metricsSnapshots, eq(metricsSnapshots.installationId, installations.id))
    .where(
      and(
        eq(installations.monitoringEnabled, true),
        isNotNull(installations.url),
        isNotNull(installations.metricsUser),
        isNotNull(installations.metricsSecret),
        or(isNull(metricsSnapshots.receivedAt), lte(metricsSnapshots.receivedAt, dueBefore)),
      ),
    )
    .orderBy(sql`${metricsSnapshots.receivedAt} is not null`, asc(metricsSnapshots.receivedAt), asc(installations.id))) as MetricsPullTarget[];
}
