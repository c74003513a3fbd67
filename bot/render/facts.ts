import type { Facts } from '../../core/rules.ts';
import { escapeHtml } from '../html.ts';
import { DateTime } from 'luxon';

import { formatSpan, formatWhen, type Lang } from '../../i18n/format.ts';
import { texts } from '../../i18n/index.ts';
import { describeNetworkError } from '../../i18n/network.ts';
import { isCriticalErrorCode } from '../../core/kodeks-errors.ts';

/** The facts that made a rule fire, as lines a manager reads (HTML, escaped). */
export function renderFacts(ruleId: string, facts: Facts, lang: Lang, tz: string, now: Date): string[] {
  const t = texts(lang);
  const f = t.facts;
  const str = (key: string) => (typeof facts[key] === 'string' ? (facts[key] as string) : null);
  const words = (error: string | null) => (error ? describeNetworkError(lang, error) : t.unknown);
  const yesNo = (value: unknown) => (value === false ? t.off : value === true ? t.on : t.unknown);
  /** A calendar date as people say it («05.12», «завтра»). */
  const day = (iso: string | null) => {
    const parsed = DateTime.fromISO(iso ?? '', { zone: tz });
    return parsed.isValid ? formatWhen(lang, parsed.toJSDate(), now, tz, true) : (iso ?? t.unknown);
  };
  // The licence manager out of reach explains a key or protection alert: said first, in bold.
  const licmanCause = () => (str('licmanUnreachable') ? [`<b>${escapeHtml(f.licmanCause(str('licmanUnreachable')!))}</b>`] : []);
  const serverMessage = () => (str('message') ? [escapeHtml(f.serverMessage(str('message')!))] : []);
  switch (ruleId) {
    case 'KodeksXmlMissing': {
      const last = str('lastReportAt');
      const heard = str('lastStatusAt');
      const lines = [last ? escapeHtml(f.lastReport(formatWhen(lang, new Date(last), now, tz), formatSpan(lang, now.getTime() - new Date(last).getTime()))) : escapeHtml(f.noReportEver)];
      // Heard from since (a heartbeat): it is the sysinfo upload that broke, not the server.
      if (heard && (!last || new Date(heard).getTime() > new Date(last).getTime())) lines.push(escapeHtml(f.heardMeanwhile(formatWhen(lang, new Date(heard), now, tz))));
      return lines;
    }
    case 'KodeksStatusMissing': {
      const last = new Date(str('lastStatusAt') ?? Number.NaN);
      return Number.isNaN(last.getTime()) ? [] : [escapeHtml(f.lastStatus(formatWhen(lang, last, now, tz), formatSpan(lang, now.getTime() - last.getTime())))];
    }
    case 'KodeksOperapStale':
      return [escapeHtml(f.operap(day(str('operapDate')), Number(facts.ageDays ?? 0)))];
    case 'KodeksXmlSensLockStatus':
      return [...licmanCause(), escapeHtml(f.senselock(t.senselock[str('senselockState') ?? ''] ?? t.unknown))];
    case 'KodeksServiceDown':
      return [escapeHtml(f.service(t.serviceState.stopped!, t.account[str('serviceAccount') ?? ''] ?? null))];
    case 'KodeksStorageUnreachable':
      return [escapeHtml(f.storage(str('storagePath'), str('serviceAccount')))];
    case 'KodeksKitNotAssembled':
      return [escapeHtml(f.kit)];
    case 'KodeksDailyUpdateOff':
      return [escapeHtml(f.dailyUpdate(yesNo(facts.dailyUpdate), yesNo(facts.copybaseweb)))];
    case 'KodeksShellVersionOutdated':
      return [escapeHtml(f.shellVersion(str('shellVersion') ?? '?', str('minShellVersion') ?? '?'))];
    case 'KodeksVersionChangeIncomplete': {
      const changedAt = str('changedAt');
      const items = Array.isArray(facts.notRestored) ? facts.notRestored : [];
      return [
        escapeHtml(f.versionChange(str('oldVersion') ?? '?', str('newVersion') ?? '?', changedAt ? formatWhen(lang, new Date(changedAt), now, tz) : '?')),
        `<b>${escapeHtml(f.notRestored(items.map((i) => f.restoreItems[i] ?? i).join(', ')))}</b>`,
      ];
    }
    case 'KodeksIcmp':
      return [escapeHtml(f.icmp(str('target') ?? '?', Number(facts.failures ?? 0)))];
    case 'KodeksBehindProxyDown': {
      const lines = [escapeHtml(f.web(str('url') ?? '?', words(str('error'))))];
      const working = str('workingUrl');
      if (working) lines.push(`<b>${escapeHtml(f.webByIp(working))}</b>`);
      else if (str('ipError')) lines.push(escapeHtml(f.webIpFails(words(str('ipError')))));
      return lines;
    }
    case 'KodeksTcpStatus': {
      // The prober's words already name the port («порт 10.1.2.3:443: соединение отклонено»).
      const said = words(str('error'));
      return [escapeHtml(`${said.charAt(0).toUpperCase()}${said.slice(1)}`)];
    }
    case 'KodeksHttp200Status':
      return [escapeHtml(f.pageStatus(str('url') ?? '?', Number(facts.status ?? 0)))];
    case 'KodeksDns':
      return [escapeHtml(f.dns(str('host') ?? '?', words(str('error'))))];
    case 'KodeksLicenseExpiring90day':
    case 'KodeksLicenseExpiring7day':
    case 'KodeksLicenseExpiring2day':
    case 'KodeksLicenseExpired': {
      const until = day(str('expires'));
      const days = Number(facts.daysLeft ?? 0);
      return [escapeHtml(days < 0 ? f.licenseEnded(str('database') ?? '?', until, -days) : f.license(str('database') ?? '?', until, days))];
    }
    case 'KodeksLimitsUsers':
      return [escapeHtml(f.seatsTaken(Number(facts.used ?? 0), Number(facts.licensed ?? 0)))];
    case 'KodeksDetectOverUserError':
      return [escapeHtml(f.refused(Number(facts.refused ?? 0), typeof facts.licensed === 'number' ? facts.licensed : null))];
    case 'KodeksDBErrors': {
      const codes = Array.isArray(facts.codes) ? facts.codes : [];
      const where = Array.isArray(facts.databases) ? facts.databases : [];
      return [
        ...licmanCause(),
        ...codes.map((code) => {
          const line = escapeHtml(f.dbError(code, t.dbErrorCodes[Number(code)] ?? t.dbErrorUnknown));
          return isCriticalErrorCode(Number(code)) ? `<b>${line}</b>` : line;
        }),
        ...(where.length > 0 ? [escapeHtml(f.dbErrorsIn(where.join('; ')))] : []),
      ];
    }
    case 'KodeksMaintenance':
    case 'KodeksMaintenanceToLong': {
      const since = str('since');
      return [
        ...(since ? [escapeHtml(f.maintenanceSince(formatWhen(lang, new Date(since), now, tz), formatSpan(lang, now.getTime() - new Date(since).getTime())))] : []),
        ...serverMessage(),
      ];
    }
    case 'KodeksNeedSupport':
    case 'KodeksWarning':
      return serverMessage();
    case 'LicmanIcmp':
      return [escapeHtml(f.licmanSays(`${str('target') ?? '?'} — ${words(str('error'))}`))];
    case 'LicmanTcpStatus':
      // The prober's words already name the port.
      return [escapeHtml(f.licmanSays(words(str('error'))))];
    case 'KodeksAuthNotWork':
      return [escapeHtml(f.loginRefused(str('account') ?? '?'))];
    default:
      if (facts.source === 'alertmanager') return externalFacts(facts, lang);
      return Object.entries(facts)
        .filter(([key, value]) => value !== null && value !== '' && !key.startsWith('commonCause'))
        .map(([key, value]) => `${escapeHtml(key)}: ${escapeHtml(Array.isArray(value) ? value.join(', ') : String(value))}`);
  }
}

/** An alert from Alertmanager: its summary and description as written, and the labels that set it apart from others of its name. */
function externalFacts(facts: Facts, lang: Lang): string[] {
  const lines: string[] = [];
  if (typeof facts.summary === 'string' && facts.summary) lines.push(`<b>${escapeHtml(facts.summary)}</b>`);
  if (typeof facts.description === 'string' && facts.description) lines.push(escapeHtml(facts.description));
  const labels = Array.isArray(facts.labels) ? facts.labels : [];
  if (labels.length > 0) lines.push(escapeHtml(texts(lang).facts.labels(labels.join(', '))));
  return lines;
}
