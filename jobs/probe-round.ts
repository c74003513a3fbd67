import { and, eq, isNotNull, or } from 'drizzle-orm';
import pLimit from 'p-limit';
import type { Logger } from '../app/logger.ts';
import type { Clock } from '../core/clock.ts';
import { reconcile } from '../core/incidents.ts';
import { evaluateProbeRules, PROBE_RULE_IDS, PROBE_RULES, type ProbeKind, type ProbeRuleId } from '../core/probe-rules.ts';
import type { Facts } from '../core/rules.ts';
import { listActiveIncidents } from '../db/incidents.ts';
import type { DB } from '../db/open.ts';
import { getProbeStatuses, pruneProbeResults, recordProbe } from '../db/probes.ts';
import { installations } from '../db/schema.ts';
import { runFollowUps } from '../incidents/follow-ups.ts';
import { activeSilences, loadSubject, openIncident, resolveIncident } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { probeInstallation, type ProbeSettings, type ProbeTarget } from '../probes/probe-installation.ts';
import type { Probers, ProbeResult } from '../probes/probers.ts';

export interface ProbeRoundOptions extends ProbeSettings {
  concurrency: number;
  /** A probe must fail this many rounds in a row before its incident opens. */
  failuresToOpen: number;
  /** This many installations of one provider or host failing in one round are announced as one event. */
  groupMin: number;
  historyMs: number;
}

export interface ProbeRoundDeps {
  db: DB;
  clock: Clock;
  logger: Logger;
  settings: IncidentSettings;
  probers: Probers;
  options: ProbeRoundOptions;
}

export interface ProbeRoundSummary {
  probed: number;
  opened: number;
  resolved: number;
  /** Common causes announced in this round: the provider or host, and how many installations. */
  commonCauses: { kind: 'provider' | 'host'; name: string; installations: number }[];
}

const PROBE_SCOPE = new Set<string>(PROBE_RULE_IDS);
const SEVERITY = new Map(PROBE_RULES.map((r) => [r.id, r.severity]));
let pingMissingReported = false;

type Target = ProbeTarget & { provider: string | null };

/**
 * One round of probes over every monitored installation that has an address:
 * probes run concurrently (bounded), then their results, the incidents they
 * open or resolve and the announcements are written in one transaction.
 */
export async function runProbeRound(deps: ProbeRoundDeps): Promise<ProbeRoundSummary> {
  const { db, logger, options } = deps;
  const targets: Target[] = db
    .select({ id: installations.id, host: installations.host, ip: installations.ip, url: installations.url, provider: installations.provider })
    .from(installations)
    .where(and(eq(installations.monitoringEnabled, true), or(isNotNull(installations.host), isNotNull(installations.ip), isNotNull(installations.url))))
    .all();
  const limit = pLimit(options.concurrency);
  const results = await Promise.all(targets.map((target) => limit(async () => ({ target, results: await probeInstallation(target, options, deps.probers) }))));

  const summary: ProbeRoundSummary = { probed: targets.length, opened: 0, resolved: 0, commonCauses: [] };
  const at = deps.clock();
  db.transaction(
    (tx) => {
      const openings: { target: Target; ruleId: ProbeRuleId; facts: Facts }[] = [];
      for (const { target, results: byKind } of results) {
        const previous = getProbeStatuses(tx, target.id);
        const statuses = { ...previous };
        for (const [kind, result] of Object.entries(byKind) as [ProbeKind, ProbeResult][]) {
          if (result.unavailable) {
            if (!pingMissingReported) logger.warn({ probe: kind }, `${result.error}; ${kind.toUpperCase()} probes are skipped`);
            pingMissingReported = true;
            continue;
          }
          statuses[kind] = recordProbe(tx, target.id, kind, { ok: result.ok, latencyMs: result.latencyMs, error: result.error, detail: result.detail ?? null }, previous[kind], at);
        }
        const firing = evaluateProbeRules(statuses, options.failuresToOpen);
        const { open, resolve } = reconcile(listActiveIncidents(tx, target.id), firing, PROBE_SCOPE);
        for (const incident of resolve) {
          resolveIncident(tx, incident.id, 'system', 'cleared', at);
          summary.resolved++;
        }
        for (const { ruleId, facts } of open) openings.push({ target, ruleId, facts });
      }

      summary.commonCauses = markCommonCauses(openings, options.groupMin);
      const silences = activeSilences(tx, at);
      // Ping first: an installation that does not answer holds back the alerts that follow from it.
      openings.sort((a, b) => Number(b.ruleId === 'KodeksIcmp') - Number(a.ruleId === 'KodeksIcmp'));
      for (const { target, ruleId, facts } of openings) {
        openIncident(tx, deps.settings, loadSubject(tx, target.id), { ruleId, severity: SEVERITY.get(ruleId)!, facts }, at, silences);
        summary.opened++;
      }
      // Alerts held back by an installation that answers again go out now.
      runFollowUps(tx, deps.settings, at);
      pruneProbeResults(tx, new Date(at.getTime() - options.historyMs));
    },
    { behavior: 'immediate' },
  );
  return summary;
}

/**
 * Many installations of one provider (or one host) starting to fail in the
 * same round are one event with a common cause: each opening gets a
 * `commonCause` fact, so its announcement names the cause and the group goes
 * as one message per chat.
 */
function markCommonCauses(openings: { target: Target; ruleId: ProbeRuleId; facts: Facts }[], groupMin: number): ProbeRoundSummary['commonCauses'] {
  const causes: ProbeRoundSummary['commonCauses'] = [];
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
