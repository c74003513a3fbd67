import type { Digest } from '../../digest/assemble.ts';
import { formatDate, formatSpan } from '../../i18n/format.ts';
import { ruleTitle, texts, type Lang } from '../../i18n/index.ts';
import { escapeHtml, fitMessage } from '../html.ts';

/** The morning digest: compact, readable on a phone, unacknowledged incidents standing out. */
export function renderDigest(digest: Digest, recipientName: string, lang: Lang): string {
  const w = texts(lang).digest;
  const span = (ms: number) => formatSpan(lang, ms);
  const now = digest.now.getTime();
  const lines = [w.title(formatDate(digest.day), escapeHtml(recipientName)), w.fleet(digest.monitored, digest.healthy, digest.withProblems), ''];

  if (digest.open.length === 0) lines.push(w.noOpen);
  else {
    lines.push(w.open(digest.open.length));
    for (const view of digest.open.slice(0, 25)) {
      const i = view.incident;
      const line = `${i.severity === 'critical' ? '🔴' : '🟡'} ${escapeHtml(ruleTitle(lang, i.ruleId))} — ${escapeHtml(view.clientName)} / ${escapeHtml(view.installationName)} · ${span(now - i.openedAt.getTime())} · ${escapeHtml(view.managerName ?? w.nobody)}`;
      lines.push(i.status === 'acknowledged' ? `✅ ${line} · ${escapeHtml(w.acked(view.acknowledgedByName ?? '?'))}` : `⏳ <b>${line} · ${w.notAcked}</b>`);
    }
    if (digest.open.length > 25) lines.push(w.more(digest.open.length - 25));
  }
  lines.push(w.lastDay(digest.opened24h, digest.resolved24h));

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
    const fmt = (ms: number | null) => (ms === null ? w.none : span(ms));
    for (const r of digest.responseTimes) {
      lines.push(
        `• ${escapeHtml(r.managerName ?? w.nobody)}: ${fmt(r.current.mtta)} (${fmt(r.previous.mtta)}) / ${fmt(r.current.mttr)} (${fmt(r.previous.mttr)})`,
      );
    }
  }
  return fitMessage(lines.join('\n'));
}
