import { daysUntil, nextDay, startOfDay } from './calendar.ts';
import { formatDuration } from './duration.ts';
import { isCriticalErrorCode } from './kodeks-errors.ts';
import { LICMAN_PORT, type DatabaseFacts } from './report.ts';
import { DAY, HOUR, iso, liveRule, quiet, type Facts, type Rule, type RuleId, type Severity } from './rule-kit.ts';
import type { InstallationState } from './state.ts';

/**
 * Rules on what the Kodeks server says of itself: its databases' licence
 * terms and errors, its seats, its state (maintenance, a call for support,
 * an emergency). SMART's names; SMART's thresholds by default.
 */

/** The licence term that ends first among the databases, if any database has one. */
export function soonestLicense(databases: readonly DatabaseFacts[] | undefined): { database: string; expires: string } | null {
  let soonest: { database: string; expires: string } | null = null;
  for (const db of databases ?? []) {
    if (db.licenseExpires && (!soonest || db.licenseExpires < soonest.expires)) soonest = { database: db.name, expires: db.licenseExpires };
  }
  return soonest;
}

/** Whole days from today to the term's last day at the client: 0 on the last day, negative once it is over. */
export function daysLeft(expires: string, tz: string, now: Date): number {
  return daysUntil(expires, tz, now);
}

interface Stage {
  id: RuleId;
  severity: Severity;
  /** The default of how long before the end this stage begins; none for the term that is over. */
  before?: number;
  /** The stage that takes over from this one. */
  next?: RuleId;
}

/**
 * One stage of a licence term running out. Exactly one stage holds at a time
 * (a later one replaces the earlier), so an installation has at most one
 * licence incident open, and a renewed term resolves it. A term lasts to the
 * end of its last day in the installation's time zone.
 */
function licenseStage(stage: Stage): Rule {
  return {
    id: stage.id,
    severity: stage.severity,
    thresholdKind: stage.before === undefined ? 'none' : 'duration',
    ...(stage.before === undefined ? {} : { defaultThreshold: stage.before }),
    timeBased: true,
    evaluate({ installation, state, threshold, thresholdOf, now }) {
      const soonest = soonestLicense(state?.databases);
      if (!soonest) return quiet;
      const end = startOfDay(nextDay(soonest.expires), installation.tz);
      const left = end - now.getTime();
      const from = stage.before === undefined ? 0 : Number(threshold);
      if (left > from) return { firing: false, recheckAt: new Date(end - from) };
      const until = stage.next ? Number(thresholdOf?.(stage.next) ?? 0) : -Infinity;
      if (left <= until) return quiet;
      return { firing: true, facts: { database: soonest.database, expires: soonest.expires, daysLeft: daysLeft(soonest.expires, installation.tz, now) } };
    },
  };
}

const LICENSE_STAGES: readonly Rule[] = [
  licenseStage({ id: 'KodeksLicenseExpiring90day', severity: 'info', before: 90 * DAY, next: 'KodeksLicenseExpiring7day' }),
  licenseStage({ id: 'KodeksLicenseExpiring7day', severity: 'warning', before: 7 * DAY, next: 'KodeksLicenseExpiring2day' }),
  licenseStage({ id: 'KodeksLicenseExpiring2day', severity: 'critical', before: 2 * DAY, next: 'KodeksLicenseExpired' }),
  licenseStage({ id: 'KodeksLicenseExpired', severity: 'critical' }),
];

const limitsUsers = liveRule('KodeksLimitsUsers', 'warning', (s) =>
  s.licenseLimit !== undefined && s.licenseLimit > 0 && s.seatsUsed !== undefined && s.seatsUsed >= s.licenseLimit
    ? { used: s.seatsUsed, licensed: s.licenseLimit }
    : null,
);

// Opened by the report that says so; the next report without refusals resolves it.
const overUsers = liveRule('KodeksDetectOverUserError', 'warning', (s) =>
  s.licenseExhausted !== undefined && s.licenseExhausted > 0 ? { refused: s.licenseExhausted, licensed: s.licenseLimit ?? null } : null,
);

/** The licence manager the server cannot reach, named as a fact of the alerts it would explain. */
export function licmanUnreachable(state: InstallationState): string | null {
  if (state.licmanState !== 'unreachable') return null;
  return state.licmanHost ? `${state.licmanHost}:${state.licmanPort ?? LICMAN_PORT}` : '?';
}

/** Every error code on the databases, sorted, and each database's own, as `name: 4111, 696`. */
function errorsOf(databases: readonly DatabaseFacts[]): { codes: number[]; byDatabase: string[] } {
  const codes = new Set<number>();
  const byDatabase: string[] = [];
  for (const db of databases) {
    if (db.errors.length === 0) continue;
    for (const code of db.errors) codes.add(code);
    byDatabase.push(`${db.name}: ${[...db.errors].sort((a, b) => a - b).join(', ')}`);
  }
  return { codes: [...codes].sort((a, b) => a - b), byDatabase };
}

/**
 * Database errors, one incident per installation listing every code: critical
 * when a protection or licence code is among them, else a warning. A new code
 * on an open incident updates it (see `UPDATABLE_RULES`).
 */
const dbErrors: Rule = {
  ...liveRule('KodeksDBErrors', 'warning', (s) => {
    const { codes, byDatabase } = errorsOf(s.databases ?? []);
    if (codes.length === 0) return null;
    const licman = codes.some(isCriticalErrorCode) ? licmanUnreachable(s) : null;
    return { codes: codes.map(String), databases: byDatabase, ...(licman ? { licmanUnreachable: licman } : {}) };
  }),
  severityFor: (facts: Facts) => (Array.isArray(facts.codes) && facts.codes.some((code) => isCriticalErrorCode(Number(code))) ? 'critical' : 'warning'),
};

const serverWords = (s: InstallationState) => (s.serverMessage ? s.serverMessage : null);

const maintenance = liveRule('KodeksMaintenance', 'info', (s) =>
  s.serverState === 'maintenance' ? { message: serverWords(s), since: iso(s.maintenanceSince) } : null,
);

const maintenanceTooLong: Rule = {
  id: 'KodeksMaintenanceToLong',
  severity: 'warning',
  thresholdKind: 'duration',
  defaultThreshold: 3 * HOUR,
  timeBased: true,
  evaluate({ state, threshold, now }) {
    if (state?.serverState !== 'maintenance' || !state.maintenanceSince) return quiet;
    const due = state.maintenanceSince.getTime() + Number(threshold);
    if (now.getTime() <= due) return { firing: false, recheckAt: new Date(due + 1) };
    return { firing: true, facts: { since: iso(state.maintenanceSince), message: serverWords(state), threshold: formatDuration(Number(threshold)) } };
  },
};

const needSupport = liveRule('KodeksNeedSupport', 'warning', (s) => (s.serverState === 'need-support' ? { message: serverWords(s) } : null));
const emergency = liveRule('KodeksWarning', 'critical', (s) => (s.serverState === 'warning' ? { message: serverWords(s) } : null));

// The service account (smartlogin) refused at login, as the metrics pull finds it.
const authNotWork = liveRule('KodeksAuthNotWork', 'warning', (s) => (s.serviceLoginRefused ? { account: s.serviceLoginRefused } : null));

export const SERVER_RULES: readonly Rule[] = [...LICENSE_STAGES, limitsUsers, overUsers, dbErrors, maintenance, maintenanceTooLong, needSupport, emergency, authNotWork];

/** Rules whose open incident follows its facts (a new error code) rather than staying as it opened. */
export const UPDATABLE_RULES: ReadonlySet<RuleId> = new Set(['KodeksDBErrors']);
