import { InlineKeyboard } from 'grammy';
import { isExternalRule, massRuleOf } from '../../core/external-alerts.ts';
import type { IncidentView } from '../../db/incidents.ts';
import { escapeHtml, fitMessage } from '../html.ts';
import { problemStart, type ProblemStart } from '../../core/evidence.ts';
import { formatSince, formatSpan, formatTime, formatUntil, formatWhen, type Lang } from '../../i18n/format.ts';
import { ruleGuide, ruleTitle, smartStanding, texts } from '../../i18n/index.ts';
import type { Facts } from '../../core/rules.ts';
import { clip, lowerFirst, shortClientName } from '../../core/text.ts';
import { renderFacts } from './facts.ts';
import { MARK, severityMark } from '../../core/vocabulary.ts';

export interface RenderOptions {
  lang: Lang;
  tz: string;
  now: Date;
  /** The runbook link for a rule, or null when no base URL is configured. */
  runbookUrl: (ruleId: string) => string | null;
  /** When alerts of one rule are a mass event; without it, none is. */
  massEvent?: { min: number; windowMs: number };
  /** Incidents whose alert went, or goes, by mail too: the message says so. */
  mailed?: ReadonlySet<number>;
}

/** What a grouped message shows besides its own alerts. */
export interface GroupSurroundings {
  /** Problems of its installations that came later, as replies to it. */
  later?: IncidentView[];
  /** Rules that are a mass event now, with how many installations opened them fleet-wide. */
  massTotals?: ReadonlyMap<string, number>;
}

/** Past this many alerts of one rule in a message, they are listed folded, one line for all. */
const FOLD_AT = 15;
/** Installations named in a folded list; the rest are counted. */
const FOLDED_NAMES = 40;
/** Runbook links (of alerts from outside) under a folded list, at most. */
const FOLDED_RUNBOOKS = 3;

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
  /** An hour's snooze of everything of one installation (an item of a grouped message). */
  snoozeInstallation: (installationId: number) => `sni:${installationId}`,
  /** The alert's ids: its rule, and SMART's name for it. */
  details: (incidentId: number) => `more:${incidentId}`,
  /** The same for every alert of the message it is pressed under. */
  detailsOfMessage: () => 'more',
  /** The full alerts, with every step, of one installation of a grouped message. */
  steps: (installationId: number) => `how:${installationId}`,
  /** Every step of a folded list's rule (many installations, one rule), named by one of its incidents. */
  ruleSteps: (incidentId: number) => `howr:${incidentId}`,
};

/**
 * One alert, the same anatomy for every rule: what and where; how bad, in
 * plain words; when the problem began (by its evidence) and how long it has
 * lasted; the facts that matter; what to do, written in; the runbook link
 * when there is one; what has happened since. The rule's id (and SMART's name
 * for it) is behind «ℹ️ Подробнее»: people act on words, not ids.
 */
