import { alertSource, externalFacts, externalRuleId, isAlertName } from '../core/external-alerts.ts';
import { saveAlertRoute, deleteAlertRoute } from '../db/alert-routes.ts';
import { recordAudit } from '../db/audit.ts';
import { listActiveRules } from '../db/incidents.ts';
import type { Installation } from '../db/installations.ts';
import { deleteUnmatchedAlerts, listUnmatchedAlerts } from '../db/unmatched-alerts.ts';
import { writeTransaction } from '../db/transaction.ts';
import { inputError } from '../i18n/index.ts';
import { activeSilences, loadSubject, openIncident } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import type { RegistryContext } from './context.ts';
import { requireInstallation } from './installations.ts';

const SOURCE = /^(installation_id|installation|instance):\S.{0,199}$/;

/**
 * An admin says whose the alerts of a source are (`instance:10.0.0.7`, as
 * `dozor alerts unmatched` and the bot show it): from now on they go to that
 * installation when their labels match none or several. Those already
 * waiting go there at once: a firing one opens its incident now rather than
 * at Alertmanager's next repeat, hours later.
 */
export async function routeAlerts(
  ctx: RegistryContext,
  settings: IncidentSettings,
  source: string,
  ref: string | number,
): Promise<{ installation: Installation; source: string; opened: number }> {
  const key = source.trim();
  if (!SOURCE.test(key)) throw inputError('alertSourceInvalid', { source });
  return writeTransaction(ctx.db, async (tx) => {
    const installation = await requireInstallation(tx, ref);
    const now = ctx.clock();
    await saveAlertRoute(tx, { source: key, installationId: installation.id, createdAt: now, createdBy: ctx.actor });
    const waiting = (await listUnmatchedAlerts(tx, { all: true })).filter((alert) => alertSource(alert.labels) === key);
    const active = new Set((await listActiveRules(tx, installation.id)).map((i) => i.ruleId));
    const silences = await activeSilences(tx, now);
    let opened = 0;
    for (const alert of waiting) {
      const ruleId = externalRuleId(alert.alertname, alert.fingerprint);
      if (alert.status !== 'firing' || !isAlertName(alert.alertname) || !installation.monitoringEnabled || active.has(ruleId)) continue;
      const severity = alert.labels.severity === 'critical' ? 'critical' : 'warning';
      const facts = externalFacts(alert.alertname, alert.labels, alert.annotations, alert.startsAt);
      await openIncident(tx, settings, await loadSubject(tx, installation.id), { ruleId, severity, facts }, now, silences);
      active.add(ruleId);
      opened++;
    }
    await deleteUnmatchedAlerts(tx, waiting.map((alert) => alert.fingerprint));
    await recordAudit(tx, { at: now, actor: ctx.actor, action: 'alert-route.set', subjectType: 'installation', subjectId: installation.id, details: { source: key, opened } });
    return { installation, source: key, opened };
  });
}

/** Forget where an admin placed a source's alerts: they are matched by their labels alone again. */
export async function unrouteAlerts(ctx: RegistryContext, source: string): Promise<void> {
  const key = source.trim();
  await writeTransaction(ctx.db, async (tx) => {
    if (!(await deleteAlertRoute(tx, key))) throw inputError('alertRouteNotFound', { source: key });
    await recordAudit(tx, { at: ctx.clock(), actor: ctx.actor, action: 'alert-route.remove', subjectType: 'alert-route', subjectId: key });
  });
}
