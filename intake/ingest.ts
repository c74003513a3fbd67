import type { AgentReport } from '../core/report.ts';
import { applyReport } from '../core/state.ts';
import type { DB } from '../db/open.ts';
import { insertReport } from '../db/reports.ts';
import { getState, saveState } from '../db/state.ts';

export type IngestResult = { status: 'stored'; reportRowId: number } | { status: 'duplicate' };

/**
 * Store a report and fold it into the installation's latest state, in one
 * transaction: either both are written or neither. A repeated report id is
 * acknowledged without writing anything.
 */
export function ingestReport(db: DB, installationId: number, report: AgentReport, receivedAt: Date): IngestResult {
  return db.transaction(
    (tx) => {
      const reportRowId = insertReport(tx, installationId, report, receivedAt);
      if (reportRowId === null) return { status: 'duplicate' } as const;
      const previous = getState(tx, installationId);
      saveState(tx, installationId, applyReport(previous, report, receivedAt));
      return { status: 'stored', reportRowId } as const;
    },
    { behavior: 'immediate' },
  );
}
