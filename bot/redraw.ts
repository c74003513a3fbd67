import { getIncidentViews } from '../db/incidents.ts';
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
  return renderAlertGroup(views, options, later);
}

export function runbookLink(base: string | null) {
  return (ruleId: string) => (base ? `${base}${encodeURIComponent(ruleId)}.md` : null);
}
