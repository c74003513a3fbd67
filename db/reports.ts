import type { AgentReport } from '../core/report.ts';
import type { Queryable } from './open.ts';
import { reports } from './schema.ts';

/** Store a report; returns its row id, or null when this installation already sent a report with that id. */
export function insertReport(
  db: Queryable,
  installationId: number,
  report: AgentReport,
  receivedAt: Date,
): number | null {
  const row = db
    .insert(reports)
    .values({
      installationId,
      reportId: report.reportId,
      receivedAt,
      generatedAt: report.generatedAt,
      formatVersion: report.formatVersion,
      facts: report.facts,
    })
    .onConflictDoNothing({ target: [reports.installationId, reports.reportId] })
    .returning({ id: reports.id })
    .get();
  return row?.id ?? null;
}
