import { inArray, lt } from 'drizzle-orm';
import type { AgentReport } from '../core/report.ts';
import type { DB, Queryable } from './open.ts';
import { chunks, ROWS_PER_STATEMENT } from './chunks.ts';
import { MultiRowStatement, statement } from './statements.ts';
import { changedRows } from './query.ts';
import { reports } from './schema.ts';

const insertMany = new MultiRowStatement(
  'reports.insertMany',
  'INSERT INTO reports (installation_id, report_id, content_hash, received_at, generated_at, format_version, facts, dedupe_at, previous_id) VALUES',
  '(?, ?, ?, ?, ?, ?, ?, ?, ?)',
  `ON CONFLICT (dedupe_at, installation_id, report_id, content_hash) DO NOTHING
   RETURNING id, installation_id AS "installationId"`,
);

export interface ReportEntry {
  installationId: number;
  report: AgentReport;
  receivedAt: Date;
}

/**
 * Store many reports, a statement per ROWS_PER_STATEMENT of them; each one's
 * row id in the order given, or null where that installation already sent that
 * very report (same id, same generation time, same content), before or earlier
 * in the list. `heads` holds each installation's newest stored report (absent:
 * none yet, as `installation_state.last_report_id` says): each report stored
 * is linked to it and becomes it, so the caller can keep it in the state.
 * Reports of one installation are stored in the order given, the second of
 * them in a statement after the first's, so each links to the one before.
 */
export async function insertReports(db: Queryable, entries: readonly ReportEntry[], heads = new Map<number, number>()): Promise<(number | null)[]> {
  const rounds: number[][] = [];
  const seen = new Map<number, number>();
  entries.forEach(({ installationId }, index) => {
    const round = seen.get(installationId) ?? 0;
    seen.set(installationId, round + 1);
    (rounds[round] ??= []).push(index);
  });
  const ids: (number | null)[] = entries.map(() => null);
  for (const round of rounds) {
    for (const chunk of chunks(round, ROWS_PER_STATEMENT)) {
      const rows = chunk.map((index) => {
        const { installationId, report, receivedAt } = entries[index]!;
        const generatedAt = report.generatedAt;
        return [installationId, report.reportId, report.contentHash, receivedAt, generatedAt, report.formatVersion, report.facts, generatedAt?.getTime() ?? 0, heads.get(installationId) ?? null];
      });
      // A round holds one report per installation, and RETURNING promises no order: rows are matched by installation.
      const stored = new Map<number, number>();
      for (const row of await insertMany.all<{ id: number; installationId: number }>(db, rows)) stored.set(row.installationId, row.id);
      for (const index of chunk) {
        const { installationId } = entries[index]!;
        const id = stored.get(installationId);
        if (id === undefined) continue;
        ids[index] = id;
        heads.set(installationId, id);
      }
    }
  }
  return ids;
}

/** Forget up to `limit` reports received before `before`, oldest first; returns how many went. */
export async function deleteReportsBefore(db: DB, before: Date, limit: number): Promise<number> {
  const oldest = db.select({ id: reports.id }).from(reports).where(lt(reports.receivedAt, before)).limit(limit);
  return changedRows(await db.delete(reports).where(inArray(reports.id, oldest)));
}

/** An installation's reports from its newest back, by the chain each report keeps (`previous_id`), at most `limit`. */
const chain = statement(
  'reports.chain',
  `WITH RECURSIVE chain (id, depth) AS (
     SELECT last_report_id, 1 FROM installation_state WHERE installation_id = ? AND last_report_id IS NOT NULL
     UNION ALL
     SELECT r.previous_id, c.depth + 1 FROM chain c JOIN reports r ON r.id = c.id WHERE r.previous_id IS NOT NULL AND c.depth < ?
   )
   SELECT id FROM chain ORDER BY depth`,
);

/** An installation's latest reports, newest first. */
export async function listRecentReports(
  db: Queryable,
  installationId: number,
  limit: number,
): Promise<Pick<typeof reports.$inferSelect, 'id' | 'reportId' | 'receivedAt' | 'generatedAt' | 'facts'>[]> {
  const ids = (await chain.values(db, installationId, limit)).map(([id]) => id as number);
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: reports.id, reportId: reports.reportId, receivedAt: reports.receivedAt, generatedAt: reports.generatedAt, facts: reports.facts })
    .from(reports)
    .where(inArray(reports.id, ids));
  // A report pruned meanwhile is left out; the rest come in the chain's order.
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}
