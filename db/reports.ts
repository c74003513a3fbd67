import { desc, eq, inArray, lt } from 'drizzle-orm';
import type { AgentReport } from '../core/report.ts';
import type { DB, Queryable } from './open.ts';
import { chunks, ROWS_PER_STATEMENT } from './chunks.ts';
import { MultiRowStatement, statement } from './statements.ts';
import { changedRows } from './query.ts';
import { reports } from './schema.ts';

const insert = statement(
  'reports.insert',
  `INSERT INTO reports (installation_id, report_id, content_hash, received_at, generated_at, format_version, facts)
   VALUES (@installationId, @reportId, @contentHash, @receivedAt, @generatedAt, @formatVersion, @facts)
   ON CONFLICT (installation_id, report_id, content_hash) DO NOTHING RETURNING id`,
);

/** Store a report; returns its row id, or null when this installation already sent this very report (same id, same content). */
export async function insertReport(db: Queryable, installationId: number, report: AgentReport, receivedAt: Date): Promise<number | null> {
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

const insertMany = new MultiRowStatement(
  'reports.insertMany',
  'INSERT INTO reports (installation_id, report_id, content_hash, received_at, generated_at, format_version, facts) VALUES',
  '(?, ?, ?, ?, ?, ?, ?)',
  `ON CONFLICT (installation_id, report_id, content_hash) DO NOTHING
   RETURNING id, installation_id AS "installationId", report_id AS "reportId", content_hash AS "contentHash"`,
);

/**
 * Store many reports, a statement per ROWS_PER_STATEMENT of them; each one's
 * row id in the order given, or null where that installation already sent that
 * very report (same id, same content), before or earlier in the list.
 */
export async function insertReports(db: Queryable, entries: readonly { installationId: number; report: AgentReport; receivedAt: Date }[]): Promise<(number | null)[]> {
  const key = (installationId: number, reportId: string, contentHash: string) => `${installationId}\u0000${reportId}\u0000${contentHash}`;
  const stored = new Map<string, number>();
  for (const chunk of chunks(entries, ROWS_PER_STATEMENT)) {
    const rows = chunk.map(({ installationId, report, receivedAt }) => [installationId, report.reportId, report.contentHash, receivedAt, report.generatedAt, report.formatVersion, report.facts]);
    // RETURNING promises no order: rows are matched by their key.
    for (const row of await insertMany.all<{ id: number; installationId: number; reportId: string; contentHash: string }>(db, rows)) {
      stored.set(key(row.installationId, row.reportId, row.contentHash), row.id);
    }
  }
  return entries.map(({ installationId, report }) => {
    const k = key(installationId, report.reportId, report.contentHash);
    const id = stored.get(k);
    // The same report twice in one list is stored once: the first is answered with its row, the repeat as a duplicate.
    stored.delete(k);
    return id ?? null;
  });
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
