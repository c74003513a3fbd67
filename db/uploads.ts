import { and, asc, desc, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { first, rawRow, rawRows } from './query.ts';
import type { UploadReading } from '../core/sysinfo-mapping.ts';
import { installations, uploads, uploadTokens, UPLOAD_KINDS } from './schema.ts';

export type Upload = typeof uploads.$inferSelect;
export type UploadKind = (typeof UPLOAD_KINDS)[number];
export type UploadToken = typeof uploadTokens.$inferSelect;

export async function insertUpload(db: Queryable, upload: typeof uploads.$inferInsert): Promise<Upload> {
  return (await first(db.insert(uploads).values(upload).returning()))!;
}

/** The latest stored file of this name and kind: for the installation when given, else among those no installation has. */
export async function findLatestUpload(db: Queryable, where: { installationId: number | null; name: string; kind: UploadKind }): Promise<Upload | undefined> {
  return first(
    db
      .select()
      .from(uploads)
      .where(
        and(
          where.installationId === null ? isNull(uploads.installationId) : eq(uploads.installationId, where.installationId),
          sql`lower(${uploads.name}) = lower(${where.name})`,
          eq(uploads.kind, where.kind),
        ),
      )
      .orderBy(desc(uploads.receivedAt), desc(uploads.id))
      .limit(1),
  );
}

/** The kinds of upload that are a sysinfo (an archive, or its XML alone). */
export const SYSINFO_KINDS: UploadKind[] = ['zip', 'xml'];

/** The installation's newest sysinfo file (archive or XML). */
export async function findLatestSysinfo(db: Queryable, installationId: number): Promise<Upload | undefined> {
  return first(
    db
      .select()
      .from(uploads)
      .where(and(eq(uploads.installationId, installationId), inArray(uploads.kind, SYSINFO_KINDS)))
      .orderBy(desc(uploads.receivedAt), desc(uploads.id))
      .limit(1),
  );
}

/** An installation's uploads, latest first. */
export async function listUploadsOf(db: Queryable, installationId: number, limit = 100): Promise<Upload[]> {
  return db.select().from(uploads).where(eq(uploads.installationId, installationId)).orderBy(desc(uploads.receivedAt), desc(uploads.id)).limit(limit);
}

export async function getUpload(db: Queryable, id: number): Promise<Upload | undefined> {
  return first(db.select().from(uploads).where(eq(uploads.id, id)));
}

/** Names uploaded under a fleet token that no installation has: how many files each, and when first and last. */
export async function listUnmatchedUploadNames(db: Queryable): Promise<{ name: string; files: number; firstAt: Date; lastAt: Date; dealer: string | null }[]> {
  return db
    .select({
      // One spelling of the name for its group (PostgreSQL takes no bare column beside an aggregate).
      name: sql<string>`min(${uploads.name})`,
      files: sql<number>`count(*)`,
      firstAt: sql<number>`min(${uploads.receivedAt})`.mapWith((v: number) => new Date(v)),
      lastAt: sql<number>`max(${uploads.receivedAt})`.mapWith((v: number) => new Date(v)),
      dealer: sql<string | null>`max(${uploads.dealer})`,
    })
    .from(uploads)
    .where(isNull(uploads.installationId))
    .groupBy(sql`lower(${uploads.name})`)
    .orderBy(sql`min(${uploads.name})`);
}

/** Give the unmatched uploads of a name to an installation: the files, latest last. */
export async function assignUnmatchedUploads(db: Queryable, name: string, installationId: number): Promise<Upload[]> {
  return (
    await db
      .update(uploads)
      .set({ installationId })
      .where(and(isNull(uploads.installationId), sql`lower(${uploads.name}) = lower(${name})`))
      .returning()
  ).sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime());
}

/** The installation that takes uploads of this base name, whatever its case. */
export async function findInstallationByUploadName(db: Queryable, name: string): Promise<{ id: number; name: string; tz: string; monitoringEnabled: boolean } | undefined> {
  return first(
    db
      .select({ id: installations.id, name: installations.name, tz: installations.tz, monitoringEnabled: installations.monitoringEnabled })
      .from(installations)
      .where(sql`lower(${installations.uploadName}) = lower(${name})`),
  );
}

