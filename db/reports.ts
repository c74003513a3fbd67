import { desc, eq, inArray, lt } from 'drizzle-orm';
import type { AgentReport } from '../core/report.ts';
import type { DB, Queryable } from './open.ts';
import { prepared, toSqlParams } from './prepared.ts';
import { reports } from './schema.ts';

/** Store a report; returns its row id, or null when this installation already sent this very report (same id, same content). */
export function insertReport(db: DB, installationId: number, report: AgentReport, receivedAt: Date): number | null {
  const statement = prepared(db, 'reports.insert', (d) =>
    d.$client.prepare<unknown[], { id: number }>(
      `INSERT INTO reports (installation_id, report_id, content_hash, received_at, generated_at, format_version, facts)
       VALUES (@installationId, @reportId, @contentHash, @receivedAt, @generatedAt, @formatVersion, @facts)
       ON CONFLICT (installation_id, report_id, content_hash) DO NOTHING RETURNING id`,
    ),
  );
  const row = statement.get(
    toSqlParams({
      installationId,
      reportId: report.reportId,
      contentHash: report.contentHash,
      receivedAt,
      generatedAt: report.generatedAt,
      formatVersion: report.formatVersion,
      facts: report.facts,
    }),
  );
  return row?.id ?? null;
}

/** Forget up to `limit` reports received before `before`, oldest first; returns how many went. */
export function deleteReportsBefore(db: DB, before: Date, limit: number): number {
  const oldest = db.select({ id: reports.id }).from(reports).where(lt(reports.receivedAt, before)).limit(limit);
  return db.delete(reports).where(inArray(reports.id, oldest)).run().changes;
}

/** An installation's latest reports, newest first. */
export function listRecentReports(db: Queryable, installationId: number, limit: number): Pick<typeof reports.$inferSelect, 'id' | 'reportId' | 'receivedAt' | 'generatedAt' | 'facts'>[] {
  return db
    .select({ id: reports.id, reportId: reports.reportId, receivedAt: reports.receivedAt, generatedAt: reports.generatedAt, facts: reports.facts })
    .from(reports)
    .where(eq(reports.installationId, installationId))
    .orderBy(desc(reports.receivedAt), desc(reports.id))
    .limit(limit)
    .all();
}
