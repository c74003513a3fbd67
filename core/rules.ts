import { blindOverlap, type BlindSpell } from './clock-watch.ts';
import { formatDuration } from './duration.ts';
import { failedRestoreChecks, operapAgeMs, withFactSource, type InstallationState, type RestoreCheck } from './state.ts';
import { compareVersions } from './versions.ts';
import { DAY, iso, liveRule, quiet, type Facts, type Rule, type RuleId, type RuleInput, type ThresholdValue } from './rule-kit.ts';
import { licmanUnreachable, SERVER_RULES } from './server-rules.ts';

export { RULE_IDS, severityOf, type Facts, type Rule, type RuleId, type RuleInput, type RuleOutcome, type Severity, type ThresholdKind, type ThresholdValue } from './rule-kit.ts';

/**
 * How long something awaited has not come, counting only time we were
 * listening; null while it is not overdue (with when it will be).
 */
function silence(since: Date, threshold: number, now: Date, blind: RuleInput['blind']): { overdue: false; due: number } | { overdue: true; silentFor: number } {
  const unheard = blindOverlap(blind ?? null, since.getTime(), now.getTime());
  const due = since.getTime() + unheard + threshold;
  return now.getTime() <= due ? { overdue: false, due } : { overdue: true, silentFor: now.getTime() - since.getTime() - unheard };
}

/**
 * The full state stopped coming: no sysinfo and no report of the agent (a
 * `.status` heartbeat does not count), as SMART's SmartXMLfileIsToOld. An
 * installation that never sent one is measured from the day it was registered.
 */
const xmlMissing: Rule = {
  id: 'KodeksXmlMissing',
  severity: 'warning',
  thresholdKind: 'duration',
  defaultThreshold: 2 * DAY,
  timeBased: true,
  evaluate({ installation, state, threshold, now, blind }) {
    const last = state?.lastSysinfoAt;
    const silent = silence(last ?? installation.createdAt, Number(threshold), now, blind);
    if (!silent.overdue) return { firing: false, recheckAt: new Date(silent.due + 1) };
    return {
      firing: true,
      facts: {
        lastReportAt: iso(last),
        silentFor: formatDuration(silent.silentFor),
        threshold: formatDuration(Number(threshold)),
        // Heartbeats that still arrive say the server is there and its sysinfo upload is what broke.
        lastStatusAt: iso(state?.lastStatusAt),
      },
    };
  },
};

/**
 * The heartbeat with metrics stopped: `.status` files (SMART's smartstatus,
 * every 15 minutes) no longer come. Only for installations that sent one.
 */
const statusMissing: Rule = {
  id: 'KodeksStatusMissing',
  severity: 'warning',
  thresholdKind: 'duration',
  defaultThreshold: 60 * 60_000,
  timeBased: true,
  evaluate({ state, threshold, now, blind }) {
    const last = state?.lastStatusAt;
    if (!last) return quiet;
    const silent = silence(last, Number(threshold), now, blind);
    if (!silent.overdue) return { firing: false, recheckAt: new Date(silent.due + 1) };
    return { firing: true, facts: { lastStatusAt: iso(last), silentFor: formatDuration(silent.silentFor), threshold: formatDuration(Number(threshold)) } };
  },
};

const operapStale: Rule = {
  id: 'KodeksOperapStale',
  severity: 'warning',
  thresholdKind: 'duration',
  defaultThreshold: 3 * DAY,
  timeBased: true,
  evaluate({ installation, state, threshold, now }) {
    if (!state?.operapDate) return quiet;
    const age = operapAgeMs(state.operapDate, installation.tz, now);
    if (age <= Number(threshold)) return { firing: false, recheckAt: new Date(now.getTime() - age + Number(threshold) + 1) };
    return {
      firing: true,
      facts: { operapDate: state.operapDate, ageDays: Math.floor(age / DAY), threshold: formatDuration(Number(threshold)) },
    };
  },
};

// A licence manager out of reach is the probable cause of a key the server cannot see: the alert says so.
const senselock = liveRule('KodeksXmlSensLockStatus', 'critical', (s) => {
  if (s.senselockState !== 'lost' && s.senselockState !== 'absent') return null;
  const licman = licmanUnreachable(s);
  return { senselockState: s.senselockState, ...(licman ? { licmanUnreachable: licman } : {}) };
});
// A server that says it is not started is as down as a stopped service.
const serviceDown = liveRule('KodeksServiceDown', 'critical', (s) =>
  s.serviceState === 'stopped' || s.serverState === 'not-started'
    ? { serviceState: s.serviceState === 'stopped' ? 'stopped' : 'not-started', serviceAccount: s.serviceAccount ?? null }
    : null,
);
const storageUnreachable = liveRule('KodeksStorageUnreachable', 'critical', (s) =>
  s.storageReachable === false ? { storagePath: s.storagePath ?? null, serviceAccount: s.serviceAccount ?? null } : null,
);
const kitNotAssembled = liveRule('KodeksKitNotAssembled', 'critical', (s) =>
  s.kitAssembled === false ? { kitAssembled: false } : null,
);
const dailyUpdateOff = liveRule('KodeksDailyUpdateOff', 'warning', (s) =>
  s.dailyUpdate === false || s.copybaseweb === false
    ? { dailyUpdate: s.dailyUpdate ?? null, copybaseweb: s.copybaseweb ?? null }
    : null,
);

