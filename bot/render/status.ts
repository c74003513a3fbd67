import { InlineKeyboard } from 'grammy';
import { operapAgeMs } from '../../core/state.ts';
import type { ClientStatus } from '../../db/status.ts';
import { escapeHtml, fitMessage } from '../html.ts';
import { formatDate, formatDateTime, formatSpan, type Lang } from '../../i18n/format.ts';
import { ruleTitle, texts } from '../../i18n/index.ts';

/** Under the card, per installation: its latest sysinfo a tap away, and for an admin its agent script. */
export function statusKeyboard(
  status: ClientStatus,
  lang: Lang,
  show: { sysinfo: boolean; agent: boolean },
  onlyInstallationId?: number,
): InlineKeyboard | undefined {
  const t = texts(lang);
  const keyboard = new InlineKeyboard();
  let buttons = 0;
  for (const { installation, sysinfoAt } of status.installations) {
    if (onlyInstallationId !== undefined && installation.id !== onlyInstallationId) continue;
    const name = installation.name.slice(0, 40);
    const row = [
      ...(show.sysinfo && sysinfoAt ? [InlineKeyboard.text(t.sysinfoButton(name), `si:${installation.id}`)] : []),
      ...(show.agent ? [InlineKeyboard.text(t.agentButton(name), `ag:${installation.id}`)] : []),
    ];
    if (row.length === 0) continue;
    keyboard.row(...row);
    buttons += row.length;
  }
  return buttons > 0 ? keyboard : undefined;
}

/**
 * A card per installation that answers "is everything OK?" first, then the
 * figures a manager checks: report age, operap date and age, update number,
 * shell version, key, service, storage, open incidents.
 */
export function renderClientStatus(status: ClientStatus, lang: Lang, tz: string, now: Date, onlyInstallationId?: number): string {
  const t = texts(lang);
  const { client } = status;
  const lines = [
    `🏢 <b>${escapeHtml(client.name)}</b>${client.inn ? ` · ${t.inn} ${escapeHtml(client.inn)}` : ''}`,
    `${t.manager}: ${escapeHtml(status.managerName ?? t.notAssigned)}`,
  ];
  const shown = status.installations.filter((i) => onlyInstallationId === undefined || i.installation.id === onlyInstallationId);
  if (shown.length === 0) lines.push('', t.noInstallations);
  for (const { installation, state, incidents, rejection, sysinfoAt, sysinfoTakenAt, metrics } of shown) {
    const verdict = !installation.monitoringEnabled
      ? t.verdictMonitoringOff
      : incidents.length > 0
        ? `${t.verdictProblems}: ${incidents.map((v) => escapeHtml(ruleTitle(lang, v.incident.ruleId))).join('; ')}`
        : !state
          ? t.verdictNoReports
          : t.verdictOk;
    lines.push('', `🖥 <b>${escapeHtml(installation.name)}</b> — ${verdict}`);
    if (state) {
      const ago = formatSpan(lang, now.getTime() - state.lastReceivedAt.getTime());
      lines.push(`${t.lastReport}: ${t.ago(ago)} (${formatDateTime(state.lastReceivedAt, tz)})`);
      if (sysinfoAt) {
        const made = sysinfoTakenAt ? `, ${t.sysinfoMade(formatDateTime(sysinfoTakenAt, tz))}` : '';
        lines.push(`${t.sysinfo}: ${t.ago(formatSpan(lang, now.getTime() - sysinfoAt.getTime()))} (${formatDateTime(sysinfoAt, tz)}${made})`);
      }
      if (metrics?.error) lines.push(`${t.metrics}: ${escapeHtml(t.metricsUnreadable(metrics.error))}`);
      else if (metrics) lines.push(`${t.metrics}: ${t.metricsFigures(metrics.samples.length, formatSpan(lang, now.getTime() - metrics.takenAt.getTime()))}`);
      if (state.operapDate) {
        const operapAge = operapAgeMs(state.operapDate, installation.tz, now);
        lines.push(`${t.operap}: ${formatDate(state.operapDate)} (${formatSpan(lang, operapAge)})`);
      }
      if (state.updateNumber !== undefined) lines.push(`${t.updateNumber}: ${state.updateNumber}`);
      if (state.shellVersion) lines.push(`${t.shellVersion}: ${escapeHtml(state.shellVersion)}`);
      if (state.senselockState) lines.push(`${t.key}: ${t.senselock[state.senselockState]}`);
      if (state.serviceState) {
        lines.push(`${t.service}: ${t.serviceState[state.serviceState]}${state.serviceAccount ? ` (${t.account[state.serviceAccount]})` : ''}`);
      }
      if (state.storageReachable !== undefined) {
        lines.push(`${t.storage}: ${state.storageReachable ? t.reachable : t.unreachable}${state.storagePath ? ` (${escapeHtml(state.storagePath)})` : ''}`);
      }
      if (state.kitAssembled !== undefined) lines.push(`${t.kit}: ${state.kitAssembled ? t.assembled : t.notAssembled}`);
      if (state.dailyUpdate !== undefined || state.copybaseweb !== undefined) {
        const onOff = (v: boolean | undefined) => (v === undefined ? t.unknown : v ? t.on : t.off);
        lines.push(`${t.dailyUpdate}: ${onOff(state.dailyUpdate)}; copybaseweb: ${onOff(state.copybaseweb)}`);
      }
      if (state.licenseLimit !== undefined) {
        lines.push(`${t.licences}: ${t.licenceFigures(String(state.licenseLimit), String(state.licensePeak ?? t.unknown))}`);
      }
    }
    if (rejection && (!state || rejection.lastRejectedAt > state.lastReceivedAt)) {
      lines.push(`⚠️ ${escapeHtml(rejection.reason)}`);
    }
    if (incidents.length > 0) {
      lines.push(`${t.openIncidents}:`);
      for (const view of incidents) {
        const age = formatSpan(lang, now.getTime() - view.incident.openedAt.getTime());
        const who = view.incident.status === 'acknowledged' ? t.acknowledgedShort(view.acknowledgedByName ?? '?') : t.notAcknowledged;
        lines.push(` • ${view.incident.severity === 'critical' ? '🔴' : '🟡'} ${escapeHtml(ruleTitle(lang, view.incident.ruleId))} — ${age}, ${escapeHtml(who)}`);
      }
    }
  }
  return fitMessage(lines.join('\n'));
}
