import { startOfDay } from './calendar.ts';
import { FACT_KEYS, type AgentReport, type ReportFacts } from './report.ts';

/** What we know about one installation now: the merge of every report it sent. */
export interface InstallationState extends ReportFacts {
  lastReceivedAt: Date;
  /** Generation time of the report the facts come from (null when agents do not say). */
  lastGeneratedAt: Date | null;
  /** The shell version before the most recent version change, with when the change was seen. */
  previousShellVersion?: string;
  shellVersionChangedAt?: Date;
  /**
   * When a report last left the installation working as a whole: service
   * running, storage reachable, kit assembled, daily update and copybaseweb on
   * (facts never reported count as fine). Tells whether a version change was
   * completed.
   */
  lastHealthyAt?: Date;
  /** Since when the server has said it is in maintenance, without a break (absent when it is not). */
  maintenanceSince?: Date;
  /** The service account the server refused at its last login (absent while logins work). */
  serviceLoginRefused?: string;
  /**
   * Facts whose latest value came from somewhere other than the installation's
   * own agent (a fleet token's upload, named by its label), fact → source;
   * absent for facts the agent itself reported.
   */
  factSources?: Record<string, string>;
}

/** The facts a technician must restore after changing the shell version. */
export const RESTORE_CHECKS = ['service', 'storage', 'kit', 'dailyUpdate', 'copybaseweb'] as const;
export type RestoreCheck = (typeof RESTORE_CHECKS)[number];

export function failedRestoreChecks(state: ReportFacts): RestoreCheck[] {
  const failed: RestoreCheck[] = [];
  if (state.serviceState === 'stopped') failed.push('service');
  if (state.storageReachable === false) failed.push('storage');
  if (state.kitAssembled === false) failed.push('kit');
  if (state.dailyUpdate === false) failed.push('dailyUpdate');
  if (state.copybaseweb === false) failed.push('copybaseweb');
  return failed;
}

/**
 * Fold one report into the state. Facts a report does not mention keep their
 * previous value. A report generated before the one the state already reflects
 * (an agent flushing its queue late) proves the agent alive but does not roll
 * the facts back.
 */
export function applyReport(
  previous: InstallationState | null,
  report: AgentReport,
  receivedAt: Date,
): InstallationState {
  const generatedAt = effectiveGenerationTime(report.generatedAt, receivedAt);
  if (
    previous &&
    previous.lastGeneratedAt &&
    generatedAt &&
    generatedAt.getTime() < previous.lastGeneratedAt.getTime()
  ) {
    return { ...previous, lastReceivedAt: receivedAt };
  }

  // Reports are folded in the order they arrive, so the latest one's receipt is the last receipt,
  // even if the server's clock went back in between.
  const next: InstallationState = {
    ...previous,
    lastReceivedAt: receivedAt,
    lastGeneratedAt: generatedAt ?? previous?.lastGeneratedAt ?? null,
  };
  for (const key of FACT_KEYS) copyFact(next, report.facts, key);

  const oldVersion = previous?.shellVersion;
  const newVersion = report.facts.shellVersion;
  if (oldVersion !== undefined && newVersion !== undefined && oldVersion !== newVersion) {
    next.previousShellVersion = oldVersion;
    next.shellVersionChangedAt = generatedAt ?? receivedAt;
  }
  if (failedRestoreChecks(next).length === 0) next.lastHealthyAt = receivedAt;
  noteMaintenance(previous, next, generatedAt ?? receivedAt);
  return next;
}

/** Maintenance in a row is timed from the first report that said so; any other state ends it. */
function noteMaintenance(previous: InstallationState | null, next: InstallationState, at: Date): void {
  if (next.serverState !== 'maintenance') delete next.maintenanceSince;
  else if (previous?.serverState !== 'maintenance' || !previous.maintenanceSince) next.maintenanceSince = at;
}

/**
 * Facts read again from a file already received (a sysinfo read under a
 * changed mapping): they change what is known, not when the installation was
 * last heard from. A version change is noted as a report's would be.
 */
export function applyFacts(previous: InstallationState, facts: ReportFacts, at: Date): InstallationState {
  const next: InstallationState = { ...previous };
  for (const key of FACT_KEYS) copyFact(next, facts, key);
  if (facts.shellVersion !== undefined && previous.shellVersion !== undefined && facts.shellVersion !== previous.shellVersion) {
    next.previousShellVersion = previous.shellVersion;
    next.shellVersionChangedAt = at;
  }
  noteMaintenance(previous, next, at);
  return next;
}

function copyFact<K extends keyof ReportFacts>(target: ReportFacts, source: ReportFacts, key: K): void {
  const value = source[key];
  if (value !== undefined) target[key] = value;
}

/**
 * When the report was made, as far as ordering reports goes. A report from the
 * past is an agent flushing its backlog and keeps its time; one more than a day
 * in the future means a clock is wrong (the agent's or ours), so the time of
 * receipt stands in.
 */
function effectiveGenerationTime(generatedAt: Date | null, receivedAt: Date): Date | null {
  if (!generatedAt) return null;
  return generatedAt.getTime() - receivedAt.getTime() <= 86_400_000 ? generatedAt : receivedAt;
}

/** How old the last operap is: counted from the start of its day at the client, in the installation's time zone. */
export function operapAgeMs(operapDate: string, tz: string, now: Date): number {
  return now.getTime() - startOfDay(operapDate, tz);
}

/**
 * What the main page showed (a probe) folded into the state: maintenance or a
 * call for a specialist are the server's state as much as a report's
 * `<server>`; a page that works ends them. Other states a report gave (an
 * emergency) are the page's to leave alone. Null when nothing changes.
 */
export function applyPageState(previous: InstallationState, page: 'maintenance' | 'need-support' | 'ok', at: Date): InstallationState | null {
  const seen = page === 'ok' ? (previous.serverState === 'maintenance' || previous.serverState === 'need-support' ? 'ok' : null) : page;
  if (seen === null || seen === previous.serverState) return null;
  const next: InstallationState = { ...previous, serverState: seen, serverMessage: '' };
  noteMaintenance(previous, next, at);
  return next;
}