export function renderAlert(view: IncidentView, options: RenderOptions, around: AlertSurroundings = {}): Rendered {
  const { lang, tz, now } = options;
  const t = texts(lang);
  const incident = view.incident;
  const guide = ruleGuide(lang, incident.ruleId);
  const external = guide ? null : externalImpact(lang, incident.ruleId, incident.details);
  const impact = guide?.impact ?? external?.impact;
  const heading = around.heading ?? [];
  const lines = [
    ...(heading.length > 0 ? [...heading.map(escapeHtml), ''] : []),
    `${severityMark(incident.severity)} <b>${escapeHtml(ruleTitle(lang, incident.ruleId))}</b>`,
    `🏢 <b>${escapeHtml(view.clientName)}</b> · ${escapeHtml(view.installationName)}`,
    `<b>${t.severityWord[incident.severity]}.</b>${impact ? ` ${escapeHtml(impact)}` : ''}`,
    escapeHtml(formatSince(lang, problemStart(incident.ruleId, incident.details, incident.openedAt, tz), now, tz)),
    ...renderFacts(incident.ruleId, external?.facts ?? incident.details, lang, tz, now),
    // What it rests on came from a fleet upload, which any client's server can send, not from the installation's own agent.
    ...(typeof incident.details.fleetUpload === 'string' ? [escapeHtml(t.facts.fromFleetUpload(incident.details.fleetUpload))] : []),
  ];
  if (view.heldBack > 0) lines.push(escapeHtml(t.facts.heldBack(view.heldBack)));
  if (guide) lines.push('', `<b>${t.whatToDo}</b>`, ...guide.steps.map((step, i) => `${i + 1}. ${escapeHtml(step)}`));
  // An alert from outside links to its own runbook, if it named one; dozor's rules to theirs.
  const runbook = isExternalRule(incident.ruleId) ? ownRunbook(view) : options.runbookUrl(incident.ruleId);
  if (runbook) lines.push(`📖 <a href="${escapeHtml(runbook)}">${guide ? t.moreInRunbook : t.runbook}</a>`);
  const later = around.later ?? [];
  if (later.length > 0) {
    lines.push('', `<b>${escapeHtml(t.laterProblems)}</b>`, ...later.map((v) => `• ${markOf([v])} ${escapeHtml(ruleTitle(lang, v.incident.ruleId))}`));
    const cause = likelyCause([view, ...later]);
    if (cause) lines.push(`🔎 <b>${escapeHtml(t.likelyCause[cause])}</b>`);
  }
  const state = stateLine(view, options);
  if (state) lines.push('', state);
  if (options.mailed?.has(incident.id)) lines.push('', t.alsoByMail);
  return { text: fitMessage(lines.join('\n')), keyboard: alertKeyboard(view, options) };
}

/**
 * What an alert from outside says on its severity line, in its own words:
 * its summary, else its description's first line (then not repeated among
 * its facts), else its name. Null for a rule of dozor's own.
 */
function externalImpact(lang: Lang, ruleId: string, details: Facts): { impact: string; facts: Facts } | null {
  if (details.source !== 'alertmanager') return null;
  const summary = typeof details.summary === 'string' ? details.summary.trim() : '';
  if (summary) return { impact: summary, facts: { ...details, summary: null } };
  const [first = '', ...rest] = (typeof details.description === 'string' ? details.description.trim() : '').split('\n');
  if (first.trim()) return { impact: first.trim(), facts: { ...details, description: rest.join('\n').trim() || null } };
  return { impact: ruleTitle(lang, ruleId), facts: details };
}

/** The runbook an alert from outside named (its `runbook_url`, when a web address). */
function ownRunbook(view: IncidentView): string | null {
  const url = view.incident.details.runbookUrl;
  return isExternalRule(view.incident.ruleId) && typeof url === 'string' && url ? url : null;
}

/** Links to the runbooks alerts from outside named, each once. */
function runbookLinks(views: IncidentView[], lang: Lang): string[] {
  const urls = [...new Set(views.map(ownRunbook).filter((url): url is string => url !== null))];
  return urls.map((url) => `📖 <a href="${escapeHtml(url)}">${texts(lang).runbook}</a>`);
}

export interface AlertSurroundings {
  /** Lines above the alert, plain text: a reminder's or a continuation's heading. */
  heading?: string[];
  /** Problems of the same installation that came later, as replies to this alert. */
  later?: IncidentView[];
}

/**
 * A later problem of an installation whose alert is still open in the chat,
 * sent as a reply to that alert: it says which story it continues and, when
 * the problems together point to one cause, names it.
 */
export function renderContinuation(view: IncidentView, story: IncidentView[], options: RenderOptions): Rendered {
  const t = texts(options.lang);
  const heading = [t.continuesAlert(ruleTitle(options.lang, story[0]!.incident.ruleId))];
  const cause = likelyCause([...story, view]);
  if (cause) heading.push(`🔎 ${t.likelyCause[cause]}`);
  return renderAlert(view, options, { heading });
}

