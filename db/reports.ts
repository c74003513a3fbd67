import type { AgentReport } from '../core/report.ts';
import type { DB } from './open.ts';
import { prepared, toSqlParams } from './prepared.ts';

/** Store a report; returns its row id, or null when this installation already sent a report with that id. */
export function insertReport(db: DB, installationId: number, report: AgentReport, receivedAt: Date): number | null {
  const statement = prepared(db, 'reports.insert', (d) =>
    d.$client.prepare<unknown[], { id: number }>(
      `INSERT INTO reports (installation_id, report_id, received_at, generated_at, format_version, facts)
       VALUES (@installationId, @reportId, @receivedAt, @generatedAt, @formatVersion, @facts)
       ON CONFLICT (installation_id, report_id) DO NOTHING RETURNING id`,
    ),
  );
  const row = statement.get(
    toSqlParams({
      installationId,
      reportId: report.reportId,
      receivedAt,
      generatedAt: report.generatedAt,
      formatVersion: report.formatVersion,
      facts: report.facts,
    }),
  );
  return row?.id ?? null;
}
