import type { BlindSpell } from './clock-watch.ts';
import type { InstallationState } from './state.ts';

/**
 * What every rule of the catalogue is made of. A rule looks at one
 * installation's latest state at a given moment and says whether its
 * condition holds, with the facts that make it hold. Ids are stable: they
 * appear in messages, runbooks and metrics; where SMART has a name for the
 * same condition, the id is SMART's, so a distributor switching over
 * recognises it.
 */

/** `info` is recorded and shown (card, /incidents, digest) but never sent, reminded or escalated. */
export type Severity = 'critical' | 'warning' | 'info';

export const RULE_IDS = [
  'KodeksXmlMissing',
  'KodeksStatusMissing',
  'KodeksOperapStale',
  'KodeksXmlSensLockStatus',
  'KodeksServiceDown',
  'KodeksStorageUnreachable',
  'KodeksKitNotAssembled',
  'KodeksDailyUpdateOff',
  'KodeksShellVersionOutdated',
  'KodeksVersionChangeIncomplete',
  'KodeksLicenseExpiring90day',
  'KodeksLicenseExpiring7day',
  'KodeksLicenseExpiring2day',
  'KodeksLicenseExpired',
  'KodeksLimitsUsers',
  'KodeksDetectOverUserError',
  'KodeksDBErrors',
  'KodeksMaintenance',
  'KodeksMaintenanceToLong',
  'KodeksNeedSupport',
  'KodeksWarning',
  'KodeksAuthNotWork',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

/** What a threshold means for a rule: a duration, a minimum version, or nothing to set (fires at once). */
export type ThresholdKind = 'duration' | 'version' | 'none';
export type ThresholdValue = number | string;

export interface RuleInput {
  installation: { createdAt: Date; tz: string };
  state: InstallationState | null;
  /** The installation's override, else the rule's default (else, for versions, the fleet policy). */
  threshold: ThresholdValue | undefined;
  /** Another rule's threshold for this installation (stages of one term look at each other's). */
  thresholdOf?: (id: RuleId) => ThresholdValue | undefined;
  now: Date;
  /** When the service was not listening (down, or its clock jumped): silence then does not count. */
  blind?: BlindSpell | null;
}

/** Facts are plain JSON: they are stored with the incident and rendered in messages. */
export type Facts = Record<string, string | number | boolean | string[] | null>;

export type RuleOutcome =
  /** The condition holds. */
  | { firing: true; facts: Facts }
  /** It does not; `recheckAt` is when it could start to hold without any new report. */
  | { firing: false; recheckAt?: Date };

export interface Rule {
  id: RuleId;
  severity: Severity;
  thresholdKind: ThresholdKind;
  /** Default threshold: milliseconds for durations; for versions the fleet policy applies. */
  defaultThreshold?: number;
  /** Whether the rule depends on the passing of time (and so is swept on a schedule). */
  timeBased: boolean;
  evaluate(input: RuleInput): RuleOutcome;
  /** When how bad it is depends on the facts (database errors: protection codes are critical). */
  severityFor?(facts: Facts): Severity;
}

/** How bad an incident of this rule with these facts is. */
export function severityOf(rule: Rule, facts: Facts): Severity {
  return rule.severityFor?.(facts) ?? rule.severity;
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const quiet: RuleOutcome = { firing: false };
export const iso = (date: Date | undefined | null) => (date ? date.toISOString() : null);

/** A rule that fires while a reported fact says so. */
export function liveRule(
  id: RuleId,
  severity: Severity,
  check: (state: InstallationState) => Facts | null,
): Rule {
  return {
    id,
    severity,
    thresholdKind: 'none',
    timeBased: false,
    evaluate({ state }) {
      const facts = state ? check(state) : null;
      return facts ? { firing: true, facts } : quiet;
    },
  };
}