/**
 * The uploads retention lets go: beyond the newest `keep` of each
 * installation and kind (of each name, for files no installation has), those older than `before`, except the newest
 * of each day (kept for the whole retention); and files no installation has, received before `unmatchedBefore`,
 * whatever their number (a fleet token can send under any number of names).
 */
export async function listPrunableUploads(db: Queryable, options: { keep: number; before: Date; dayOffsetMs: number; unmatchedBefore: Date }): Promise<Upload[]> {
  // Files of an installation go together whatever their names (a sysinfo archive is named by its date); unmatched ones by name.
  const owner = sql`coalesce(CAST(${uploads.installationId} AS TEXT), 'name:' || lower(${uploads.name}))`;
  const ranked = db.$with('ranked').as(
    db
      .select({
        id: uploads.id,
        rank: sql<number>`row_number() OVER (PARTITION BY ${owner}, ${uploads.kind} ORDER BY ${uploads.receivedAt} DESC, ${uploads.id} DESC)`.as('rank'),
        dayRank: sql<number>`row_number() OVER (PARTITION BY ${owner}, ${uploads.kind}, CAST((${uploads.receivedAt} + ${options.dayOffsetMs}) / 86400000 AS INTEGER) ORDER BY ${uploads.receivedAt} DESC, ${uploads.id} DESC)`.as('day_rank'),
        receivedAt: uploads.receivedAt,
      })
      .from(uploads),
  );
  const rows = await db
    .with(ranked)
    .select({ upload: uploads })
    .from(uploads)
    .innerJoin(ranked, eq(ranked.id, uploads.id))
    .where(
      sql`(${ranked.rank} > ${options.keep} AND (${ranked.dayRank} > 1 OR ${uploads.receivedAt} < ${options.before.getTime()}))
        OR (${uploads.installationId} IS NULL AND ${uploads.receivedAt} < ${options.unmatchedBefore.getTime()})`,
    );
  return rows.map((row) => row.upload);
}

export async function deleteUploads(db: Queryable, ids: readonly number[]): Promise<void> {
  for (const id of ids) await db.delete(uploads).where(eq(uploads.id, id));
}

/** Every stored file's path, to tell a file on disk that no row owns (a crash between storing and recording it). */
export async function listUploadPaths(db: Queryable): Promise<Set<string>> {
  return new Set((await db.select({ path: uploads.path }).from(uploads)).map((row) => row.path));
}

/** Bytes uploaded since `since` by an installation's files, or under a fleet token: what its daily quota counts. */
export async function uploadedBytesSince(db: Queryable, who: { installationId: number } | { uploadTokenId: number }, since: Date): Promise<number> {
  const owner = 'installationId' in who ? eq(uploads.installationId, who.installationId) : eq(uploads.uploadTokenId, who.uploadTokenId);
  return (await first(
    db
      .select({ bytes: sql<number>`coalesce(sum(${uploads.size}), 0)` })
      .from(uploads)
      .where(and(owner, sql`${uploads.receivedAt} >= ${since.getTime()}`)),
  ))!.bytes;
}

/**
 * When the installation's own agent last reported: its reports (a report of
 * an upload has an id `upload:…`) and the files sent under its own token;
 * null when it never has.
 */
export async function lastOwnAgentReportAt(db: Queryable, installationId: number): Promise<Date | null> {
  // Its reports are walked from the newest back (reports.previous_id) to the newest that is not an upload's.
  const row = await rawRow<{ at: number | null }>(db, sql`
    WITH RECURSIVE chain (id) AS (
      SELECT last_report_id FROM installation_state WHERE installation_id = ${installationId} AND last_report_id IS NOT NULL
      UNION ALL
      SELECT r.previous_id FROM chain c JOIN reports r ON r.id = c.id WHERE r.previous_id IS NOT NULL AND r.report_id LIKE 'upload:%'
    )
    SELECT max(at) AS at FROM (
      SELECT max(r.received_at) AS at FROM chain c JOIN reports r ON r.id = c.id WHERE r.report_id NOT LIKE 'upload:%'
      UNION ALL
      SELECT max(received_at) FROM uploads WHERE installation_id = ${installationId} AND upload_token_id IS NULL
    ) AS latest`);
  return row?.at == null ? null : new Date(row.at);
}

