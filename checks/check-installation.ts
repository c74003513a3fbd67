import { reconcile } from '../core/incidents.ts';
import { evaluateInstallation, getRule, RULE_IDS } from '../core/rules.ts';
import type { Silence } from '../core/silences.ts';
import { listActiveIncidents, type Incident } from '../db/incidents.ts';
import type { Queryable } from '../db/open.ts';
import { getPolicy, type Policy } from '../db/policies.ts';
import { getInstallation, setNextCheck } from '../db/installations.ts';
import type { InstallationState } from '../core/state.ts';
import { getState } from '../db/state.ts';
import { activeSilences, loadSubject, openIncident, resolveIncident } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';

/** The catalogue's rules are judged here; incidents from other sources (probes, Alertmanager) are left alone. */
const CATALOGUE = new Set<string>(RULE_IDS);

export interface CheckOutcome {
  opened: Incident[];
  resolved: Incident[];
}

/** Lookups that stay the same for a whole sweep, loaded once by the caller when it checks many installations. */
export interface SharedLookups {
  policy?: Policy;
  silences?: Silence[];
  /** The installation's state, when the caller has just computed it. */
  state?: InstallationState | null;
}

/**
 * Judge one installation by every rule and bring its incidents in line: open
 * what now holds, resolve what no longer does, and note when to look again.
 * Runs inside the caller's transaction (the intake's, or the sweep's).
 */
export function checkInstallation(
  tx: Queryable,
  settings: IncidentSettings,
  installationId: number,
  now: Date,
  shared: SharedLookups = {},
): CheckOutcome {
  const outcome: CheckOutcome = { opened: [], resolved: [] };
  const installation = getInstallation(tx, installationId);
  if (!installation || !installation.monitoringEnabled) return outcome;

  const evaluation = evaluateInstallation({
    installation,
    state: shared.state !== undefined ? shared.state : getState(tx, installationId),
    policy: shared.policy ?? getPolicy(tx),
    now,
  });
  const { open, resolve } = reconcile(listActiveIncidents(tx, installationId), evaluation.firing, CATALOGUE);

  if (open.length > 0) {
    const subject = loadSubject(tx, installationId);
    const silences = shared.silences ?? activeSilences(tx, now);
    for (const { ruleId, facts } of open) {
      outcome.opened.push(openIncident(tx, settings, subject, { ruleId, severity: getRule(ruleId).severity, facts }, now, silences));
    }
  }
  for (const incident of resolve) outcome.resolved.push(resolveIncident(tx, incident.id, 'system', 'cleared', now));

  if (installation.nextCheckAt?.getTime() !== evaluation.recheckAt?.getTime()) setNextCheck(tx, installationId, evaluation.recheckAt);
  return outcome;
}
