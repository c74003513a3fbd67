import { lowerFirst, shortClientName } from '../core/text.ts';
import { severityMark } from '../core/vocabulary.ts';
import { escapeHtml, htmlToPlain } from '../bot/html.ts';
import { renderAlert, renderRecovery, type RenderOptions } from '../bot/render/alert.ts';
import type { IncidentView } from '../db/incidents.ts';
import { ruleTitle, texts } from '../i18n/index.ts';
import type { OutgoingMail } from './mailer.ts';

/**
 * What an alert says by mail: the same anatomy as in Telegram (what and
 * where, how bad, since when, the facts, what to do), with a subject a
 * person can triage from the inbox («🔴 Ромашка · Сервер офиса: ключ
 * SenseLock не виден»), a link to the incident in the cabinet, and every
 * mail of one incident in one thread (Message-ID, In-Reply-To, References).
 */
export interface MailAlertOptions extends RenderOptions {
  /** The cabinet's address (PUBLIC_URL), for the link to the incident; null when not set. */
  cabinetUrl: string | null;
  /** The domain of the message ids: MAIL_FROM's. */
  domain: string;
  /** The signed «Беру» link that acknowledges the incident for the person the mail is for (an open incident, PUBLIC_URL set). */
  takeLink?: string | null;
  /** Why this alert came by mail: Telegram did not deliver it in time, or the person reads alerts by mail. */
  why?: 'fallback' | 'channel';
}

const TAKE_BUTTON = 'display: inline-block; padding: 8px 18px; margin: 4px 0; background: #1f6f43; color: #ffffff; text-decoration: none; border-radius: 4px';

/** The id of an incident's thread: the first mail about it carries it, every later one refers to it. */
export function threadIdOf(incidentId: number, domain: string): string {
  return `<incident-${incidentId}@${domain}>`;
}

/** One line, as the inbox lists it: the mark, the client as people say it, the installation, the problem. */
export function alertSubject(view: IncidentView, lang: RenderOptions['lang']): string {
  const title = lowerFirst(ruleTitle(lang, view.incident.ruleId));
  // One line whatever a name brings: the mailer keeps every subject to one line.
  return `${severityMark(view.incident.severity)} ${shortClientName(view.clientName, 40)} · ${view.installationName}: ${title}`;
}

/** The alert as a mail to one address: its first in the incident's thread. */
export function renderMailAlert(view: IncidentView, to: string, options: MailAlertOptions): OutgoingMail {
  const t = texts(options.lang).mail;
  const html = renderAlert(view, options).text;
  const link = options.cabinetUrl ? `${options.cabinetUrl.replace(/\/$/, '')}/web/incidents#incident-${view.incident.id}` : null;
  const take = options.takeLink ?? null;
  const why = options.why === 'fallback' ? t.whyFallback : t.whyChannel;
  const footer = [...(take ? [t.takeLine(take)] : []), ...(link ? [t.openInCabinet(link)] : [])];
  const links = [
    // A button as mail clients draw one: a link with inline style (no stylesheet survives a mail client).
    ...(take ? [`<a href="${escapeHtml(take)}" style="${TAKE_BUTTON}"><b>${escapeHtml(t.take)}</b></a> ${escapeHtml(t.takeHint)}`] : []),
    ...(link ? [`<a href="${escapeHtml(link)}">${escapeHtml(t.openInCabinetLink)}</a>`] : []),
  ];
  return {
    to,
    subject: alertSubject(view, options.lang),
    text: [htmlToPlain(html), '', ...footer, '', why].join('\n'),
    html: document(options.lang, [html, ...(links.length > 0 ? [links.join('\n')] : []), `<small>${escapeHtml(why)}</small>`]),
    messageId: threadIdOf(view.incident.id, options.domain),
  };
}

/** The end of a mailed critical: one short mail in its thread. */
export function renderMailResolved(view: IncidentView, to: string, options: MailAlertOptions): OutgoingMail {
  const html = renderRecovery([view], options).text;
  const thread = threadIdOf(view.incident.id, options.domain);
  return {
    to,
    subject: `${texts(options.lang).mail.resolvedPrefix} ${alertSubject(view, options.lang)}`,
    text: htmlToPlain(html),
    html: document(options.lang, [html]),
    messageId: `<incident-${view.incident.id}.resolved@${options.domain}>`,
    inReplyTo: thread,
    references: [thread],
  };
}

/** A mail's HTML body: the Telegram anatomy's markup (b, a, code) is plain HTML; lines become breaks. */
function document(lang: RenderOptions['lang'], parts: string[]): string {
  const body = parts.map((part) => `<p>${part.split('\n').join('<br>\n')}</p>`).join('\n');
  return `<!doctype html>\n<html lang="${lang}"><head><meta charset="utf-8"></head><body style="font-family: sans-serif; line-height: 1.4">\n${body}\n</body></html>\n`;
}

/** The morning digest by mail: the Telegram digest's text, and its chart inline (a picture in the message, not an attachment to open). */
export function renderMailDigest(digest: { text: string; png?: Buffer; caption?: string }, to: string, options: MailAlertOptions): OutgoingMail {
  const chart = digest.png ? `<img src="cid:${CHART_CID}" alt="${escapeHtml(digest.caption ?? '')}" width="800" style="max-width: 100%">` : null;
  const [firstLine = ''] = htmlToPlain(digest.text).split('\n');
  return {
    to,
    // Its heading («📋 Сводка на 7 декабря · Ксения»), as the inbox lists it.
    subject: firstLine,
    text: htmlToPlain(digest.text),
    html: document(options.lang, [digest.text, ...(chart ? [chart] : [])]),
    ...(digest.png ? { attachments: [{ filename: 'incidents.png', content: digest.png, cid: CHART_CID, contentType: 'image/png' }] } : {}),
  };
}

const CHART_CID = 'digest-chart@dozor';
