import { DateTime } from 'luxon';
import type { Digest } from '../../digest/assemble.ts';
import type { LicenceEnding } from '../../digest/licences.ts';
import type { IncidentView } from '../../db/incidents.ts';
import { problemStart } from '../../core/evidence.ts';
import { formatDate, formatPercent, formatSpan, formatWhen } from '../../i18n/format.ts';
import { ruleTitle, texts, type Lang } from '../../i18n/index.ts';
import { MARK as SHARED, placeOf, severityMark } from '../../core/vocabulary.ts';
import { escapeHtml, fitMessage, MAX_MESSAGE_LENGTH } from '../html.ts';

/** What the digest says of one installation: each kind of fact on a line of its own, under its client. */
interface InstallationFacts {
  name: string;
  untaken: IncidentView[];
  taken: IncidentView[];
  fixed: IncidentView[];
  notices: IncidentView[];
  silent: { lastReportAt: Date | null } | null;
  licences: LicenceEnding[];
  seats: Digest['seatsFull'][number] | null;
  sales: Digest['sales'][number] | null;
}

/** A client once, with everything the digest says of its installations. */
interface ClientFacts {
  name: string;
  managerId: number | null;
  managerName: string | null;
  installations: Map<number, InstallationFacts>;
}


/** Lines of one kind, marked at their start: the shared vocabulary's marks, and the digest's own for what only it says. */
const MARK = { untaken: SHARED.untaken, taken: SHARED.taken, fixed: SHARED.resolved, notice: SHARED.info, silent: '📭', licence: '📅', seats: '👥', sales: '💰' } as const;

/** Problems that are the installation's silence itself: with one open, the silence is not said twice. */
const SILENCE_RULES = new Set(['KodeksXmlMissing', 'KodeksStatusMissing']);

/** Room kept in the message for the lines after the clients' (the campaign, the response times), past their own length. */
const TAIL_MARGIN = 200;

/**
 * The morning digest: compact, readable on a phone. After the fleet's figures,
 * each client once, under its manager (a manager's own digest names nobody
 * line by line): the problems nobody has taken first, those in hand, what broke
 * and ended in the last 24 hours (what, for how long, when it ended), then
 * what is there to know (silence, licence terms, seats, a sales opportunity).
 * Then the version campaign and each manager's time to acknowledge and to resolve.
 */
export function renderDigest(digest: Digest, recipientName: string, lang: Lang, tz: string): string {
  const w = texts(lang).digest;
  const own = digest.scope.key.startsWith('manager:');
  const head = [w.title(formatDate(digest.day), escapeHtml(recipientName)), w.fleet(digest.monitored, digest.healthy, digest.withProblems)];
  const untaken = digest.open.filter((v) => v.incident.status !== 'acknowledged').length;
  head.push(digest.open.length === 0 ? w.noOpen : w.standing(untaken, digest.open.length - untaken));
  head.push(w.lastDay(digest.opened24h, digest.resolved24h));

  const tail: string[] = [];
  if (digest.campaign) {
    const c = digest.campaign;
    tail.push('', w.campaign(escapeHtml(c.minVersion), c.compliant, c.total, c.total ? formatPercent(lang, Math.round((c.compliant * 100) / c.total)) : ''));
    if (c.before) tail.push(w.progress(formatDate(c.before.day), c.before.compliant, c.before.total));
    if (c.lagging.length > 0) tail.push(w.lagging(c.lagging.length));
  }
  if (digest.responseTimes.length > 0) {
    const fmt = (ms: number | null) => (ms === null ? null : formatSpan(lang, ms));
    tail.push('', own ? w.ownTimes : w.times);
    for (const r of digest.responseTimes) {
      const figures = `${w.toAcknowledge(fmt(r.current.mtta), fmt(r.previous.mtta))}; ${w.toResolve(fmt(r.current.mttr), fmt(r.previous.mttr))}`;
      tail.push(own && digest.responseTimes.length === 1 ? `• ${figures}` : `• ${escapeHtml(r.managerName ?? w.nobody)}: ${figures}`);
    }
  }

  // The clients' lines fill what the message has room for; the ones left over are counted.
  const budget = MAX_MESSAGE_LENGTH - [...head, ...tail].join('\n').length - TAIL_MARGIN;
  const body: string[] = [];
  let used = 0;
  let left = 0;
  for (const manager of groupByManager(collect(digest))) {
    // A manager's own digest names nobody: its clients follow a blank line.
    const managerLine = own ? [''] : ['', `👤 <b>${escapeHtml(manager.name ?? w.nobody)}</b>`];
    let headed = false;
    for (const client of manager.clients) {
      const lines = [...(headed ? [] : managerLine), ...clientLines(client, digest, lang, tz)];
      const size = lines.join('\n').length + 1;
      if (left > 0 || used + size > budget) {
        left++;
        continue;
      }
      body.push(...lines);
      used += size;
      headed = true;
    }
  }
  if (left > 0) body.push('', w.moreClients(left));
  return fitMessage([...head, ...body, ...tail].join('\n'));
}

