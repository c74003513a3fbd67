import { startOfDay } from './calendar.ts';
import { FACT_KEYS, type AgentReport, type ReportFacts } from './report.ts';

/** What we know about one installation now: the merge of every report it sent. */
export interface InstallationState extends ReportFacts {
  lastReceivedAt: Date;
  /** Generation time of the report the facts come from (null when agents do not say). */
  lastGeneratedAt: Date | null;
  /** The stored row of the newest report (absent before the first): where the installation's history begins. */
  lastReportId?: number;
  /**
   * When evidence carrying the installation's full state last arrived: a
   * report of its agent, or a sysinfo (SMART's smartupload). What
   * KodeksXmlMissing goes by, as SMART's SmartXMLfileIsToOld does.
   */
  lastSysinfoAt?: Date;
  /** When a heartbeat with metrics last arrived (a `.status` file, a metrics pull): what KodeksStatusMissing goes by. */
  lastStatusAt?: Date;
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
 * A report that did not come from the installation's own agent: a file
 * uploaded under a fleet token, which lives on every client's server, so
 * anyone's machine can send it under this installation's name.
 */
export interface FleetOrigin {
  /** The fleet token's label, said wherever a fact it brought is shown. */
  label: string;
  /** When the installation's own agent (or a file under its own token) last reported; null: never. */
  ownAgentAt: Date | null;
}

/** For this long after its own agent last reported, an installation is judged by its agent's word over a fleet upload's. */
export const OWN_AGENT_WINDOW_MS = 24 * 3_600_000;

/** Whether the installation's own agent has reported recently enough for its word to stand over a fleet upload's. */
export function ownAgentHeard(origin: FleetOrigin, at: Date): boolean {
  return origin.ownAgentAt !== null && at.getTime() - origin.ownAgentAt.getTime() <= OWN_AGENT_WINDOW_MS;
}

/**
 * What a report is evidence of: an agent's report and a sysinfo carry the
 * installation's full state; a `.status` file or a metrics pull is a
 * heartbeat with metrics (SMART's smartstatus, every 15 minutes).
 */
export type Evidence = 'report' | 'sysinfo' | 'status';

export interface FoldOptions {
  /** The report is a file uploaded under a fleet token. */
  fleet?: FleetOrigin | undefined;
  /** What kind of evidence it is (default: an agent's report). */
  evidence?: Evidence;
}

/**
 * Fold one report into the state. Facts a report does not mention keep their
 * previous value. A report generated before the one the state already reflects
 * (an agent flushing its queue late) proves the agent alive but does not roll
 * the facts back.
 *
 * A report from a fleet upload (`fleet`) does not overwrite what the
 * installation's own agent reported while that agent is heard (within
 * OWN_AGENT_WINDOW_MS), nor moves the time the facts are ordered by; facts
 * the agent does not report it may bring, and `factSources` names it for
 * them. A fact the agent reports again is the agent's again. Nor is it a sign
 * of life for an installation that has an agent of its own: whether that one
 * is silent is its agent's to say, not a file any client's server can send.
 */
export function applyReport(previous: InstallationState | null, report: AgentReport, receivedAt: Date, options: FoldOptions = {}): InstallationState {
  const { fleet, evidence = 'report' } = options;
  const generatedAt = effectiveGenerationTime(report.generatedAt, receivedAt);
  if (
    previous &&
    previous.lastGeneratedAt &&
    generatedAt &&
    generatedAt.getTime() < previous.lastGeneratedAt.getTime()
  ) {
    return fleet?.ownAgentAt ? { ...previous } : { ...previous, ...heardAt(evidence, receivedAt) };
  }

  const agentHeard = fleet !== undefined && ownAgentHeard(fleet, receivedAt);
  // Reports are folded in the order they arrive, so the latest one's receipt is the last receipt,
  // even if the server's clock went back in between.
  const next: InstallationState = {
    ...previous,
    ...(fleet?.ownAgentAt ? { lastReceivedAt: previous?.lastReceivedAt ?? receivedAt } : heardAt(evidence, receivedAt)),
    // A fleet file's date (its own, or forged a day ahead) must not make the agent's next report look older.
    lastGeneratedAt: agentHeard ? (previous?.lastGeneratedAt ?? null) : (generatedAt ?? previous?.lastGeneratedAt ?? null),
  };
  foldFacts(previous, next, report.facts, fleet, agentHeard);

  const oldVersion = previous?.shellVersion;
  const newVersion = next.shellVersion;
  if (oldVersion !== undefined && newVersion !== undefined && oldVersion !== newVersion) {
    next.previousShellVersion = oldVersion;
    next.shellVersionChangedAt = generatedAt ?? receivedAt;
  }
  if (!fleet?.ownAgentAt && failedRestoreChecks(next).length === 0) next.lastHealthyAt = receivedAt;
  noteMaintenance(previous, next, generatedAt ?? receivedAt);
  return next;
}

/** The times a report of this kind moves: when anything was last heard, and when this kind of evidence was. */
function heardAt(evidence: Evidence, at: Date): Pick<InstallationState, 'lastReceivedAt' | 'lastSysinfoAt' | 'lastStatusAt'> {
  return evidence === 'status' ? { lastReceivedAt: at, lastStatusAt: at } : { lastReceivedAt: at, lastSysinfoAt: at };
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
export function applyFacts(previous: InstallationState, facts: ReportFacts, at: Date, fleet?: FleetOrigin): InstallationState {
  const next: InstallationState = { ...previous };
  foldFacts(previous, next, facts, fleet, fleet !== undefined && ownAgentHeard(fleet, at));
  if (next.shellVersion !== undefined && previous.shellVersion !== undefined && next.shellVersion !== previous.shellVersion) {
    next.previousShellVersion = previous.shellVersion;
    next.shellVersionChangedAt = at;
  }
  noteMaintenance(previous, next, at);
  return next;
}

/** The facts a report brings into `next`, with their sources: see applyReport. */
function foldFacts(previous: InstallationState | null, next: InstallationState, facts: ReportFacts, fleet: FleetOrigin | undefined, agentHeard: boolean): void {
  const sources: Record<string, string> = { ...previous?.factSources };
  for (const key of FACT_KEYS) {
    if (facts[key] === undefined) continue;
    if (!fleet) {
      delete sources[key];
    } else {
      const agentSaidIt = previous?.[key] !== undefined && sources[key] === undefined;
      if (agentHeard && agentSaidIt) continue;
      sources[key] = fleet.label;
    }
    copyFact(next, facts, key);
  }
  if (Object.keys(sources).length > 0) next.factSources = sources;
  else delete next.factSources;
}

function copyFact<K extends keyof ReportFacts>(target: ReportFacts, source: ReportFacts, key: K): void {
  const value = source[key];
  if (value !== undefined) target[key] = value;
}

/**
 * The state facts each rule's alert rests on, where a file can bring them:
 * for saying on the alert that they came from a fleet upload.
 */
const EVIDENCE: Readonly<Record<string, readonly (keyof ReportFacts)[]>> = {
  KodeksOperapStale: ['operapDate'],
  KodeksXmlSensLockStatus: ['senselockState'],
  KodeksShellVersionOutdated: ['shellVersion'],
  KodeksVersionChangeIncomplete: ['shellVersion'],
  KodeksLicenseExpiring90day: ['databases'],
  KodeksLicenseExpiring7day: ['databases'],
  KodeksLicenseExpiring2day: ['databases'],
  KodeksLicenseExpired: ['databases'],
  KodeksDBErrors: ['databases'],
  KodeksLimitsUsers: ['seatsUsed', 'licenseLimit'],
  KodeksDetectOverUserError: ['licenseExhausted', 'licenseLimit'],
};

/**
 * A firing rule's facts, with `fleetUpload` (the fleet token's label) when
 * what the rule rests on came from a fleet upload rather than the
 * installation's own agent.
 */
export function withFactSource<F extends Record<string, unknown>>(ruleId: string, facts: F, state: InstallationState | null): F | (F & { fleetUpload: string }) {
  const sources = state?.factSources;
  if (!sources) return facts;
  const source = EVIDENCE[ruleId]?.map((key) => sources[key]).find((label) => label !== undefined);
  return source === undefined ? facts : { ...facts, fleetUpload: source };
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