const shellVersionOutdated: Rule = {
  id: 'KodeksShellVersionOutdated',
  severity: 'warning',
  thresholdKind: 'version',
  timeBased: false,
  evaluate({ state, threshold }) {
    if (!state?.shellVersion || typeof threshold !== 'string') return quiet;
    if (compareVersions(state.shellVersion, threshold) >= 0) return quiet;
    return { firing: true, facts: { shellVersion: state.shellVersion, minShellVersion: threshold } };
  },
};

export type NotRestored = RestoreCheck | 'reports';

const versionChangeIncomplete: Rule = {
  id: 'KodeksVersionChangeIncomplete',
  severity: 'critical',
  thresholdKind: 'duration',
  defaultThreshold: DAY,
  timeBased: true,
  evaluate({ state, threshold, now }) {
    const changedAt = state?.shellVersionChangedAt;
    if (!state || !changedAt) return quiet;
    const grace = Number(threshold);
    const deadline = changedAt.getTime() + grace;
    if (now.getTime() < deadline) return { firing: false, recheckAt: new Date(deadline) };
    // A healthy report after the deadline shows the change was completed; the rule is done with it.
    if (state.lastHealthyAt && state.lastHealthyAt.getTime() >= deadline) return quiet;
    const notRestored: NotRestored[] = failedRestoreChecks(state);
    const reportsArriving = state.lastReceivedAt.getTime() > now.getTime() - grace;
    if (!reportsArriving) notRestored.push('reports');
    if (notRestored.length === 0) {
      // Fine now, but not yet confirmed by a report; check again when the reports would count as missing.
      return { firing: false, recheckAt: new Date(state.lastReceivedAt.getTime() + grace) };
    }
    return {
      firing: true,
      facts: {
        oldVersion: state.previousShellVersion ?? null,
        newVersion: state.shellVersion ?? null,
        changedAt: iso(changedAt),
        notRestored,
        lastReportAt: iso(state.lastReceivedAt),
      },
    };
  },
};

export const RULES: readonly Rule[] = [
  xmlMissing,
  statusMissing,
  operapStale,
  senselock,
  serviceDown,
  storageUnreachable,
  kitNotAssembled,
  dailyUpdateOff,
  shellVersionOutdated,
  versionChangeIncomplete,
  ...SERVER_RULES,
];

/** The rules a scheduled check judges: a report judges the others as it arrives. */
export const TIME_BASED_RULES: readonly Rule[] = RULES.filter((r) => r.timeBased);

const BY_ID = new Map<string, Rule>(RULES.map((r) => [r.id, r]));

export function isRuleId(id: string): id is RuleId {
  return BY_ID.has(id);
}

export function getRule(id: RuleId): Rule {
  return BY_ID.get(id)!;
}

export interface EvaluationInput {
  installation: { createdAt: Date; tz: string; thresholds: Record<string, ThresholdValue> };
  state: InstallationState | null;
  policy: { minShellVersion?: string };
  now: Date;
  blind?: BlindSpell | null;
}

export interface Evaluation {
  /** Rules whose condition holds now, with their facts. */
  firing: Map<RuleId, Facts>;
  /** The earliest moment some rule could change its mind without a new report (null: none will). */
  recheckAt: Date | null;
}

/** The rules (every one unless told) against one installation. Pure: same input, same answer. */
export function evaluateInstallation(input: EvaluationInput, rules: readonly Rule[] = RULES): Evaluation {
  const firing = new Map<RuleId, Facts>();
  let recheckAt: number | null = null;
  const thresholdOf = (id: RuleId) => thresholdFor(BY_ID.get(id)!, input.installation.thresholds, input.policy);
  for (const rule of rules) {
    const outcome = rule.evaluate({
      installation: input.installation,
      state: input.state,
      threshold: thresholdFor(rule, input.installation.thresholds, input.policy),
      thresholdOf,
      now: input.now,
      blind: input.blind ?? null,
    });
    if (outcome.firing) firing.set(rule.id, withFactSource(rule.id, outcome.facts, input.state));
    else if (outcome.recheckAt) recheckAt = Math.min(recheckAt ?? Infinity, outcome.recheckAt.getTime());
  }
  return { firing, recheckAt: recheckAt === null ? null : new Date(recheckAt) };
}

export function thresholdFor(
  rule: Rule,
  overrides: Record<string, ThresholdValue>,
  policy: { minShellVersion?: string },
): ThresholdValue | undefined {
  const override = overrides[rule.id];
  if (override !== undefined) return override;
  if (rule.thresholdKind === 'version') return policy.minShellVersion;
  return rule.defaultThreshold;
}
