import { createHash } from 'node:crypto';

/**
 * Alerts from a distributor's own Prometheus, through Alertmanager, become
 * incidents beside dozor's rules but never among them: their rule id has a
 * namespace of its own (`am:<alertname>:<fingerprint>`), so no external alert
 * can open, resolve or collide with an incident of dozor's own rules. An alert
 * is identified as Alertmanager identifies it: by its whole label set, so the
 * same alert name on three disks is three incidents.
 */
const PREFIX = 'am:';

/** A stable hash of a label set (order does not matter), 16 hex digits. */
export function labelFingerprint(labels: Readonly<Record<string, string>>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((name) => `${name}\u0000${labels[name]}`)
    .join('\u0001');
  return createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, 16);
}

export function externalRuleId(alertname: string, fingerprint: string): string {
  return `${PREFIX}${alertname}:${fingerprint}`;
}

export function isExternalRule(ruleId: string): boolean {
  return ruleId.startsWith(PREFIX);
}

/** The alert name an external rule id carries; null for dozor's own rules. */
export function externalAlertName(ruleId: string): string | null {
  if (!isExternalRule(ruleId)) return null;
  const rest = ruleId.slice(PREFIX.length);
  const end = rest.lastIndexOf(':');
  return end > 0 ? rest.slice(0, end) : rest;
}

/** Labels that only route or group an alert; the others tell alerts of one name apart, and go into the message. */
const ROUTING_LABELS = new Set(['alertname', 'severity', 'installation', 'installation_id', 'job', 'prometheus', 'monitor', 'replica']);

/** The labels that tell this alert from others of its name, as `name=value`, sorted. */
export function distinguishingLabels(labels: Readonly<Record<string, string>>): string[] {
  return Object.keys(labels)
    .filter((name) => !ROUTING_LABELS.has(name))
    .sort()
    .map((name) => `${name}=${labels[name]}`);
}