/** Every fact of the digest, by client and installation. */
function collect(digest: Digest): ClientFacts[] {
  const clients = new Map<number, ClientFacts>();
  const at = (ref: { clientId: number; clientName: string; managerId: number | null; managerName: string | null; installationName: string }, installationId: number) => {
    let client = clients.get(ref.clientId);
    if (!client) {
      client = { name: ref.clientName, managerId: ref.managerId, managerName: ref.managerName, installations: new Map() };
      clients.set(ref.clientId, client);
    }
    let installation = client.installations.get(installationId);
    if (!installation) {
      installation = { name: ref.installationName, untaken: [], taken: [], fixed: [], notices: [], silent: null, licences: [], seats: null, sales: null };
      client.installations.set(installationId, installation);
    }
    return installation;
  };
  for (const v of digest.open) at(v, v.incident.installationId)[v.incident.status === 'acknowledged' ? 'taken' : 'untaken'].push(v);
  for (const v of digest.fixed) at(v, v.incident.installationId).fixed.push(v);
  for (const v of digest.notices) at(v, v.incident.installationId).notices.push(v);
  for (const s of digest.silent) at(s, s.installationId).silent = { lastReportAt: s.lastReportAt };
  for (const l of digest.licences) at(l, l.installationId).licences.push(l);
  for (const s of digest.seatsFull) at(s, s.installationId).seats = s;
  for (const s of digest.sales) at(s, s.installationId).sales = s;
  return [...clients.values()];
}

/** How a client ranks: 0, a problem nobody has taken; 1, its problems in hand; 2, only what ended; 3, only what is there to know. */
function urgencyOf(client: ClientFacts): number {
  const installations = [...client.installations.values()];
  if (installations.some((i) => i.untaken.length > 0)) return 0;
  if (installations.some((i) => i.taken.length > 0)) return 1;
  if (installations.some((i) => i.fixed.length > 0)) return 2;
  return 3;
}

/** When the client's oldest open problem opened (for order: the longest waiting first). */
function oldestOpen(client: ClientFacts): number {
  let oldest = Infinity;
  for (const i of client.installations.values()) for (const v of [...i.untaken, ...i.taken]) oldest = Math.min(oldest, v.incident.openedAt.getTime());
  return oldest;
}

/** Clients by manager; the most urgent client (and its manager) first, then the longest waiting, then by name. */
function groupByManager(clients: ClientFacts[]): { name: string | null; clients: ClientFacts[] }[] {
  const ranked = clients
    .map((client) => ({ client, urgency: urgencyOf(client), oldest: oldestOpen(client) }))
    .sort((a, b) => a.urgency - b.urgency || a.oldest - b.oldest || a.client.name.localeCompare(b.client.name));
  const managers = new Map<number | null, { name: string | null; clients: ClientFacts[] }>();
  for (const { client } of ranked) {
    const manager = managers.get(client.managerId) ?? { name: client.managerName, clients: [] };
    manager.clients.push(client);
    managers.set(client.managerId, manager);
  }
  return [...managers.values()];
}