/**
 * An event is over: one short reply to its message, which notifies, one
 * line per installation («☑️ ООО «Ромашка» · Сервер офиса: ключ SenseLock
 * снова виден, комплект собран, в 22:05; длилось 1 час 3 минуты»).
 */
export function renderRecovery(views: IncidentView[], options: RenderOptions): Rendered {
  const { lang, tz, now } = options;
  const t = texts(lang);
  const items = byInstallation(views);
  // A mass event's end names a few installations and counts the rest: the reply stays short.
  const lines = items.slice(0, RECOVERY_LISTED).map((item) => {
    const first = item[0]!;
    const what = [...new Set(item.map((v) => t.recovered[v.incident.ruleId] ?? t.recoveredGeneric(ruleTitle(lang, v.incident.ruleId))))].join(', ');
    const { resolvedAt, lasted, how } = endOf(item, options);
    return `☑️ <b>${escapeHtml(first.clientName)}</b> · ${escapeHtml(first.installationName)}: ${escapeHtml(t.recoveryLine(what, formatWhen(lang, resolvedAt, now, tz), lasted, how))}`;
  });
  if (items.length > RECOVERY_LISTED) lines.push(`☑️ ${escapeHtml(t.moreTerms(items.length - RECOVERY_LISTED))}`);
  return { text: fitMessage(lines.join('\n')), keyboard: undefined };
}

/**
 * When an installation's problems (all over) ended, and how long they lasted:
 * from the earliest evidence to the last to end, the same in the reply and in
 * the redrawn message; how the last was closed when not by itself.
 */
function endOf(item: IncidentView[], { lang, tz, now }: RenderOptions): { resolvedAt: Date; lasted: string; how: string | null } {
  const resolvedAt = new Date(Math.max(...item.map((v) => (v.incident.resolvedAt ?? now).getTime())));
  const began = Math.min(...item.map((v) => problemStart(v.incident.ruleId, v.incident.details, v.incident.openedAt, tz).at.getTime()));
  const last = item.find((v) => (v.incident.resolvedAt ?? now).getTime() === resolvedAt.getTime())!;
  return { resolvedAt, lasted: formatSpan(lang, resolvedAt.getTime() - began), how: resolutionNote(last, lang) };
}

/** Installations named in the reply that says an event is over; the rest are counted. */
const RECOVERY_LISTED = 10;

/** How an incident was closed, when not by itself: by hand (by whom), or with its installation's monitoring turned off. */
function resolutionNote(view: IncidentView, lang: Lang): string | null {
  const t = texts(lang);
  if (view.incident.resolution === 'manual') return t.resolvedByHand(view.resolvedByName ?? '?');
  return view.incident.resolution === 'disabled' ? t.resolvedDisabled : null;
}

/** The head of a grouped message follows its items: new, partly solved, all taken, all solved. */
function groupHeading(views: IncidentView[], lang: Lang): string {
  const t = texts(lang);
  const unresolved = views.filter((v) => v.incident.status !== 'resolved').length;
  if (unresolved === 0) return t.allRecovered;
  if (views.every((v) => v.incident.status !== 'open')) return t.alertsInHand(unresolved);
  if (unresolved < views.length) return t.partlyRecovered(unresolved, views.length);
  return t.newAlerts(views.length);
}

/**
 * Several new alerts for one chat as one message. What to do comes first
 * when there is a way round (the installations open by IP: the addresses to
 * give clients); then one item per installation, its alerts folded into one
 * line, with the problems that came later as replies; the rule ids last.
 * Buttons: take them all, and per item its card and an hour's snooze.
 */
