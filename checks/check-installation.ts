import { reconcile, type ActiveIncident } from '../core/incidents.ts';
import { evaluateInstallation, getRule, RULE_IDS, severityOf, TIME_BASED_RULES, type Evaluation, type Facts, type RuleId, type ThresholdValue } from '../core/rules.ts';
import { UPDATABLE_RULES } from '../core/server-rules.ts';
import { explainedByLicman, LICMAN_RULES } from '../core/dependencies.ts';
import type { Silence } from '../core/silences.ts';
import { getIncident, listActiveRules, type Incident } from '../db/incidents.ts';
import type { DB, Queryable } from '../db/open.ts';
import { getPolicy, type Policy } from '../db/policies.ts';
import { getNextCheck, setNextChecks } from '../db/check-schedule.ts';
import { getInstallation } from '../db/installations.ts';
import type { InstallationState } from '../core/state.ts';
import { getState } from '../db/state.ts';
import { activeSilences, loadSubject, openIncident, resolveIncident, updateIncidentFacts } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';

/** The catalogue's rules are judged here; incidents from other sources (probes, Alertmanager) are left alone. */
const CATALOGUE = new Set<string>(RULE_IDS);
const TIME_RULES = new Set<string>(TIME_BASED_RULES.map((r) => r.id));
/** How soon an installation whose time-based rule holds while they are paused is looked at again. */
const RECHECK_WHILE_PAUSED_MS = 60_000;
/** While the clock itself is not to be trusted, time-based rules neither open nor resolve anything. */
const CATALOGUE_WITHOUT_TIME = new Set<string>(RULE_IDS.filter((id) => !TIME_RULES.has(id)));

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
  /** The installation's settings, when the caller has just read them. */
  installation?: InstallationSettings;
}

/** What judging an installation needs to know about it besides its state. */
export interface InstallationSettings {
  id: number;
  createdAt: Date;
  tz: string;
  thresholds: Record<string, ThresholdValue>;
  monitoringEnabled: boolean;
}

/**
 * Judge one installation by every rule and bring its incidents in line: open
 * what now holds, resolve what no longer does, and note when to look again.
 * Runs inside the caller's transaction, on the database itself (the intake's).
 */
export async function checkInstallation(
  db: DB,
  settings: IncidentSettings,
  installationId: number,
  now: Date,
  shared: SharedLookups = {},
): Promise<CheckOutcome> {
  const outcome: CheckOutcome = { opened: [], resolved: [] };
  const installation = shared.installation ?? (await getInstallation(db, installationId));
  if (!installation || !installation.monitoringEnabled) return outcome;

  const evaluation = evaluateInstallation({
    installation,
    state: shared.state !== undefined ? shared.state : await getState(db, installationId),
    policy: shared.policy ?? (await getPolicy(db)),
    now,
    blind: settings.clockWatch?.blind ?? null,
  });
  // The stored deadline is read here, inside the transaction: a sweep or an earlier report of the same batch may have moved it.
  const scheduled = { id: installationId, nextCheckAt: await getNextCheck(db, installationId) };
  return applyEvaluation(db, settings, scheduled, await listActiveRules(db, installationId), evaluation, now, { shared, deadlines: 'earlier-only' });
}

/** Which rules an evaluation judged: a report judges every rule; a scheduled check, unless asked for more, only the time-based ones. */
export type Judged = 'all' | 'time-based';

/** Where an installation stands in the check schedule, as read before judging it. */
export interface Scheduled {
  id: number;
  nextCheckAt: Date | null;
  /** The schedule asked for every rule to be judged (settings changed, or an incident was closed by hand). */
  allRules?: boolean;
}

export interface ApplyOptions {
  judged?: Judged;
  shared?: SharedLookups;
  /** Collects next-check changes for the caller to write in bulk; written at once when absent. */
  nextChecks?: { id: number; at: number | null }[];
  /**
   * `exact` (the sweep) stores the new deadline whatever it is. `earlier-only`
   * (a report) stores it only when it comes sooner than the stored one: a report
   * mostly pushes deadlines later (the missing-report clock restarts), and a
   * deadline left early costs one sweep visit that finds nothing and moves it,
   * once per period, instead of a write on every report.
   */
  deadlines?: 'exact' | 'earlier-only';
}

const SCOPES: Record<Judged, { trusted: ReadonlySet<string>; suspended: ReadonlySet<string> }> = {
  all: { trusted: CATALOGUE, suspended: CATALOGUE_WITHOUT_TIME },
  'time-based': { trusted: TIME_RULES, suspended: new Set() },
};

