import { InlineKeyboard } from 'grammy';
import { isExternalRule } from '../../core/external-alerts.ts';
import type { IncidentView } from '../../db/incidents.ts';
import { escapeHtml, fitMessage } from '../html.ts';
import { formatDateTime, formatSpan, formatTime, zoneLabel, type Lang } from '../../i18n/format.ts';
import { ruleTitle, texts } from '../../i18n/index.ts';
import { renderFacts } from './facts.ts';

export interface RenderOptions {
  lang: Lang;
  tz: string;
  now: Date;
  /** The runbook link for a rule, or null when no base URL is configured. */
  runbookUrl: (ruleId: string) => string | null;
}

export interface Rendered {
  text: string;
  keyboard: InlineKeyboard | undefined;
}

/** Callback data, kept short: Telegram allows 64 bytes. */
export const callbacks = {
  ack: (incidentId: number) => `ack:${incidentId}`,
  /** Acts on the message it is pressed under, so it carries no id that could be forged. */
  ackAll: () => 'ackall',
  snoozeHour: (incidentId: number) => `snz:h:${incidentId}`,
  snoozeMorning: (incidentId: number) => `snz:m:${incidentId}`,
  status: (installationId: number) => `st:${installationId}`,
};

/** One alert: severity, the rule's title and id, client, installation, since when, the facts, the runbook. */
export function renderAlert(view: IncidentView, options: RenderOptions, heading?: string): Rendered {
  const { lang, tz } = options;
  const t = texts(lang);
  const incident = view.incident;
  const lines = [
    ...(heading ? [escapeHtml(heading), ''] : []),
    `<b>${incident.severity === 'critical' ? t.critical : t.warning} · ${escapeHtml(ruleTitle(lang, incident.ruleId))}</b>`,
    `<code>${escapeHtml(incident.ruleId)}</code>`,
    `${t.client}: <b>${escapeHtml(view.clientName)}</b>`,
    `${t.installation}: ${escapeHtml(view.installationName)}`,
    `${t.since}: ${formatDateTime(incident.openedAt, tz)} ${zoneLabel(tz, lang)}`,
    ...renderFacts(incident.ruleId, incident.details, lang, tz, options.now),
  ];
  if (view.heldBack > 0) lines.push(escapeHtml(t.facts.heldBack(view.heldBack)));
  // An alert from outside links to its own runbook, if it named one; dozor's rules to theirs.
  const own = incident.details.runbookUrl;
  const runbook = isExternalRule(incident.ruleId) ? (typeof own === 'string' ? own : null) : options.runbookUrl(incident.ruleId);
  if (runbook) lines.push(`📖 <a href="${escapeHtml(runbook)}">${t.runbook}</a>`);
  const state = stateLine(view, options);
  if (state) lines.push('', state);
  return { text: fitMessage(lines.join('\n')), keyboard: alertKeyboard(view, options) };
}

/** Several new alerts for one chat as one message, with one button to take them all. */
export function renderAlertGroup(views: IncidentView[], options: RenderOptions): Rendered {
  const t = texts(options.lang);
  const lines = [`<b>${escapeHtml(t.newAlerts(views.length))}</b>`];
  const cause = commonCauseOf(views);
  if (cause) lines.push(`<b>${escapeHtml(t.commonCause(cause.kind === 'provider' ? t.causeProvider(cause.name) : t.causeHost(cause.name), cause.count))}</b>`);
  lines.push('');
  views.forEach((view, i) => {
    const incident = view.incident;
    const mark = incident.status === 'resolved' ? '☑️' : incident.status === 'acknowledged' ? '✅' : incident.severity === 'critical' ? '🔴' : '🟡';
    lines.push(
      `${i + 1}. ${mark} <b>${escapeHtml(ruleTitle(options.lang, incident.ruleId))}</b> — ${escapeHtml(view.clientName)} / ${escapeHtml(view.installationName)}`,
      `    <code>${escapeHtml(incident.ruleId)}</code> · ${renderFacts(incident.ruleId, incident.details, options.lang, options.tz, options.now).join('; ')}`,
    );
    const state = stateLine(view, options);
    if (state) lines.push(`    ${state}`);
  });
  const open = views.filter((v) => v.incident.status === 'open');
  const keyboard = open.length > 0 ? new InlineKeyboard().text(t.ackAllButton, callbacks.ackAll()) : undefined;
  return { text: fitMessage(lines.join('\n')), keyboard };
}

/** What has happened to the incident since: acknowledged by whom, resolved after how long. */
function stateLine(view: IncidentView, options: RenderOptions): string | null {
  const t = texts(options.lang);
  const incident = view.incident;
  if (incident.status === 'resolved' && incident.resolvedAt) {
    const span = formatSpan(options.lang, incident.resolvedAt.getTime() - incident.openedAt.getTime());
    const how =
      incident.resolution === 'manual'
        ? ` (${t.resolvedByHand(view.resolvedByName ?? '?')})`
        : incident.resolution === 'disabled'
          ? ` (${t.resolvedDisabled})`
          : '';
    return escapeHtml(t.resolvedAfter(span) + how);
  }
  if (incident.status === 'acknowledged' && incident.acknowledgedAt) {
    return escapeHtml(t.acknowledgedBy(view.acknowledgedByName ?? '?', formatTime(incident.acknowledgedAt, options.tz)));
  }
  return null;
}

function alertKeyboard(view: IncidentView, options: RenderOptions): InlineKeyboard | undefined {
  const t = texts(options.lang);
  const incident = view.incident;
  if (incident.status === 'resolved') return undefined;
  const keyboard = new InlineKeyboard();
  if (incident.status === 'open') {
    keyboard
      .text(t.ackButton, callbacks.ack(incident.id))
      .row()
      .text(t.snoozeHourButton, callbacks.snoozeHour(incident.id))
      .text(t.snoozeMorningButton, callbacks.snoozeMorning(incident.id))
      .row();
  }
  return keyboard.text(t.statusButton, callbacks.status(incident.installationId));
}

/** A reminder or escalation: a new message that points back to the original. */
export function renderFollowUp(
  view: IncidentView,
  kind: 'reminder' | 'escalated',
  options: RenderOptions,
  originalLink: string | null,
): Rendered {
  const t = texts(options.lang);
  const open = formatSpan(options.lang, options.now.getTime() - (view.incident.announcedAt ?? view.incident.openedAt).getTime());
  const heading = kind === 'reminder' ? t.reminder(open) : t.escalation(open, view.managerName ?? t.notAssigned);
  const rendered = renderAlert(view, options, heading);
  const text = originalLink ? `${rendered.text}\n↩️ <a href="${escapeHtml(originalLink)}">${t.originalMessage}</a>` : rendered.text;
  return { text: fitMessage(text), keyboard: rendered.keyboard };
}

/** The common cause all alerts of a group share, if they do. */
function commonCauseOf(views: IncidentView[]): { kind: 'provider' | 'host'; name: string; count: number } | null {
  const causes = new Set(views.map((v) => v.incident.details.commonCause));
  const [only] = causes;
  if (causes.size !== 1 || typeof only !== 'string') return null;
  const [kind, ...name] = only.split(':');
  return { kind: kind === 'provider' ? 'provider' : 'host', name: name.join(':'), count: Number(views[0]!.incident.details.commonCauseCount ?? views.length) };
}