/** A name uploaded under a fleet token that no installation has, first seen past a point: for the admins' summary. */
export interface NewUnmatchedName {
  name: string;
  /** Its first file past the point (the «🔗» button attaches by it) and that file's full name. */
  uploadId: number;
  kind: UploadKind;
  /** The fleet token's label. */
  label: string | null;
  files: number;
}

/**
 * Names whose first unmatched file came after upload `afterId` (none of that
 * name, in any case, was unmatched before it), in the order they came, and
 * the newest upload id looked at.
 */
export async function listNewUnmatchedNames(db: Queryable, afterId: number): Promise<{ names: NewUnmatchedName[]; lastId: number }> {
  const lastId = (await first(db.select({ id: sql<number | null>`max(${uploads.id})` }).from(uploads)))?.id ?? afterId;
  const names = await rawRows<{ name: string; uploadId: number; kind: UploadKind; label: string | null; files: number }>(db, sql`
    SELECT u.name AS name, u.id AS "uploadId", u.kind AS kind, t.label AS label, n.files AS files
    FROM (
      SELECT min(id) AS first, count(*) AS files FROM uploads
      WHERE installation_id IS NULL AND id > ${afterId} AND id <= ${lastId}
      GROUP BY lower(name)
    ) n
    JOIN uploads u ON u.id = n.first
    LEFT JOIN upload_tokens t ON t.id = u.upload_token_id
    WHERE u.upload_token_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM uploads p WHERE p.installation_id IS NULL AND lower(p.name) = lower(u.name) AND p.id <= ${afterId})
    ORDER BY u.id`);
  return { names, lastId };
}

// ------------------------------------------------------------ fleet upload tokens

export async function insertUploadToken(db: Queryable, token: typeof uploadTokens.$inferInsert): Promise<UploadToken> {
  return (await first(db.insert(uploadTokens).values(token).returning()))!;
}

export async function findUploadTokenByHash(db: Queryable, tokenHash: string): Promise<UploadToken | undefined> {
  return first(db.select().from(uploadTokens).where(and(eq(uploadTokens.tokenHash, tokenHash), isNull(uploadTokens.revokedAt))));
}

export async function listUploadTokens(db: Queryable): Promise<UploadToken[]> {
  return db.select().from(uploadTokens).orderBy(asc(uploadTokens.id));
}

export async function getUploadToken(db: Queryable, id: number): Promise<UploadToken | undefined> {
  return first(db.select().from(uploadTokens).where(eq(uploadTokens.id, id)));
}

export async function revokeUploadToken(db: Queryable, id: number, at: Date): Promise<void> {
  await db.update(uploadTokens).set({ revokedAt: at }).where(eq(uploadTokens.id, id));
}

/** Installations that have a stored sysinfo (`.zip` or `.xml`). */
export async function listInstallationsWithSysinfo(db: Queryable): Promise<number[]> {
  const rows = await db
    .selectDistinct({ id: uploads.installationId })
    .from(uploads)
    .where(and(isNotNull(uploads.installationId), inArray(uploads.kind, SYSINFO_KINDS)))
    .orderBy(asc(uploads.installationId));
  return rows.map((row) => row.id!);
}

/** What reading an upload by the sysinfo mapping gave, and the time inside it. */
export async function saveUploadReading(db: Queryable, uploadId: number, reading: { takenAt: Date | null; reading: UploadReading }): Promise<void> {
  await db.update(uploads).set(reading).where(eq(uploads.id, uploadId));
}