/**
 * Bring an installation's incidents in line with an evaluation: open what now
 * holds, resolve what no longer does, note when to look again. Shared by the
 * single check (intake) and the bulk sweep. Only the rules that were judged
 * open or resolve anything.
 */
export async function applyEvaluation(
  db: Queryable,
  settings: IncidentSettings,
  scheduled: Scheduled,
  active: readonly ActiveIncident[],
  evaluation: Evaluation,
  now: Date,
  { judged = 'all', shared = {}, nextChecks, deadlines = 'exact' }: ApplyOptions = {},
): Promise<CheckOutcome> {
  const outcome: CheckOutcome = { opened: [], resolved: [] };
  // After downtime time-based rules hold back opening (agents have not reported yet), never resolving: a rule that
  // stops holding was answered by fresh evidence. Only a clock in doubt stops them resolving too.
  const suspended = settings.clockWatch?.timeRulesSuspended(now.getTime()) ?? false;
  const frozen = suspended && (settings.clockWatch?.timeRulesFrozen(now.getTime()) ?? false);
  const firing = frozen ? new Map([...evaluation.firing].filter(([ruleId]) => !TIME_RULES.has(ruleId))) : evaluation.firing;
  const reconciled = reconcile(active, firing, frozen ? SCOPES[judged].suspended : SCOPES[judged].trusted);
  const open = suspended ? reconciled.open.filter(({ ruleId }) => !TIME_RULES.has(ruleId)) : reconciled.open;
  const { resolve } = reconciled;
  if (open.length > 0) {
    const subject = await loadSubject(db, scheduled.id);
    const silences = shared.silences ?? (await activeSilences(db, now));
    for (const { ruleId, facts } of open) {
      const named = await withProbableCause(db, ruleId, facts, active);
      outcome.opened.push(await openIncident(db, settings, subject, { ruleId, severity: severityOf(getRule(ruleId), named), facts: named }, now, silences));
    }
  }
  for (const incident of resolve) outcome.resolved.push(await resolveIncident(db, incident.id, 'system', 'cleared', now));
  await updateChangedFacts(db, active, firing, now);
  const stored = scheduled.nextCheckAt?.getTime() ?? null;
  let next = evaluation.recheckAt?.getTime() ?? null;
  if (suspended && [...evaluation.firing.keys()].some((ruleId) => TIME_RULES.has(ruleId))) {
    // A time-based rule holds but may not act while the clock is not trusted: look again soon, so it is judged once that ends.
    const soon = now.getTime() + RECHECK_WHILE_PAUSED_MS;
    next = next === null ? soon : Math.min(next, soon);
  }
  // A request to judge every rule is answered now, so the schedule row is rewritten whatever the deadline.
  const write = scheduled.allRules || (deadlines === 'exact' ? stored !== next : next !== null && (stored === null || next < stored));
  if (write) {
    if (nextChecks) nextChecks.push({ id: scheduled.id, at: next });
    else await setNextChecks(db, [{ id: scheduled.id, at: next }]);
  }
  return outcome;
}

/** Open incidents of rules that follow their facts (a new database error code) take the facts that hold now. */
async function updateChangedFacts(db: Queryable, active: readonly ActiveIncident[], firing: ReadonlyMap<RuleId, Facts>, now: Date): Promise<void> {
  for (const { id, ruleId } of active) {
    const facts = UPDATABLE_RULES.has(ruleId as RuleId) ? firing.get(ruleId as RuleId) : undefined;
    if (!facts) continue;
    const incident = await getIncident(db, id);
    if (!incident || JSON.stringify(incident.details) === JSON.stringify(facts)) continue;
    await updateIncidentFacts(db, incident, { severity: severityOf(getRule(ruleId as RuleId), facts), facts }, now);
  }
}

/**
 * A key alert (or a protection-code database error) whose licence manager
 * does not answer its probes names that as the probable cause, as it does
 * when the report itself says so (core/dependencies.ts).
 */
async function withProbableCause(db: Queryable, ruleId: RuleId, facts: Facts, active: readonly ActiveIncident[]): Promise<Facts> {
  if (facts.licmanUnreachable || !explainedByLicman(ruleId)) return facts;
  if (ruleId === 'KodeksDBErrors' && severityOf(getRule(ruleId), facts) !== 'critical') return facts;
  const licman = active.find((incident) => LICMAN_RULES.includes(incident.ruleId));
  if (!licman) return facts;
  const target = (await getIncident(db, licman.id))?.details.target;
  return { ...facts, licmanUnreachable: typeof target === 'string' ? target : '?' };
}
