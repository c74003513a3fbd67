import { massRuleOf } from '../core/external-alerts.ts';
import { countOpenedBetween, getIncidentViews, type IncidentView } from '../db/incidents.ts';
import type { Queryable } from '../db/open.ts';
import { incidentsMailed } from '../db/outbox.ts';
import { incidentsOfMessage, laterIncidentsOfMessage } from '../db/telegram-messages.ts';
import { renderAlert, renderAlertGroup, type Rendered, type RenderOptions } from './render/alert.ts';

/**
 * The current look of a stored alert message: one alert, or a group with its
 * «Принять все»; either with the later problems sent as replies to it.
 */
export async function redrawMessage(db: Queryable, chatId: number, messageId: number, shared: RenderOptions): Promise<Rendered | null> {
  const views = await getIncidentViews(db, await incidentsOfMessage(db, chatId, messageId));
  if (views.length === 0) return null;
  const later = await getIncidentViews(db, await laterIncidentsOfMessage(db, chatId, messageId));
  const options = { ...shared, mailed: await incidentsMailed(db, views.map((v) => v.incident.id)) };
  if (views.length === 1) return renderAlert(views[0]!, options, { later });
  return renderAlertGroup(views, options, { later, massTotals: await massTotalsOf(db, views, options.massEvent) });
}

/**
 * The rules of these alerts that are a mass event, by the rule they count
 * under (`massRuleOf`: an Alertmanager alert's name): how many installations
 * opened one within a grouping window of these alerts' own openings.
 */
export async function massTotalsOf(db: Queryable, views: readonly IncidentView[], massEvent: RenderOptions['massEvent']): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  if (!massEvent) return totals;
  const openings = new Map<string, { first: number; last: number }>();
  for (const view of views) {
    const rule = massRuleOf(view.incident.ruleId);
    const at = view.incident.openedAt.getTime();
    const seen = openings.get(rule);
    openings.set(rule, seen ? { first: Math.min(seen.first, at), last: Math.max(seen.last, at) } : { first: at, last: at });
  }
  for (const [rule, { first, last }] of openings) {
    const n = await countOpenedBetween(db, rule, new Date(first - massEvent.windowMs), new Date(last + massEvent.windowMs));
    if (n >= massEvent.min) totals.set(rule, n);
  }
  return totals;
}

export function runbookLink(base: string | null) {
  return (ruleId: string) => (base ? `${base}${encodeURIComponent(ruleId)}.md` : null);
}