export function renderAlertGroup(all: IncidentView[], options: RenderOptions, { later = [], massTotals = new Map() }: GroupSurroundings = {}): Rendered {
  const { lang } = options;
  const t = texts(lang);
  // Many alerts of one rule (a mass event, or just many) are one folded list; the rest are items. Alerts from
  // Alertmanager count under their name, whatever their labels (`massRuleOf`).
  const perRule = new Map<string, IncidentView[]>();
  for (const view of all) {
    const rule = massRuleOf(view.incident.ruleId);
    const members = perRule.get(rule);
    if (members) members.push(view);
    else perRule.set(rule, [view]);
  }
  const folded = [...perRule].filter(([rule, views]) => massTotals.has(rule) || views.length > FOLD_AT);
  const foldedRules = new Set(folded.map(([rule]) => rule));
  const views = all.filter((v) => !foldedRules.has(massRuleOf(v.incident.ruleId)));
  const items = byInstallation(views);
  const lines = [`<b>${escapeHtml(groupHeading(all, lang))}</b>`];
  for (const [rule, members] of folded) lines.push('', ...foldedLines(members, massTotals.get(rule) ?? null, options));
  const cause = commonCauseOf(views);
  const openByIp = items.filter((item) => item.some((v) => v.incident.status !== 'resolved' && typeof v.incident.details.workingUrl === 'string'));
  if (cause) {
    const everyOneByIp = openByIp.length === items.length;
    const where = cause.kind === 'provider' ? t.causeProvider(cause.name) : t.causeHost(cause.name);
    lines.push(`<b>${escapeHtml(everyOneByIp ? t.commonCauseByName(where, cause.count) : t.commonCause(where, cause.count))}</b>`);
  }
  if (openByIp.length > 0) {
    lines.push('', `<b>${escapeHtml(t.workaroundByIp)}</b>`);
    for (const item of openByIp) {
      const url = item.map((v) => v.incident.details.workingUrl).find((u): u is string => typeof u === 'string')!;
      lines.push(`• ${escapeHtml(item[0]!.clientName)} · ${escapeHtml(item[0]!.installationName)} — ${escapeHtml(url)}`);
    }
  }
  const itemNames = buttonNames(items);
  items.forEach((item) => {
    const first = item[0]!;
    const itemLater = later.filter((v) => v.incident.installationId === first.incident.installationId);
    const cause = likelyCause([...item, ...itemLater]);
    lines.push('', `🏢 <b>${escapeHtml(first.clientName)} · ${escapeHtml(first.installationName)}</b>`);
    // The cause comes before the alerts' first steps, which would otherwise send people the long way round.
    if (cause) lines.push(`🔎 <b>${escapeHtml(t.likelyCause[cause])}</b>`);
    for (const view of item) lines.push(compactAlertLine(view, options));
    // Facts that only repeat a title, or the address already given above, are left out.
    const shownTitles = new Set(item.map((v) => escapeHtml(ruleTitle(lang, v.incident.ruleId))));
    // An alert from outside keeps the link to its own runbook, after its facts (a link several share, once).
    const linked = new Set<string>();
    const facts = item.flatMap((v) => {
      const links = runbookLinks([v], lang).filter((link) => !linked.has(link));
      for (const link of links) linked.add(link);
      return [
        ...renderFacts(v.incident.ruleId, externalImpact(lang, v.incident.ruleId, v.incident.details)?.facts ?? v.incident.details, lang, options.tz, options.now).filter(
          (line) => !shownTitles.has(line) && (typeof v.incident.details.workingUrl !== 'string' || !line.includes(v.incident.details.workingUrl)),
        ),
        ...links,
      ];
    });
    if (facts.length > 0) lines.push(`    ${facts.join('; ')}`);
    if (itemLater.length > 0) {
      lines.push(`    ${escapeHtml(t.laterProblemsShort)} ${itemLater.map((v) => `${markOf([v])} ${escapeHtml(ruleTitle(lang, v.incident.ruleId))}`).join('; ')}`);
    }
    // One snooze of the whole installation, or one person taking them all, is said once, not under every alert; so is
    // the end of them all, with how long it lasted as the reply says it.
    const end = item.every((view) => view.incident.status === 'resolved') ? endOf(item, options) : null;
    const states = end
      ? [escapeHtml(t.resolvedAfter(end.lasted) + (end.how ? ` (${end.how})` : ''))]
      : new Set(item.map((view) => stateLine(view, options)).filter((state): state is string => state !== null));
    for (const state of states) lines.push(`    ${state.replaceAll('\n', '\n    ')}`);
  });
  if (all.some((view) => options.mailed?.has(view.incident.id))) lines.push('', t.alsoByMail);
  const keyboard = new InlineKeyboard();
  if (all.some((v) => v.incident.status === 'open')) keyboard.text(t.ackAllButton, callbacks.ackAll()).row();
  // A folded list's steps are the same for every installation of it: one button per rule.
  for (const [rule, members] of folded) {
    const open = members.find((v) => v.incident.status !== 'resolved');
    if (open && ruleGuide(lang, open.incident.ruleId)) keyboard.text(t.groupStepsButton(clip(ruleTitle(lang, rule), 28)), callbacks.ruleSteps(open.incident.id)).row();
  }
  items.forEach((item, i) => {
    if (i >= 20 || item.every((v) => v.incident.status === 'resolved')) return;
    const installationId = item[0]!.incident.installationId;
    keyboard.text(t.groupStepsButton(itemNames[i]!), callbacks.steps(installationId));
    if (item.some((v) => v.incident.status === 'open')) keyboard.text(t.groupSnoozeButton(itemNames[i]!), callbacks.snoozeInstallation(installationId));
    keyboard.row();
  });
  keyboard.text(t.detailsButton, callbacks.detailsOfMessage());
  return { text: fitMessage(lines.join('\n')), keyboard };
}

