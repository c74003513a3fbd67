import type { Facts, Severity } from './rules.ts';

/**
 * Rules fed by probes from the server rather than by agents' reports: ping,
 * web access, name resolution. A probe must fail `failuresToOpen` times in a
 * row before its rule fires, so a single lost packet pages nobody.
 */
export const PROBE_KINDS = ['icmp', 'tcp', 'http', 'dns'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

export const PROBE_RULE_IDS = ['KodeksIcmp', 'KodeksBehindProxyDown', 'KodeksDns'] as const;
export type ProbeRuleId = (typeof PROBE_RULE_IDS)[number];

export interface ProbeRuleInfo {
  id: ProbeRuleId;
  severity: Severity;
  probe: ProbeKind;
}

export const PROBE_RULES: readonly ProbeRuleInfo[] = [
  { id: 'KodeksIcmp', severity: 'critical', probe: 'icmp' },
  { id: 'KodeksBehindProxyDown', severity: 'critical', probe: 'http' },
  { id: 'KodeksDns', severity: 'warning', probe: 'dns' },
];

/** The latest outcome of one probe, with how many failed in a row. */
export interface ProbeStatus {
  ok: boolean;
  consecutiveFailures: number;
  latencyMs: number | null;
  error: string | null;
  detail: Record<string, unknown> | null;
  /** When the current run of failures began (null while it works). */
  failingSince?: Date | null;
}

export type ProbeStatuses = Partial<Record<ProbeKind, ProbeStatus>>;

export function evaluateProbeRules(statuses: ProbeStatuses, failuresToOpen: number): Map<ProbeRuleId, Facts> {
  const firing = new Map<ProbeRuleId, Facts>();
  const failing = (status: ProbeStatus | undefined): status is ProbeStatus => !!status && !status.ok && status.consecutiveFailures >= failuresToOpen;
  const detail = (status: ProbeStatus, key: string) => {
    const value = status.detail?.[key];
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : null;
  };

  const since = (status: ProbeStatus) => status.failingSince?.toISOString() ?? null;

  const icmp = statuses.icmp;
  if (failing(icmp)) {
    firing.set('KodeksIcmp', { target: detail(icmp, 'target'), error: icmp.error, failures: icmp.consecutiveFailures, failingSince: since(icmp) });
  }
  const http = statuses.http;
  if (failing(http)) {
    firing.set('KodeksBehindProxyDown', {
      url: detail(http, 'url'),
      error: http.error,
      failures: http.consecutiveFailures,
      failingSince: since(http),
      // The diagnosis: the name fails but the recorded IP answers; users can log in by IP now.
      workingUrl: detail(http, 'workingUrl'),
      ipError: detail(http, 'ipError'),
    });
  }
  const dns = statuses.dns;
  if (failing(dns)) {
    const resolved = dns.detail?.resolved;
    firing.set('KodeksDns', {
      host: detail(dns, 'host'),
      error: dns.error,
      expectedIp: detail(dns, 'expectedIp'),
      resolved: Array.isArray(resolved) ? resolved.map(String) : [],
      failingSince: since(dns),
    });
  }
  return firing;
}
