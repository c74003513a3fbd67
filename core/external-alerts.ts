import { createHash } from 'node:crypto';
import type { Facts } from './rules.ts';
import { defuse, UNSAFE_CHARS } from './text.ts';

/**
 * Alerts from a distributor's own Prometheus, through Alertmanager, become
 * incidents beside dozor's rules but never among them: their rule id has a
 * namespace of its own (`am:<alertname>:<fingerprint>`), so no external alert
 * can open, resolve or collide with an incident of dozor's own rules. An alert
 * is identified as Alertmanager identifies it: by its whole label set, so the
 * same alert name on three disks is three incidents.
 */
const PREFIX = 'am:';

/** How much of an alert's name its rule id carries (the whole name stays in the incident's facts). */
const NAME_IN_RULE_ID = 100;

/**
 * Whether an alert has a name dozor can open an incident under: any text
 * (Grafana-managed alerts and Prometheus 3 allow any UTF-8 name, spaces
 * included); only a missing or blank `alertname` is no name.
 */
export function isAlertName(name: string | undefined): name is string {
  return name !== undefined && name.trim() !== '';
}

/** A stable hash of a label set (order does not matter), 16 hex digits. */
export function labelFingerprint(labels: Readonly<Record<string, string>>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((name) => `${name}\u0000${labels[name]}`)
    .join('\u0001');
  return createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, 16);
}

/**
 * The rule id of an external alert: `am:<name>:<fingerprint>`. The name is
 * kept readable (every place that shows a rule's title reads it from here),
 * but made safe to store and print anywhere: control characters and
 * reordering marks become U+FFFD, any run of white space one space, and past
 * 100 characters it is cut with «…». The fingerprint, of the labels as sent,
 * keeps alerts apart whatever their names turn into.
 */
export function externalRuleId(alertname: string, fingerprint: string): string {
  const name = defuse(alertname).replace(/\s+/gu, ' ').trim();
  const chars = [...name];
  return `${PREFIX}${chars.length > NAME_IN_RULE_ID ? `${chars.slice(0, NAME_IN_RULE_ID).join('')}…` : name}:${fingerprint}`;
}

const EXTERNAL_RULE_ID = /^am:(.+):[0-9a-f]{16}$/su;

export function isExternalRule(ruleId: string): boolean {
  return ruleId.startsWith(PREFIX);
}

/** A well-formed external rule id, as `externalRuleId` makes them (what a silence may name). */
export function isExternalRuleId(ruleId: string): boolean {
  const name = EXTERNAL_RULE_ID.exec(ruleId)?.[1];
  return name !== undefined && [...name].length <= NAME_IN_RULE_ID + 1 && !UNSAFE_CHARS.test(name) && !/[^\S ]/u.test(name);
}

/** The alert name an external rule id carries; null for dozor's own rules. */
export function externalAlertName(ruleId: string): string | null {
  if (!isExternalRule(ruleId)) return null;
  const rest = ruleId.slice(PREFIX.length);
  const end = rest.lastIndexOf(':');
  return end > 0 ? rest.slice(0, end) : rest;
}

/**
 * The rule an incident counts under for a mass event: dozor's own rules are
 * themselves; an external alert counts under its name (`am:<name>`), not its
 * label set, so 10,000 `HighLoad` alerts across 500 installations are one
 * event, as 35 installations losing their key are.
 */
export function massRuleOf(ruleId: string): string {
  const external = EXTERNAL_RULE_ID.exec(ruleId);
  return external ? `${PREFIX}${external[1]}` : ruleId;
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

/** A source as a short key of 16 hex digits, for a button (Telegram allows 64 bytes of data). */
export function sourceKey(source: string): string {
  return createHash('sha256').update(source, 'utf8').digest('hex').slice(0, 16);
}

/**
 * What an alert names as its origin, the key an admin's routing is kept
 * under: `installation_id:<v>`, `installation:<v>` or `instance:<host or IP>`
 * (port and IPv6 brackets dropped, lower case); null when it names nothing.
 */
export function alertSource(labels: Readonly<Record<string, string>>): string | null {
  const byId = labels.installation_id?.trim();
  if (byId) return `installation_id:${byId}`;
  const byName = labels.installation?.trim();
  if (byName) return `installation:${byName}`;
  const instance = labels.instance?.trim();
  if (instance) return `instance:${instanceAddress(instance)}`;
  return null;
}

/** The host or IP of an `instance` label: "host:9100", "[::1]:9100" and "host" give "host", "::1", "host". */
export function instanceAddress(instance: string): string {
  return instance
    .replace(/^\[([^\]]+)\](:\d+)?$/, '$1')
    .replace(/^([^:]+):\d+$/, '$1')
    .toLowerCase();
}

/** What the message about an external alert shows: its own words, the labels that set it apart, and its runbook. */
export function externalFacts(
  alertname: string,
  labels: Readonly<Record<string, string>>,
  annotations: Readonly<Record<string, string>>,
  startsAt: string | null,
): Facts {
  const runbook = annotations.runbook_url?.trim() ?? '';
  return {
    source: 'alertmanager',
    alertname,
    summary: annotations.summary ?? null,
    description: annotations.description ?? null,
    labels: distinguishingLabels(labels),
    // Only a web address becomes a link.
    runbookUrl: /^https?:\/\/\S+$/i.test(runbook) ? runbook : null,
    startsAt,
  };
}