/**
 * One alert of a grouped message on one line, the anatomy of a single alert
 * cut to its core: what, how bad and why it matters, since when, and the
 * first step («👉 …»); the other steps are one tap away.
 */
function compactAlertLine(view: IncidentView, options: RenderOptions): string {
  const { lang, tz, now } = options;
  const t = texts(lang);
  const incident = view.incident;
  const guide = ruleGuide(lang, incident.ruleId);
  const impact = guide?.impact ?? externalImpact(lang, incident.ruleId, incident.details)?.impact;
  const severity = lowerFirst(t.severityWord[incident.severity] ?? incident.severity);
  const since = formatSince(lang, problemStart(incident.ruleId, incident.details, incident.openedAt, tz), now, tz);
  const firstStep = incident.status === 'resolved' ? undefined : guide?.steps[0];
  const parts = [
    `${markOf([view])} <b>${escapeHtml(ruleTitle(lang, incident.ruleId))}</b> — ${escapeHtml(impact ? `${severity}: ${sentence(lowerFirst(impact))}` : `${severity}.`)}`,
    ...(incident.status === 'resolved' ? [] : [`${escapeHtml(since)}.`]),
    ...(firstStep ? [`👉 ${escapeHtml(firstStep)}`] : []),
  ];
  return parts.join(' ');
}

/** The text ending in a full stop (or its own mark). */
function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?…]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/**
 * What each item's buttons call it: the client as people say it
 * («Ромашка»), with the installation when the message has two of one client.
 */
function buttonNames(items: IncidentView[][]): string[] {
  const perClient = new Map<number, number>();
  for (const item of items) perClient.set(item[0]!.clientId, (perClient.get(item[0]!.clientId) ?? 0) + 1);
  return items.map((item) => {
    const { clientId, clientName, installationName } = item[0]!;
    return (perClient.get(clientId) ?? 0) > 1 ? `${shortClientName(clientName, 12)} · ${shortClientName(installationName, 12)}` : shortClientName(clientName);
  });
}

