import { checkInstallation, type CheckOutcome } from '../checks/check-installation.ts';
import type { AgentReport } from '../core/report.ts';
import { applyReport } from '../core/state.ts';
import type { DB } from '../db/open.ts';
import { insertReport } from '../db/reports.ts';
import { getState, saveState } from '../db/state.ts';
import type { IncidentSettings } from '../incidents/settings.ts';

export type IngestResult =
  | ({ status: 'stored'; reportRowId: number } & CheckOutcome)
  | { status: 'duplicate'; opened: []; resolved: [] };

/**
 * Store a report, fold it into the installation's latest state and judge the
 * new state, in one transaction: the report, the state, any incident it opens
 * or resolves and the announcements of those are written together or not at
 * all. A repeated report id is acknowledged without writing anything.
 */
export function ingestReport(
  db: DB,
  settings: IncidentSettings,
  installationId: number,
  report: AgentReport,
  receivedAt: Date,
): IngestResult {
  return db.transaction(
    (tx) => {
      const reportRowId = insertReport(tx, installationId, report, receivedAt);
      if (reportRowId === null) return { status: 'duplicate', opened: [], resolved: [] } as const;
      const previous = getState(tx, installationId);
      saveState(tx, installationId, applyReport(previous, report, receivedAt));
      const outcome = checkInstallation(tx, settings, installationId, receivedAt);
      return { status: 'stored', reportRowId, ...outcome } as const;
    },
    { behavior: 'immediate' },
  );
}
