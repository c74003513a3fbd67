import type { PageState } from '../core/probe-rules.ts';
import { applyPageState } from '../core/state.ts';
import type { DB } from '../db/open.ts';
import { getState, saveState } from '../db/state.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { checkInstallation } from './check-installation.ts';
import type { Probed } from './probe-results.ts';

const PAGE_STATES: ReadonlySet<unknown> = new Set<PageState>(['maintenance', 'need-support', 'ok']);

/**
 * The server state each main page showed in a probe round goes into the
 * installation's state, and the installation is judged again: a page in
 * maintenance opens `KodeksMaintenance` (and, three hours on,
 * `KodeksMaintenanceToLong`) as a report saying so would. An installation that
 * never reported has no state to fold it into and is left to its probes.
 * Runs inside the round's transaction.
 */
export async function applyPageStates(db: DB, settings: IncidentSettings, probed: readonly Probed[], at: Date): Promise<number> {
  let changed = 0;
  for (const { target, results } of probed) {
    const page = results.http?.detail?.page;
    if (!PAGE_STATES.has(page)) continue;
    const previous = await getState(db, target.id);
    const next = previous ? applyPageState(previous, page as PageState, at) : null;
    if (!next) continue;
    await saveState(db, target.id, next);
    await checkInstallation(db, settings, target.id, at, { state: next });
    changed++;
  }
  return changed;
}
