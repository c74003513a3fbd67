import type { Digest } from '../../digest/assemble.ts';
import type { ChartLabels } from '../../digest/chart.ts';
import { ruleTitle } from '../../incidents/lifecycle.ts';
import { escapeHtml, fitMessage } from '../html.ts';
import { count, formatDate, formatSpan, type Lang } from '../i18n.ts';

const words = {
  ru: {
    title: (day: string, who: string) => `📋 <b>Сводка на ${day}</b> · ${who}`,
    fleet: (monitored: number, healthy: number, problems: number) =>
      `Под наблюдением: ${count('ru', monitored, ['установка', 'установки', 'установок'])} · в порядке: ${healthy} · с проблемами: ${problems}`,
    open: (n: number) => `<b>Открытые инциденты (${n})</b>, старые сверху:`,
    noOpen: '✅ Открытых инцидентов нет.',
    notAcked: 'не принят',
    acked: (name: string) => `принял(а) ${name}`,
    nobody: 'без менеджера',
    lastDay: (opened: number, resolved: number) => `За сутки: открыто ${opened}, решено ${resolved}`,
    silent: (n: number) => `<b>Молчат больше 2 дней (${n})</b>:`,
    never: 'отчётов не было',
    campaign: (min: string, ok: number, total: number) =>
      `<b>Кампания версий</b> (не ниже ${min}): ${ok} из ${total}${total ? ` (${Math.round((ok * 100) / total)}%)` : ''}`,
    progress: (day: string, ok: number, total: number) => `  ${day}: было ${ok} из ${total}`,
    lagging: (n: number) => `  отстают: ${n}`,
    sales: (n: number) => `<b>Возможности продаж (${n})</b>:`,
    salesLine: (limit: string, peak: string, days: number) => `лимит ${limit}, пик ${peak}, лимит исчерпан ${count('ru', days, ['день', 'дня', 'дней'])} из 7`,
    times: '<b>MTTA / MTTR за 7 дней</b> (в скобках — предыдущие 7):',
    none: '—',
    more: (n: number) => `  …и ещё ${n}`,
    chart: {
      title: 'Инциденты за 30 дней',
      openedCritical: 'Открыто за день: критичные',
      openedWarning: 'Открыто за день: предупреждения',
      openCritical: 'Открыто на конец дня: критичные',
      openWarning: 'Открыто на конец дня: предупреждения',
    },
  },
  en: {
    title: (day: string, who: string) => `📋 <b>Digest for ${day}</b> · ${who}`,
    fleet: (monitored: number, healthy: number, problems: number) =>
      `Monitored: ${count('en', monitored, ['installation', 'installations'])} · healthy: ${healthy} · with problems: ${problems}`,
    open: (n: number) => `<b>Open incidents (${n})</b>, oldest first:`,
    noOpen: '✅ No open incidents.',
    notAcked: 'not acknowledged',
    acked: (name: string) => `acknowledged by ${name}`,
    nobody: 'no manager',
    lastDay: (opened: number, resolved: number) => `Last 24 hours: opened ${opened}, resolved ${resolved}`,
    silent: (n: number) => `<b>Silent for more than 2 days (${n})</b>:`,
    never: 'never reported',
    campaign: (min: string, ok: number, total: number) =>
      `<b>Version campaign</b> (at least ${min}): ${ok} of ${total}${total ? ` (${Math.round((ok * 100) / total)}%)` : ''}`,
    progress: (day: string, ok: number, total: number) => `  ${day}: ${ok} of ${total}`,
    lagging: (n: number) => `  lagging: ${n}`,
    sales: (n: number) => `<b>Sales opportunities (${n})</b>:`,
    salesLine: (limit: string, peak: string, days: number) => `limit ${limit}, peak ${peak}, limit hit on ${count('en', days, ['day', 'days'])} of 7`,
    times: '<b>MTTA / MTTR, last 7 days</b> (previous 7 in brackets):',
    none: '—',
    more: (n: number) => `  …and ${n} more`,
    chart: {
      title: 'Incidents, last 30 days',
      openedCritical: 'Opened per day: critical',
      openedWarning: 'Opened per day: warning',
      openCritical: 'Open at end of day: critical',
      openWarning: 'Open at end of day: warning',
    },
  },
};

export function chartLabels(lang: Lang): ChartLabels {
  return words[lang].chart;
}

/** The morning digest: compact, readable on a phone, unacknowledged incidents standing out. */
export function renderDigest(digest: Digest, recipientName: string, lang: Lang): string {
  const w = words[lang];
  const span = (ms: number) => formatSpan(lang, ms);
  const now = digest.now.getTime();
  const lines = [w.title(formatDate(digest.day), escapeHtml(recipientName)), w.fleet(digest.monitored, digest.healthy, digest.withProblems), ''];

  if (digest.open.length === 0) lines.push(w.noOpen);
  else {
    lines.push(w.open(digest.open.length));
    for (const view of digest.open.slice(0, 25)) {
      const i = view.incident;
      const line = `${i.severity === 'critical' ? '🔴' : '🟡'} ${escapeHtml(ruleTitle(i.ruleId))} — ${escapeHtml(view.clientName)} / ${escapeHtml(view.installationName)} · ${span(now - i.openedAt.getTime())} · ${escapeHtml(view.managerName ?? w.nobody)}`;
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
