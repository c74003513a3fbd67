import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { alertSource, externalFacts, isAlertName, externalRuleId, instanceAddress, labelFingerprint } from '../core/external-alerts.ts';
import { findAlertRoute } from '../db/alert-routes.ts';
import { listActiveRules } from '../db/incidents.ts';
import { findAlertTargets, type AlertTarget } from '../db/installations.ts';
import type { DB, Queryable } from '../db/open.ts';
import { enqueue, NOTICE } from '../db/outbox.ts';
import { writeTransaction } from '../db/transaction.ts';
import { noteUnmatchedAlert } from '../db/unmatched-alerts.ts';
import { listActiveAdmins } from '../db/users.ts';
import { langOf, texts } from '../i18n/index.ts';
import { activeSilences, loadSubject, openIncident, resolveIncident } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';

/** Alerts in one webhook at most: set `max_alerts` at or below it in the receiver (README). */
export const MAX_WEBHOOK_ALERTS = 10_000;
/** The largest webhook body taken; far above what `MAX_WEBHOOK_ALERTS` alerts weigh. */
export const MAX_WEBHOOK_BYTES = 32 * 1024 * 1024;

/** Alertmanager's webhook payload, version 4 (only what we use). */
const payloadSchema = z.object({
  version: z.string().optional(),
  alerts: z.array(
    z.object({
      status: z.enum(['firing', 'resolved']),
      labels: z.record(z.string(), z.string()),
      annotations: z.record(z.string(), z.string()).default({}),
      startsAt: z.string().optional(),
    }),
  ),
});

export interface AlertmanagerDeps {
  db: DB;
  clock: Clock;
  settings: IncidentSettings;
  token: string;
  onIncidentChange?: () => void;
}

/** Unmatched alerts named in the admins' summary; the rest are counted, and the bot's /unmatched (or `dozor alerts unmatched`) lists them all. */
const NAMED_IN_SUMMARY = 5;

export interface WebhookResult {
  received: number;
  opened: number;
  resolved: number;
  unchanged: number;
  /** No installation fits. */
  unmatched: number;
  /** Several installations fit. */
  ambiguous: number;
  /** The installation's monitoring is off. */
  ignored: number;
}

/**
 * `POST /api/v1/alertmanager`: alerts from a distributor's Prometheus become
 * incidents of the installation they name (`installation_id`, `installation`
 * as an id or a name, else `instance` against host or IP). Each alert is its
 * own incident, identified by its whole label set, in a namespace of its own:
 * it fires and resolves alone and never touches dozor's own rules. Alerts that
 * fit no installation, or several, are kept and summarised to the admins, one
 * message per webhook. Every webhook leaves one log line.
 */
export function alertmanagerRoutes(deps: AlertmanagerDeps): FastifyPluginAsync {
  return async (scope) => {
    // Refusals that happen before the handler (a body too large, not JSON) are logged too.
    scope.addHook('onError', async (request, reply, error) => {
      if (reply.statusCode < 500) logRefusal(request, reply.statusCode, error.message);
    });

    scope.post('/api/v1/alertmanager', { bodyLimit: MAX_WEBHOOK_BYTES }, async (request, reply) => {
      const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
      if (!tokensEqual(presented, deps.token)) {
        logRefusal(request, 401, 'missing or invalid token');
        return reply.code(401).send({ error: 'missing or invalid token' });
      }
      const parsed = payloadSchema.safeParse(request.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const error = `invalid Alertmanager payload: ${issue.path.join('.') || 'body'}: ${issue.message}`;
        logRefusal(request, 400, error);
        return reply.code(400).send({ error });
      }
      const alerts = parsed.data.alerts;
      if (alerts.length > MAX_WEBHOOK_ALERTS) {
        const error = `the webhook carries ${alerts.length} alerts; dozor takes at most ${MAX_WEBHOOK_ALERTS} in one: set max_alerts: ${MAX_WEBHOOK_ALERTS} (or less) in the receiver`;
        logRefusal(request, 413, error);
        return reply.code(413).send({ error });
      }
      const now = deps.clock();
      const result = writeTransaction(deps.db, (tx) => applyAlerts(tx, deps, alerts, now));
      request.log.info({ ...result }, 'alertmanager webhook');
      if (result.opened + result.resolved + result.unmatched + result.ambiguous > 0) deps.onIncidentChange?.();
      return result;
    });
  };
}

function logRefusal(request: FastifyRequest, status: number, reason: string): void {
  request.log.warn({ status, reason: reason.slice(0, 300) }, 'alertmanager webhook refused');
}

type Alert = z.infer<typeof payloadSchema>['alerts'][number];

type Match = { kind: 'one'; target: AlertTarget } | { kind: 'none' } | { kind: 'ambiguous'; candidates: AlertTarget[] };

