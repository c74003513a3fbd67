import { roundIsUp } from '../core/availability.ts';
import { calendarDay } from '../core/calendar.ts';
import { reconcile } from '../core/incidents.ts';
import { evaluateProbeRules, PROBE_RULE_IDS, PROBE_RULES, type ProbeKind, type ProbeRuleId } from '../core/probe-rules.ts';
import type { Facts } from '../core/rules.ts';
import { countProbeRound } from '../db/availability.ts';
import { listActiveIncidents } from '../db/incidents.ts';
import type { Queryable } from '../db/open.ts';
import { getProbeStatuses, recordProbe } from '../db/probes.ts';
import { activeSilences, loadSubject, openIncident, resolveIncident } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import type { ProbeTarget } from './probes/probe-installation.ts';
import type { ProbeResult } from './probes/probers.ts';

export type Target = ProbeTarget & { provider: string | null; tz: string };

/** One installation's probe results from a round. */
export interface Probed {
  target: Target;
  results: Partial<Record<ProbeKind, ProbeResult>>;
}

export interface ProbeJudgement {
  opened: number;
  resolved: number;
  /** Common causes announced: the provider or host, and how many installations. */
  commonCauses: { kind: 'provider' | 'host'; name: string; installations: number }[];
  /** Probes that cannot run on this machine at all (no `ping`), with why. */
  unavailable: { probe: ProbeKind; error: string | null }[];
}

const PROBE_SCOPE = new Set<string>(PROBE_RULE_IDS);
/**
 * A round in which this many installations or more were probed and not one
 * answered says more about dozor's own network than about theirs: it is
 * left out of their availability (incidents still open as usual).
 */
const OWN_OUTAGE_MIN = 10;
const SEVERITY = new Map(PROBE_RULES.map((r) => [r.id, r.severity]));

/**
 * Record a round's results, count the round in each installation's
 * availability, and bring the probe rules' incidents in line: a probe that
 * failed `failuresToOpen` rounds in a row opens its incident, one that
 * answers again resolves it. Runs inside the caller's transaction.
 */
export async function judgeProbeResults(
  tx: Queryable,
  settings: IncidentSettings,
  probed: readonly Probed[],
  at: Date,
  options: { failuresToOpen: number; groupMin: number },
): Promise<ProbeJudgement> {
  const judgement: ProbeJudgement = { opened: 0, resolved: 0, commonCauses: [], unavailable: [] };
  const openings: { target: Target; ruleId: ProbeRuleId; facts: Facts }[] = [];
  const rounds: { target: Target; up: boolean }[] = [];
  for (const { target, results: byKind } of probed) {
    const previous = await getProbeStatuses(tx, target.id);
    const statuses = { ...previous };
    for (const [kind, result] of Object.entries(byKind) as [ProbeKind, ProbeResult][]) {
      if (result.unavailable) {
        if (!judgement.unavailable.some((u) => u.probe === kind)) judgement.unavailable.push({ probe: kind, error: result.error });
        continue;
      }
      statuses[kind] = await recordProbe(tx, target.id, kind, { ok: result.ok, latencyMs: result.latencyMs, error: result.error, detail: result.detail ?? null }, previous[kind], at);
    }
    const up = roundIsUp(Object.fromEntries(Object.entries(byKind).filter(([, result]) => !result.unavailable)));
    if (up !== null) rounds.push({ target, up });
    const firing = evaluateProbeRules(statuses, options.failuresToOpen);
    const { open, resolve } = reconcile(await listActiveIncidents(tx, target.id), firing, PROBE_SCOPE);
    for (const incident of resolve) {
      await resolveIncident(tx, incident.id, 'system', 'cleared', at);
      judgement.resolved++;
    }
    for (const { ruleId, facts } of open) openings.push({ target, ruleId, facts });
  }

  if (rounds.length < OWN_OUTAGE_MIN || rounds.some((r) => r.up)) {
    for (const { target, up } of rounds) await countProbeRound(tx, target.id, calendarDay(at, target.tz), up);
  }

  judgement.commonCauses = markCommonCauses(openings, options.groupMin);
  const silences = await activeSilences(tx, at);
  // Ping first: an installation that does not answer holds back the alerts that follow from it.
  openings.sort((a, b) => Number(b.ruleId === 'KodeksIcmp') - Number(a.ruleId === 'KodeksIcmp'));
  for (const { target, ruleId, facts } of openings) {
    await openIncident(tx, settings, await loadSubject(tx, target.id), { ruleId, severity: SEVERITY.get(ruleId)!, facts }, at, silences);
    judgement.opened++;
  }
  return judgement;
}

/**
 * Many installations of one provider (or one host) starting to fail in the
 * same round are one event with a common cause: each opening gets a
 * `commonCause` fact, so its announcement names the cause and the group goes
 * as one message per chat.
 */
function markCommonCauses(openings: { target: Target; ruleId: ProbeRuleId; facts: Facts }[], groupMin: number): ProbeJudgement['commonCauses'] {
  const causes: ProbeJudgement['commonCauses'] = [];
  const groups = new Map<string, { kind: 'provider' | 'host'; name: string; ids: Set<number> }>();
  for (const { target } of openings) {
    const cause = causeOf(target);
    if (!cause) continue;
    const key = `${cause.kind}:${cause.name}`;
    const group = groups.get(key) ?? { ...cause, ids: new Set<number>() };
    group.ids.add(target.id);
    groups.set(key, group);
  }
  for (const [key, group] of groups) {
    if (group.ids.size < groupMin) continue;
    causes.push({ kind: group.kind, name: group.name, installations: group.ids.size });
    for (const opening of openings) {
      const cause = causeOf(opening.target);
      if (cause && `${cause.kind}:${cause.name}` === key) {
        opening.facts = { ...opening.facts, commonCause: key, commonCauseCount: group.ids.size };
      }
    }
  }
  return causes;
}

/** What installations failing together would have in common: their provider, else their address. */
function causeOf(target: Target): { kind: 'provider' | 'host'; name: string } | null {
  if (target.provider) return { kind: 'provider', name: target.provider };
  const address = target.ip ?? target.host;
  return address ? { kind: 'host', name: address } : null;
}