/**
 * The alerts of one installation of a grouped message in full, each with
 * every step: what «📋 …: что делать» under the group answers.
 */
export function renderItemSteps(views: IncidentView[], options: RenderOptions): Rendered {
  const t = texts(options.lang);
  const text = views.map((view) => renderAlert(view, options).text).join('\n\n');
  const keyboard = views.length > 0 ? new InlineKeyboard().text(t.statusButton, callbacks.status(views[0]!.incident.installationId)) : undefined;
  return { text: fitMessage(text), keyboard };
}

/**
 * One rule's many alerts as one list: the count of installations (fleet-wide
 * for a mass event, with how many of them are this chat's), then the
 * installations folded, each once (with how many alerts, when an
 * Alertmanager alert fires there for several label sets); then, once for all
 * of them, how bad it is and why it matters, since when (the earliest
 * evidence of the ones still open) and the first step.
 */
function foldedLines(members: IncidentView[], total: number | null, options: RenderOptions): string[] {
  const { lang, tz, now } = options;
  const t = texts(lang);
  const first = members[0]!.incident;
  const title = ruleTitle(lang, first.ruleId);
  const installations = byInstallation(members);
  const heading = total !== null ? t.massEvent(title, total, installations.length) : t.manyOfOneRule(title, installations.length);
  const names = installations
    .slice(0, FOLDED_NAMES)
    .map((item) => `${escapeHtml(item[0]!.clientName)} · ${escapeHtml(item[0]!.installationName)}${item.length > 1 ? ` ×${item.length}` : ''}`);
  const more = installations.length > FOLDED_NAMES ? ` ${escapeHtml(t.moreTerms(installations.length - FOLDED_NAMES))}` : '';
  const lines = [`${markOf(members)} <b>${escapeHtml(heading)}</b>`, `${names.join('; ')}${more}`];
  const open = members.filter((v) => v.incident.status !== 'resolved');
  const worst = open.find((v) => v.incident.severity === 'critical') ?? open.find((v) => v.incident.severity === 'warning') ?? open[0];
  if (worst) {
    const guide = ruleGuide(lang, worst.incident.ruleId);
    const impact = guide?.impact ?? externalImpact(lang, worst.incident.ruleId, worst.incident.details)?.impact;
    lines.push(`<b>${t.severityWord[worst.incident.severity]}.</b>${impact ? ` ${escapeHtml(impact)}` : ''}`);
    lines.push(escapeHtml(formatSince(lang, earliestStart(open, tz), now, tz)));
    if (guide?.steps[0]) lines.push(`👉 ${escapeHtml(guide.steps[0])}`);
  }
  // Alerts of one name mostly share a runbook; links that differ by label are not let to flood the message.
  return [...lines, ...runbookLinks(members, lang).slice(0, FOLDED_RUNBOOKS)];
}

/** When the first of these problems began, by its evidence. */
function earliestStart(views: IncidentView[], tz: string): ProblemStart {
  return views
    .map((v) => problemStart(v.incident.ruleId, v.incident.details, v.incident.openedAt, tz))
    .reduce((earliest, start) => (start.at.getTime() < earliest.at.getTime() ? start : earliest));
}

/**
 * What «📋 …: что делать» under a folded list answers: the rule once, for
 * all its installations still open in the message, with every step.
 */
