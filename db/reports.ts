import { desc, eq, inArray, lt } from 'drizzle-orm';
import type { AgentReport } from '../core/report.ts';
import type { DB, Queryable } from './open.ts';
import { statement } from './statements.ts';
import { changedRows } from './query.ts';
import { reports } from './schema.ts';

const insert = statement(
  'reports.insert',
  `INSERT INTO reports (installation_id, report_id, content_hash, received_at, generated_at, format_version, facts)
   VALUES (@installationId, @reportId, @contentHash, @receivedAt, @generatedAt, @formatVersion, @facts)
   ON CONFLICT (installation_id, report_id, content_hash) DO NOTHING RETURNING id`,
);

/** Store a report; returns its row id, or null when this installation already sent this very report (same id, same content). */
export async function insertReport(db: DB, installationId: number, report: AgentReport, receivedAt: Date): Promise<number | null> {
  const row = await insert.get<{ id: number }>(
    db,
    {
      installationId,
      reportId: report.reportId,
      contentHash: report.contentHash,
      receivedAt,
      generatedAt: report.generatedAt,
      formatVersion: report.formatVersion,
      facts: report.facts,
    },
  );
  return row?.id ?? null;
}

/** Forget up to `limit` reports received before `before`, oldest first; returns how many went. */
export async function deleteReportsBefore(db: DB, before: Date, limit: number): Promise<number> {
  const oldest = db.select({ id: reports.id }).from(reports).where(lt(reports.receivedAt, before)).limit(limit);
  return changedRows(await db.delete(reports).where(inArray(reports.id, oldest)));
}

/** An installation's latest reports, newest first. */
export async function listRecentReports(
  db: Queryable,
  installationId: number,
  limit: number,
): Promise<Pick<typeof reports.$inferSelect, 'id' | 'reportId' | 'receivedAt' | 'generatedAt' | 'facts'>[]> {
  return await db
    .select({ id: reports.id, reportId: reports.reportId, receivedAt: reports.receivedAt, generatedAt: reports.generatedAt, facts: reports.facts })
    .from(reports)
    .where(eq(reports.installationId, installationId))
    .orderBy(desc(reports.receivedAt), desc(reports.id))
    .limit(limit);
}
