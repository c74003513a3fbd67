import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import type { Facts } from '../core/rules.ts';
import { listActiveIncidents } from '../db/incidents.ts';
import { readValue, writeValue } from '../db/key-value.ts';
import type { DB, Queryable } from '../db/open.ts';
import { enqueue } from '../db/outbox.ts';
import { findInstallationIds, findMonitoredInstallationIdsByAddress } from '../db/installations.ts';
import { langOf, texts } from '../i18n/index.ts';
import { listActiveAdmins } from '../db/users.ts';
import { NOTICE } from '../db/outbox.ts';
import { activeSilences, loadSubject, openIncident, resolveIncident } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { writeTransaction } from '../db/transaction.ts';

/** Alertmanager's webhook payload, version 4 (only what we use). */
const payloadSchema = z.object({
  version: z.string().optional(),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()).default({}),
        startsAt: z.string().optional(),
        fingerprint: z.string().optional(),
      }),
    )
    .max(1000),
});

export interface AlertmanagerDeps {
  db: DB;
  clock: Clock;
  settings: IncidentSettings;
  token: string;
  onIncidentChange?: () => void;
}

const RULE_ID = /^[A-Za-z][A-Za-z0-9_:.-]{0,99}$/;

/**
 * `POST /api/v1/alertmanager`: alerts from a distributor's Prometheus become
 * incidents of the matched installation (by the `installation` label, else
 * `instance` against host or IP), under their alert name; resolved alerts
 * close them. Alerts that match nothing are reported to the admins once.
 */
export function alertmanagerRoutes(deps: AlertmanagerDeps): FastifyPluginAsync {
  return async (scope) => {
    scope.post('/api/v1/alertmanager', async (request, reply) => {
      const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
      if (!tokensEqual(presented, deps.token)) return reply.code(401).send({ error: 'missing or invalid token' });
      const parsed = payloadSchema.safeParse(request.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return reply.code(400).send({ error: `invalid Alertmanager payload: ${issue.path.join('.') || 'body'}: ${issue.message}` });
      }
      const now = deps.clock();
      const result = writeTransaction(deps.db, (tx) => applyAlerts(tx, deps, parsed.data.alerts, now));
      if (result.opened + result.resolved + result.unmatched > 0) deps.onIncidentChange?.();
      return result;
    });
  };
}

type Alert = z.infer<typeof payloadSchema>['alerts'][number];

function applyAlerts(tx: Queryable, deps: AlertmanagerDeps, alerts: Alert[], now: Date) {
  const result = { received: alerts.length, opened: 0, resolved: 0, unchanged: 0, unmatched: 0 };
  const silences = activeSilences(tx, now);
  for (const alert of alerts) {
    const ruleId = alert.labels.alertname ?? '';
    const installationId = RULE_ID.test(ruleId) ? matchInstallation(tx, alert.labels) : undefined;
    if (installationId === undefined) {
      result.unmatched++;
      reportUnmatched(tx, alert, now);
      continue;
    }
    const active = listActiveIncidents(tx, installationId).find((i) => i.ruleId === ruleId);
    if (alert.status === 'firing' && !active) {
      const facts: Facts = {
        summary: alert.annotations.summary ?? null,
        description: alert.annotations.description ?? null,
        instance: alert.labels.instance ?? null,
        source: 'alertmanager',
      };
      const severity = alert.labels.severity === 'critical' ? 'critical' : 'warning';
      openIncident(tx, deps.settings, loadSubject(tx, installationId), { ruleId, severity, facts }, now, silences);
      result.opened++;
    } else if (alert.status === 'resolved' && active) {
      resolveIncident(tx, active.id, 'alertmanager', 'cleared', now);
      result.resolved++;
    } else {
      result.unchanged++;
    }
  }
  return result;
}

function matchInstallation(db: Queryable, labels: Record<string, string>): number | undefined {
  const byLabel = labels.installation?.trim();
  if (byLabel) {
    const ids = /^\d+$/.test(byLabel) ? findInstallationIds(db, { id: Number(byLabel) }) : findInstallationIds(db, { name: byLabel });
    return ids.length === 1 ? ids[0] : undefined;
  }
  const instance = labels.instance?.trim();
  if (!instance) return undefined;
  // "host:9100", "[::1]:9100", "host": the address part.
  const address = instance.replace(/^\[([^\]]+)\](:\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1').toLowerCase();
  const ids = findMonitoredInstallationIdsByAddress(db, address);
  return ids.length === 1 ? ids[0] : undefined;
}

/** Tell the admins about an alert nobody owns, once per alert name and instance. */
function reportUnmatched(db: Queryable, alert: Alert, now: Date): void {
  const who = alert.labels.installation ?? alert.labels.instance ?? '?';
  const key = `alertmanager-unmatched:${alert.labels.alertname ?? '?'}:${who}`;
  if (readValue(db, key) !== undefined) return;
  writeValue(db, key, { firstSeen: now.toISOString() }, now);
  for (const admin of listActiveAdmins(db)) {
    const notices = texts(langOf(admin.language)).notices;
    const text = notices.alertmanagerUnmatched(alert.labels.alertname ?? notices.unnamedAlert, who);
    enqueue(db, { kind: NOTICE, chatId: admin.telegramId, incidentId: null, payload: { text } }, now);
  }
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