export function renderRuleSteps(views: IncidentView[], options: RenderOptions): Rendered {
  const { lang, tz, now } = options;
  const t = texts(lang);
  const first = views[0]!.incident;
  const guide = ruleGuide(lang, first.ruleId);
  const impact = guide?.impact ?? externalImpact(lang, first.ruleId, first.details)?.impact;
  const lines = [
    `${markOf(views)} <b>${escapeHtml(ruleTitle(lang, first.ruleId))}</b>`,
    `🏢 ${escapeHtml(t.detailsInstallations(byInstallation(views).length))}`,
    `<b>${t.severityWord[first.severity]}.</b>${impact ? ` ${escapeHtml(impact)}` : ''}`,
    escapeHtml(formatSince(lang, earliestStart(views, tz), now, tz)),
  ];
  if (guide) lines.push('', `<b>${t.whatToDo}</b>`, ...guide.steps.map((step, i) => `${i + 1}. ${escapeHtml(step)}`));
  const runbook = isExternalRule(first.ruleId) ? null : options.runbookUrl(first.ruleId);
  if (runbook) lines.push(`📖 <a href="${escapeHtml(runbook)}">${guide ? t.moreInRunbook : t.runbook}</a>`);
  return { text: fitMessage(lines.join('\n')), keyboard: undefined };
}

/** How a set of alerts stands: ☑️ all solved, 🛠 the rest taken, else 🔴 or 🟡 by the worst open one. */
function markOf(views: IncidentView[]): string {
  const unresolved = views.filter((v) => v.incident.status !== 'resolved');
  if (unresolved.length === 0) return MARK.resolved;
  if (unresolved.every((v) => v.incident.status === 'acknowledged')) return MARK.taken;
  return severityMark(unresolved.some((v) => v.incident.severity === 'critical') ? 'critical' : unresolved.some((v) => v.incident.severity === 'warning') ? 'warning' : 'info');
}

/** Problems that follow when the ПК service runs under the system account (seed story 3). */
const SYSTEM_ACCOUNT_CONSEQUENCES = new Set(['KodeksStorageUnreachable', 'KodeksDailyUpdateOff', 'KodeksKitNotAssembled', 'KodeksServiceDown', 'KodeksVersionChangeIncomplete', 'KodeksOperapStale']);

/**
 * The one thing behind several problems of an installation, when the facts
 * point to it: the service under the system account explains the storage out
 * of reach and the updates that stopped.
 */
export function likelyCause(item: IncidentView[]): 'systemAccount' | null {
  const consequences = item.filter((v) => SYSTEM_ACCOUNT_CONSEQUENCES.has(v.incident.ruleId));
  const systemAccount = item.some((v) => v.incident.details.serviceAccount === 'system');
  return consequences.length >= 2 && systemAccount ? 'systemAccount' : null;
}

/** Alerts grouped by installation, in the order they came. */
function byInstallation(views: IncidentView[]): IncidentView[][] {
  const groups = new Map<number, IncidentView[]>();
  for (const view of views) {
    const group = groups.get(view.incident.installationId);
    if (group) group.push(view);
    else groups.set(view.incident.installationId, [view]);
  }
  return [...groups.values()];
}

/** What has happened to the incident since: acknowledged by whom, snoozed until when, resolved after how long. */
function stateLine(view: IncidentView, options: RenderOptions): string | null {
  const t = texts(options.lang);
  const incident = view.incident;
  if (incident.status === 'resolved' && incident.resolvedAt) {
    // From the evidence, as «⏱ Началось» and the reply that says it is over count: one event, one duration.
    const began = problemStart(incident.ruleId, incident.details, incident.openedAt, options.tz).at;
    const span = formatSpan(options.lang, incident.resolvedAt.getTime() - began.getTime());
    const how = resolutionNote(view, options.lang);
    return escapeHtml(t.resolvedAfter(span) + (how ? ` (${how})` : ''));
  }
  const lines: string[] = [];
  if (incident.status === 'acknowledged' && incident.acknowledgedAt) {
    lines.push(t.acknowledgedBy(view.acknowledgedByName ?? '?', formatTime(incident.acknowledgedAt, options.tz)));
  }
  // A snooze in force is part of the state, whoever made it and wherever (a button, the cabinet): every redraw keeps it.
  if (view.snoozedUntil && view.snoozedUntil.getTime() > options.now.getTime()) {
    lines.push(t.snoozedUntil(formatUntil(options.lang, view.snoozedUntil, options.now, options.tz), view.snoozedByName ?? '?'));
  }
  return lines.length ? escapeHtml(lines.join('\n')) : null;
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
  return keyboard.text(t.statusButton, callbacks.status(incident.installationId)).text(t.detailsButton, callbacks.details(incident.id));
}

