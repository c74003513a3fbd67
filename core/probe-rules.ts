import type { Facts, Severity } from './rules.ts';

/**
 * Rules fed by probes from the server rather than by agents' reports: ping,
 * the web port, the main page, web access, name resolution, the licence
 * manager (`licmanIcmp`, `licmanTcp`, when one is set). A probe must fail
 * `failuresToOpen` times in a row before its rule fires, so a single lost
 * packet pages nobody.
 */
export const PROBE_KINDS = ['icmp', 'tcp', 'http', 'dns', 'licmanIcmp', 'licmanTcp'] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

export const PROBE_RULE_IDS = ['KodeksIcmp', 'KodeksTcpStatus', 'KodeksHttp200Status', 'KodeksBehindProxyDown', 'KodeksDns', 'LicmanIcmp', 'LicmanTcpStatus'] as const;
export type ProbeRuleId = (typeof PROBE_RULE_IDS)[number];

export interface ProbeRuleInfo {
  id: ProbeRuleId;
  severity: Severity;
  probe: ProbeKind;
}

export const PROBE_RULES: readonly ProbeRuleInfo[] = [
  { id: 'KodeksIcmp', severity: 'critical', probe: 'icmp' },
  { id: 'KodeksTcpStatus', severity: 'critical', probe: 'tcp' },
  { id: 'KodeksHttp200Status', severity: 'critical', probe: 'http' },
  { id: 'KodeksBehindProxyDown', severity: 'critical', probe: 'http' },
  { id: 'KodeksDns', severity: 'warning', probe: 'dns' },
  { id: 'LicmanIcmp', severity: 'warning', probe: 'licmanIcmp' },
  { id: 'LicmanTcpStatus', severity: 'critical', probe: 'licmanTcp' },
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
  const tcp = statuses.tcp;
  if (failing(tcp)) {
    firing.set('KodeksTcpStatus', { target: detail(tcp, 'target'), error: tcp.error, failures: tcp.consecutiveFailures, failingSince: since(tcp) });
  }
  const http = statuses.http;
  const status = http ? detail(http, 'status') : null;
  // 503 is the server in maintenance (a state of its own, not a failure); another answer than "up" is the main page failing;
  // no answer, or a proxy's 502/504, is web access down (and says whether the IP works).
  if (failing(http) && status !== 503 && typeof status === 'number' && status !== 502 && status !== 504) {
    firing.set('KodeksHttp200Status', { url: detail(http, 'url'), status, error: http.error, failures: http.consecutiveFailures, failingSince: since(http) });
  } else if (failing(http) && status !== 503) {
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
  const licmanIcmp = statuses.licmanIcmp;
  if (failing(licmanIcmp)) {
    firing.set('LicmanIcmp', { target: detail(licmanIcmp, 'target'), error: licmanIcmp.error, failures: licmanIcmp.consecutiveFailures, failingSince: since(licmanIcmp) });
  }
  const licmanTcp = statuses.licmanTcp;
  if (failing(licmanTcp)) {
    firing.set('LicmanTcpStatus', { target: detail(licmanTcp, 'target'), error: licmanTcp.error, failures: licmanTcp.consecutiveFailures, failingSince: since(licmanTcp) });
  }
  return firing;
}

/** What the main page says of the server, when it says anything: maintenance, a call for a specialist, or that it works. */
export type PageState = 'maintenance' | 'need-support' | 'ok';

/** Words to look for on the main page (PROBE_MAINTENANCE_TEXT, PROBE_NEED_SUPPORT_TEXT); none by default. */
export interface PageWords {
  maintenance?: RegExp;
  needSupport?: RegExp;
}

/**
 * The server's state as its main page shows it: 503 is maintenance (as SMART
 * reads it); otherwise the page's words, when the distributor has said which
 * words its servers show; a page that answers is a server that works.
 */
export function pageStateOf(answer: { status: number | null; up: boolean; body?: string }, words: PageWords): PageState | null {
  if (answer.status === 503) return 'maintenance';
  if (answer.body !== undefined && words.maintenance?.test(answer.body)) return 'maintenance';
  if (answer.body !== undefined && words.needSupport?.test(answer.body)) return 'need-support';
  return answer.up ? 'ok' : null;
}
