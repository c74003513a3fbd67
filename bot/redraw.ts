import { countOpenedBetween, getIncidentViews, type IncidentView } from '../db/incidents.ts';
import type { Queryable } from '../db/open.ts';
import { incidentsOfMessage, laterIncidentsOfMessage } from '../db/telegram-messages.ts';
import { renderAlert, renderAlertGroup, type Rendered, type RenderOptions } from './render/alert.ts';

/**
 * The current look of a stored alert message: one alert, or a group with its
 * «Принять все»; either with the later problems sent as replies to it.
 */
export function redrawMessage(db: Queryable, chatId: number, messageId: number, options: RenderOptions): Rendered | null {
  const views = getIncidentViews(db, incidentsOfMessage(db, chatId, messageId));
  if (views.length === 0) return null;
  const later = getIncidentViews(db, laterIncidentsOfMessage(db, chatId, messageId));
  if (views.length === 1) return renderAlert(views[0]!, options, { later });
  return renderAlertGroup(views, options, { later, massTotals: massTotalsOf(db, views, options.massEvent) });
}

/**
 * The rules of these alerts that are a mass event: how many installations
 * opened each within a grouping window of these alerts' own openings.
 */
export function massTotalsOf(db: Queryable, views: readonly IncidentView[], massEvent: RenderOptions['massEvent']): Map<string, number> {
  const totals = new Map<string, number>();
  if (!massEvent) return totals;
  for (const ruleId of new Set(views.map((v) => v.incident.ruleId))) {
    const times = views.filter((v) => v.incident.ruleId === ruleId).map((v) => v.incident.openedAt.getTime());
    const n = countOpenedBetween(db, ruleId, new Date(Math.min(...times) - massEvent.windowMs), new Date(Math.max(...times) + massEvent.windowMs));
    if (n >= massEvent.min) totals.set(ruleId, n);
  }
  return totals;
}

export function runbookLink(base: string | null) {
  return (ruleId: string) => (base ? `${base}${encodeURIComponent(ruleId)}.md` : null);
}