/**
 * What «ℹ️ Подробнее» answers: each alert's number, its name in dozor and in
 * SMART (or that SMART has none), and where its evidence is kept.
 */
export function renderDetails(views: IncidentView[], options: RenderOptions): string {
  const { lang } = options;
  const t = texts(lang);
  const lines = [`<b>${escapeHtml(t.detailsTitle)}</b>`];
  // A mass event's message holds hundreds: one line per alert name, with how many.
  if (views.length > DETAILS_LISTED) {
    const perRule = new Map<string, IncidentView[]>();
    for (const view of views) {
      const rule = massRuleOf(view.incident.ruleId);
      perRule.set(rule, [...(perRule.get(rule) ?? []), view]);
    }
    for (const [rule, members] of perRule) {
      const installations = new Set(members.map((v) => v.incident.installationId)).size;
      lines.push(`${escapeHtml(ruleTitle(lang, rule))} — <code>${escapeHtml(rule)}</code> (${detailsWhere(members[0]!, lang)}): ${escapeHtml(t.detailsInstallations(installations))}`);
    }
    return fitMessage(lines.join('\n'));
  }
  for (const view of views) {
    const { id, ruleId } = view.incident;
    lines.push(`№${id} · ${escapeHtml(view.clientName)} · ${escapeHtml(view.installationName)}: ${escapeHtml(ruleTitle(lang, ruleId))} — <code>${escapeHtml(ruleId)}</code> (${detailsWhere(view, lang)})`);
  }
  return fitMessage(lines.join('\n'));
}

/** Alerts listed one by one under «ℹ️ Подробнее»; past this, one line per alert name. */
const DETAILS_LISTED = 12;

/** Where an alert stands against SMART, as HTML: the catalogue's words escaped, SMART's name as code. */
function detailsWhere(view: IncidentView, lang: Lang): string {
  return smartStanding(lang, view.incident.ruleId, view.incident.details, (smart) => `<code>${escapeHtml(smart)}</code>`, escapeHtml);
}

/** `wake`: a critical incident of the night nobody took, sent again before work starts. */
export type FollowUpKind = 'reminder' | 'escalated' | 'wake';

/** A reminder, an escalation or the morning call: a new message that points back to the original. */
export function renderFollowUp(view: IncidentView, kind: FollowUpKind, options: RenderOptions, originalLink: string | null): Rendered {
  const t = texts(options.lang);
  const open = formatSpan(options.lang, options.now.getTime() - (view.incident.announcedAt ?? view.incident.openedAt).getTime());
  const heading =
    kind === 'reminder'
      ? t.reminder(open)
      : kind === 'escalated'
        ? t.escalation(open, view.managerName ?? t.notAssigned)
        : t.wakeCall(formatWhen(options.lang, view.incident.openedAt, options.now, options.tz), view.managerName ?? t.notAssigned);
  const rendered = renderAlert(view, options, { heading: [heading] });
  const text = originalLink ? `${rendered.text}\n↩️ <a href="${escapeHtml(originalLink)}">${t.originalMessage}</a>` : rendered.text;
  return { text: fitMessage(text), keyboard: rendered.keyboard };
}

/** A critical alert someone put off, as the lead hears it: who, until when, what to do if it cannot wait, then the alert. */
export function renderSnoozeNotice(view: IncidentView, byName: string, until: Date, options: RenderOptions, originalLink: string | null): Rendered {
  const t = texts(options.lang);
  const rendered = renderAlert(view, options, { heading: [t.criticalSnoozed(byName, formatUntil(options.lang, until, options.now, options.tz)), t.criticalSnoozedHint] });
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