/** «🏢 Client · Installation» and its lines; with several installations, the client alone and each line names its installation. */
function clientLines(client: ClientFacts, digest: Digest, lang: Lang, tz: string): string[] {
  const w = texts(lang).digest;
  const now = digest.now.getTime();
  const span = (ms: number) => formatSpan(lang, ms);
  const installations = [...client.installations.values()];
  const single = installations.length === 1;
  const lines = [`🏢 <b>${single ? escapeHtml(placeOf(client.name, installations[0]!.name)) : escapeHtml(client.name)}</b>`];
  const line = (mark: string, installation: InstallationFacts, text: string) => lines.push(`${mark} ${single ? '' : `${escapeHtml(installation.name)}: `}${text}`);
  const problem = (v: IncidentView) => {
    // How long each has lasted, from its evidence (a silence counts from the last report).
    const since = problemStart(v.incident.ruleId, v.incident.details, v.incident.openedAt, tz).at;
    return `${severityMark(v.incident.severity)} ${escapeHtml(ruleTitle(lang, v.incident.ruleId))}, ${span(now - since.getTime())}`;
  };
  for (const i of installations) {
    if (i.untaken.length > 0) line(MARK.untaken, i, i.untaken.map(problem).join('; '));
    if (i.taken.length > 0) {
      // Who took it, unless it is the client's own manager (named above the client, or the reader of their own digest).
      const takers = new Set(i.taken.filter((v) => v.incident.acknowledgedBy !== `tg:${v.managerId}` && v.acknowledgedByName).map((v) => v.acknowledgedByName!));
      line(MARK.taken, i, `${i.taken.map(problem).join('; ')}${takers.size > 0 ? ` · ${[...takers].map((name) => escapeHtml(w.acked(name))).join(', ')}` : ''}`);
    }
    if (i.fixed.length > 0) line(MARK.fixed, i, fixedText(i.fixed, lang, digest.now, tz));
    // An open «no reports» problem says the silence already, with its length.
    const silenceOpen = [...i.untaken, ...i.taken].some((v) => SILENCE_RULES.has(v.incident.ruleId));
    if (i.silent && !silenceOpen) line(MARK.silent, i, i.silent.lastReportAt ? w.silentFor(span(now - i.silent.lastReportAt.getTime())) : w.never);
    for (const n of i.notices) line(MARK.notice, i, escapeHtml(ruleTitle(lang, n.incident.ruleId)));
    for (const l of i.licences) line(MARK.licence, i, escapeHtml(w.licence(licenceTerm(l, lang, digest.now, tz))));
    if (i.seats) line(MARK.seats, i, w.seats(i.seats.used, i.seats.licensed, i.seats.refused));
    if (i.sales) line(MARK.sales, i, w.sales(i.sales.daysAtLimit, i.sales.licenseLimit, i.sales.peak));
  }
  return lines;
}

/**
 * What ended at an installation in the last 24 hours, a rule once: how long it
 * lasted and when it ended; a rule that came and went several times, how many
 * times, for how long in all and when it last ended.
 */
function fixedText(fixed: readonly IncidentView[], lang: Lang, now: Date, tz: string): string {
  const w = texts(lang).digest;
  const byRule = new Map<string, IncidentView[]>();
  for (const v of fixed) byRule.set(v.incident.ruleId, [...(byRule.get(v.incident.ruleId) ?? []), v]);
  return [...byRule.values()]
    .map((views) => {
      // The latest first (as the digest lists them): its end is the one to say.
      const latest = views[0]!.incident;
      const lasted = views.reduce((sum, v) => sum + v.incident.resolvedAt!.getTime() - problemStart(v.incident.ruleId, v.incident.details, v.incident.openedAt, tz).at.getTime(), 0);
      const when = formatWhen(lang, latest.resolvedAt!, now, tz);
      const worst = views.some((v) => v.incident.severity === 'critical') ? 'critical' : latest.severity;
      const what = `${severityMark(worst)} ${escapeHtml(ruleTitle(lang, latest.ruleId))}`;
      return `${what} — ${views.length === 1 ? w.fixedOnce(formatSpan(lang, lasted), when, latest.resolution === 'manual') : w.fixedTimes(views.length, formatSpan(lang, lasted), when)}`;
    })
    .join('; ');
}

/** «„Законодательство“ до 05.12 (5 дней)». */
function licenceTerm(l: LicenceEnding, lang: Lang, now: Date, tz: string): string {
  const until = formatWhen(lang, DateTime.fromISO(l.expires, { zone: tz }).toJSDate(), now, tz, true);
  return texts(lang).licenceTerm(l.database, until, l.daysLeft);
}

/** «ООО «Ромашка» · Сервер офиса — «Законодательство» до 05.12 (5 дней)», for /licenses. */
export function licenceLine(l: LicenceEnding, lang: Lang, now: Date, tz: string): string {
  return `${escapeHtml(l.clientName)} · ${escapeHtml(l.installationName)} — ${escapeHtml(licenceTerm(l, lang, now, tz))}`;
}
