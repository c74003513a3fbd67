import { DateTime } from 'luxon';
import { LICENCE_HORIZON_DAYS, type Digest } from '../../digest/assemble.ts';
import type { LicenceEnding } from '../../digest/licences.ts';
import type { IncidentView } from '../../db/incidents.ts';
import { problemStart } from '../../core/evidence.ts';
import { formatDate, formatSpan, formatWhen } from '../../i18n/format.ts';
import { ruleTitle, texts, type Lang } from '../../i18n/index.ts';
import { escapeHtml, fitMessage } from '../html.ts';
import { severityMark } from '../../core/vocabulary.ts';

/** The morning digest: compact, readable on a phone, unacknowledged incidents standing out. */
export function renderDigest(digest: Digest, recipientName: string, lang: Lang, tz: string): string {
  const w = texts(lang).digest;
  const span = (ms: number) => formatSpan(lang, ms);
  const now = digest.now.getTime();
  const lines = [w.title(formatDate(digest.day), escapeHtml(recipientName)), w.fleet(digest.monitored, digest.healthy, digest.withProblems), ''];

  if (digest.open.length === 0) lines.push(w.noOpen);
  else {
    // Nobody has taken these: first. Then those in hand. Under each, the manager's name once, a line per installation.
    const untaken = digest.open.filter((v) => v.incident.status !== 'acknowledged');
    const taken = digest.open.filter((v) => v.incident.status === 'acknowledged');
    let shown = 0;
    for (const [heading, views, inHand] of [
      [w.untaken(untaken.length), untaken, false],
      [w.inHand(taken.length), taken, true],
    ] as const) {
      if (views.length === 0) continue;
      lines.push(`<b>${heading}</b>`);
      for (const [manager, installations] of byManagerAndInstallation(views)) {
        lines.push(`👤 ${escapeHtml(manager ?? w.nobody)}`);
        for (const items of installations) {
          if (shown++ >= 25) continue;
          const first = items[0]!;
          const marks = items
            // How long each has lasted, from its evidence (a silence counts from the last report).
            .map((v) => {
              const since = problemStart(v.incident.ruleId, v.incident.details, v.incident.openedAt, tz).at;
              return `${severityMark(v.incident.severity)} ${escapeHtml(ruleTitle(lang, v.incident.ruleId))}, ${span(now - since.getTime())}`;
            })
            .join('; ');
          const who = inHand ? ` · ${escapeHtml(w.acked(first.acknowledgedByName ?? '?'))}` : '';
          lines.push(`• <b>${escapeHtml(first.clientName)} · ${escapeHtml(first.installationName)}</b>: ${marks}${who}`);
        }
      }
    }
    if (shown > 25) lines.push(w.more(shown - 25));
  }
  lines.push(w.lastDay(digest.opened24h, digest.resolved24h));

  if (digest.notices.length > 0) {
    lines.push('', w.notices(digest.notices.length));
    for (const v of digest.notices.slice(0, 15)) {
      lines.push(`• ${escapeHtml(v.clientName)} · ${escapeHtml(v.installationName)} — ${escapeHtml(ruleTitle(lang, v.incident.ruleId))}`);
    }
    if (digest.notices.length > 15) lines.push(w.more(digest.notices.length - 15));
  }

  if (digest.licences.length > 0) {
    lines.push('', w.licences(LICENCE_HORIZON_DAYS, digest.licences.length));
    lines.push(...digest.licences.slice(0, 15).map((l) => `• ${licenceLine(l, lang, digest.now, tz)}`));
    if (digest.licences.length > 15) lines.push(w.more(digest.licences.length - 15));
  }

  if (digest.seatsFull.length > 0) {
    lines.push('', w.seatsFull(digest.seatsFull.length));
    for (const s of digest.seatsFull.slice(0, 15)) {
      lines.push(`• ${escapeHtml(s.clientName)} · ${escapeHtml(s.installationName)} — ${w.seatsLine(String(s.used ?? '?'), String(s.licensed ?? '?'), s.refused)}`);
    }
  }

  if (digest.silent.length > 0) {
    lines.push('', w.silent(digest.silent.length));
    for (const s of digest.silent.slice(0, 15)) {
      lines.push(`• ${escapeHtml(s.clientName)} / ${escapeHtml(s.installationName)} — ${s.lastReportAt ? span(now - s.lastReportAt.getTime()) : w.never}`);
    }
    if (digest.silent.length > 15) lines.push(w.more(digest.silent.length - 15));
  }

  if (digest.campaign) {
    const c = digest.campaign;
    lines.push('', w.campaign(escapeHtml(c.minVersion), c.compliant, c.total));
    if (c.before) lines.push(w.progress(formatDate(c.before.day), c.before.compliant, c.before.total));
    if (c.lagging.length > 0) lines.push(w.lagging(c.lagging.length));
  }

  if (digest.sales.length > 0) {
    lines.push('', w.sales(digest.sales.length));
    for (const s of digest.sales.slice(0, 15)) {
      lines.push(`💰 ${escapeHtml(s.clientName)} / ${escapeHtml(s.installationName)} — ${w.salesLine(String(s.licenseLimit ?? '?'), String(s.peak ?? '?'), s.daysAtLimit)}`);
    }
  }

  if (digest.responseTimes.length > 0) {
    lines.push('', w.times);
    const fmt = (ms: number | null) => (ms === null ? w.noData : span(ms));
    for (const r of digest.responseTimes) {
      lines.push(`• ${escapeHtml(r.managerName ?? w.nobody)}: ${w.timesLine(fmt(r.current.mtta), fmt(r.previous.mtta), fmt(r.current.mttr), fmt(r.previous.mttr))}`);
    }
  }
  return fitMessage(lines.join('\n'));
}

/** Open incidents by manager, then by installation, in the order they came (oldest first). */
function byManagerAndInstallation(views: readonly IncidentView[]): Map<string | null, IncidentView[][]> {
  const managers = new Map<string | null, Map<number, IncidentView[]>>();
  for (const view of views) {
    const installations = managers.get(view.managerName) ?? new Map<number, IncidentView[]>();
    installations.set(view.incident.installationId, [...(installations.get(view.incident.installationId) ?? []), view]);
    managers.set(view.managerName, installations);
  }
  return new Map([...managers].map(([manager, installations]) => [manager, [...installations.values()]]));
}

/** «ООО «Ромашка» · Сервер офиса — «Законодательство» до 05.12 (5 дней)», for the digest and /licenses. */
export function licenceLine(l: LicenceEnding, lang: Lang, now: Date, tz: string): string {
  const until = formatWhen(lang, DateTime.fromISO(l.expires, { zone: tz }).toJSDate(), now, tz, true);
  return `${escapeHtml(l.clientName)} · ${escapeHtml(l.installationName)} — ${escapeHtml(texts(lang).licenceTerm(l.database, until, l.daysLeft))}`;
}