function applyAlerts(tx: Queryable, deps: AlertmanagerDeps, alerts: Alert[], now: Date): WebhookResult {
  const result: WebhookResult = { received: alerts.length, opened: 0, resolved: 0, unchanged: 0, unmatched: 0, ambiguous: 0, ignored: 0 };
  const silences = activeSilences(tx, now);
  const newlyUnmatched: { alertname: string; who: string; candidates: AlertTarget[] }[] = [];
  // Each installation's unresolved incidents, read once per webhook (one may carry thousands of alerts for one installation).
  const activeOf = new Map<number, Map<string, number>>();
  const active = (installationId: number) => {
    let rules = activeOf.get(installationId);
    if (!rules) {
      rules = new Map(listActiveRules(tx, installationId).map((i) => [i.ruleId, i.id]));
      activeOf.set(installationId, rules);
    }
    return rules;
  };
  for (const alert of alerts) {
    const labels = alert.labels;
    const fingerprint = labelFingerprint(labels);
    const alertname = isAlertName(labels.alertname) ? labels.alertname : null;
    const match: Match = alertname ? matchInstallation(tx, labels) : { kind: 'none' };
    if (match.kind !== 'one') {
      if (match.kind === 'none') result.unmatched++;
      else result.ambiguous++;
      const candidates = match.kind === 'ambiguous' ? match.candidates : [];
      const isNew = noteUnmatchedAlert(
        tx,
        {
          fingerprint,
          alertname: labels.alertname ?? '',
          labels,
          annotations: alert.annotations,
          startsAt: alert.startsAt ?? null,
          reason: match.kind,
          candidates: candidates.map((c) => c.id),
          status: alert.status,
        },
        now,
      );
      if (isNew && alert.status === 'firing') newlyUnmatched.push({ alertname: labels.alertname ?? '', who: whoOf(labels), candidates });
      continue;
    }
    const target = match.target;
    const ruleId = externalRuleId(alertname!, fingerprint);
    const activeId = active(target.id).get(ruleId);
    if (alert.status === 'resolved') {
      if (activeId !== undefined) {
        resolveIncident(tx, activeId, 'alertmanager', 'cleared', now);
        active(target.id).delete(ruleId);
        result.resolved++;
      } else result.unchanged++;
      continue;
    }
    if (!target.monitoringEnabled) {
      // As with dozor's own rules: an installation nobody watches opens nothing.
      result.ignored++;
      continue;
    }
    if (activeId !== undefined) {
      result.unchanged++;
      continue;
    }
    const severity = labels.severity === 'critical' ? 'critical' : 'warning';
    const opened = openIncident(tx, deps.settings, loadSubject(tx, target.id), { ruleId, severity, facts: externalFacts(alertname!, labels, alert.annotations, alert.startsAt ?? null) }, now, silences);
    active(target.id).set(ruleId, opened.id);
    result.opened++;
  }
  if (newlyUnmatched.length > 0) summariseUnmatched(tx, newlyUnmatched, now);
  return result;
}

/**
 * The installation an alert is about: `installation_id` by id, `installation`
 * by id or exact name, else `instance` ("host:9100", "[::1]:9100", "host") by
 * host or IP. When several fit, the monitored ones are preferred; more than
 * one is ambiguous. When none fits, or several, the installation an admin
 * placed alerts of that source under (in the bot or `dozor alerts route`) takes them.
 */
function matchInstallation(db: Queryable, labels: Record<string, string>): Match {
  const match = matchByLabels(db, labels);
  if (match.kind === 'one') return match;
  const source = alertSource(labels);
  const route = source ? findAlertRoute(db, source) : undefined;
  const routed = route ? findAlertTargets(db, { id: route.installationId }) : [];
  return routed.length === 1 ? { kind: 'one', target: routed[0]! } : match;
}

function matchByLabels(db: Queryable, labels: Record<string, string>): Match {
  const byId = labels.installation_id?.trim();
  const byLabel = labels.installation?.trim();
  const instance = labels.instance?.trim();
  let found: AlertTarget[];
  if (byId) found = /^\d+$/.test(byId) ? findAlertTargets(db, { id: Number(byId) }) : [];
  else if (byLabel) found = /^\d+$/.test(byLabel) ? findAlertTargets(db, { id: Number(byLabel) }) : findAlertTargets(db, { name: byLabel });
  else if (instance) found = findAlertTargets(db, { address: instanceAddress(instance) });
  else found = [];
  if (found.length === 1) return { kind: 'one', target: found[0]! };
  if (found.length === 0) return { kind: 'none' };
  const monitored = found.filter((t) => t.monitoringEnabled);
  if (monitored.length === 1) return { kind: 'one', target: monitored[0]! };
  return { kind: 'ambiguous', candidates: monitored.length > 0 ? monitored : found };
}

function whoOf(labels: Record<string, string>): string {
  return labels.installation_id ?? labels.installation ?? labels.instance ?? '?';
}

/** One message per admin for the alerts of this webhook that nobody owns and were not seen before. */
function summariseUnmatched(db: Queryable, alerts: { alertname: string; who: string; candidates: AlertTarget[] }[], now: Date): void {
  for (const admin of listActiveAdmins(db)) {
    const t = texts(langOf(admin.language)).notices;
    const lines = alerts.slice(0, NAMED_IN_SUMMARY).map((a) =>
      a.candidates.length > 0
        ? t.alertAmbiguous(a.alertname || t.unnamedAlert, a.who, a.candidates.map((c) => `${c.clientName} / ${c.name} (id ${c.id})`).join('; '))
        : t.alertUnmatched(a.alertname || t.unnamedAlert, a.who),
    );
    const text = [t.alertsUnmatchedTitle(alerts.length), ...lines, ...(alerts.length > NAMED_IN_SUMMARY ? [t.alertsUnmatchedMore(alerts.length - NAMED_IN_SUMMARY)] : []), t.alertsUnmatchedHint].join('\n');
    const keyboard = [[{ text: t.alertsUnmatchedButton, data: 'aml' }]];
    enqueue(db, { kind: NOTICE, chatId: admin.telegramId, incidentId: null, payload: { text, keyboard } }, now);
  }
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
