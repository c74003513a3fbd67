import { InlineKeyboard } from 'grammy';
import { operapAgeMs } from '../../core/state.ts';
import { daysLeft } from '../../core/server-rules.ts';
import type { ClientStatus } from '../../db/status.ts';
import { escapeHtml, fitMessage } from '../html.ts';
import { formatOperapDay, formatSpan, formatUntil, formatWhen, type Lang } from '../../i18n/format.ts';
import { describeMetricsError, describeNetworkError } from '../../i18n/network.ts';
import { describeReadingProblem } from '../../i18n/sysinfo.ts';
import { DateTime } from 'luxon';
import { givenReason, ruleTitle, texts } from '../../i18n/index.ts';
import { lowerFirst } from '../../core/text.ts';
import { likelyCause } from './alert.ts';
import { severityMark } from '../../core/vocabulary.ts';
import { holdText } from './hold.ts';
import { FACT_KEYS, LICMAN_PORT } from '../../core/report.ts';

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

/** Older than this, a report is flagged on the card: agents send every hour. */
const STALE_REPORT_MS = 6 * 3_600_000;
const DAY_MS = 86_400_000;

type InstallationStatus = ClientStatus['installations'][number];

/** What is fine is said one line per area, in this order: the reports, the shell and server, the key and licences, the databases. */
const AREAS = ['reports', 'shell', 'key', 'bases'] as const;
type Area = (typeof AREAS)[number];

/**
 * A card per installation that answers "is everything OK?" first: the
 * verdict, a silence in force, the open incidents (each title once), then
 * what is wrong, marked, then everything that is fine on one line, the
 * network as the probes see it, and the files from the field.
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
  for (const item of shown) lines.push('', ...installationLines(item, lang, tz, now));
  return fitMessage(lines.join('\n'));
}

function installationLines(item: InstallationStatus, lang: Lang, tz: string, now: Date): string[] {
  const t = texts(lang);
  const { installation, state, incidents, holds, rejection, silences } = item;
  const bad: string[] = [];
  // What is fine, by area, one short line each: the card is read on a phone.
  const good = new Map<Area, string[]>();
  // A fact that is off is said in full, on its own line; one that is fine, in a few words («служба работает»).
  const note = (area: Area, ok: boolean, text: string, short = text) => (ok ? good.set(area, [...(good.get(area) ?? []), short]) : bad.push(text));
  const g = t.cardGood;
  // A fact that is the stated cause of an open problem is never ticked, however normal it looks on its own.
  const cause = likelyCause(incidents);

  if (state) {
    const age = now.getTime() - state.lastReceivedAt.getTime();
    const when = formatWhen(lang, state.lastReceivedAt, now, tz);
    note('reports', age <= STALE_REPORT_MS, `${t.lastReport}: ${t.ago(formatSpan(lang, age))} (${when})`, g.report(t.ago(formatSpan(lang, age))));
    if (state.operapDate) {
      const operapAge = operapAgeMs(state.operapDate, installation.tz, now);
      const limit = Number(installation.thresholds.KodeksOperapStale ?? 3 * DAY_MS);
      const said = formatOperapDay(lang, state.operapDate, installation.tz, now, tz);
      note('bases', operapAge <= limit, `${t.operap}: ${said}`, g.operap(said));
    }
    if (state.updateNumber !== undefined) note('bases', true, '', g.updateNumber(state.updateNumber));
    if (state.shellVersion) note('shell', true, '', g.shell(escapeHtml(state.shellVersion)));
    if (state.senselockState) note('key', state.senselockState === 'ok', `${t.key}: ${t.senselock[state.senselockState]}`, g.key);
    if (state.serviceState) {
      const account = state.serviceAccount ? ` (${t.account[state.serviceAccount]})` : '';
      const isCause = cause === 'systemAccount' && state.serviceAccount === 'system';
      note('shell', state.serviceState === 'running' && !isCause, `${t.service}: ${t.serviceState[state.serviceState]}${account}${isCause ? ` — ${t.likelyCauseShort}` : ''}`, g.service);
    }
    if (state.storageReachable !== undefined) {
      note('bases', state.storageReachable, `${t.storage}: ${t.unreachable}${state.storagePath ? ` (${escapeHtml(state.storagePath)})` : ''}`, g.storage);
    }
    if (state.kitAssembled !== undefined) note('bases', state.kitAssembled, `${t.kit}: ${t.notAssembled}`, g.kit);
    if (state.dailyUpdate !== undefined || state.copybaseweb !== undefined) {
      const onOff = (v: boolean | undefined) => (v === undefined ? t.unknown : v ? t.on : t.off);
      note('bases', state.dailyUpdate !== false && state.copybaseweb !== false, `${t.dailyUpdate}: ${onOff(state.dailyUpdate)}; copybaseweb: ${onOff(state.copybaseweb)}`, g.updates);
    }
    if (state.serverState) {
      const since = state.maintenanceSince ? ` ${t.sinceWhenShort(formatWhen(lang, state.maintenanceSince, now, tz))}` : '';
      const words = state.serverMessage ? `: «${escapeHtml(state.serverMessage)}»` : '';
      note('shell', state.serverState === 'ok', `${t.server}: ${t.serverStates[state.serverState]}${since}${words}`, g.server);
    }
    const terms = licenceTerms(state, installation.tz, lang, now, tz);
    if (terms) note('key', terms.ok, terms.text);
    if (state.licenseLimit !== undefined || state.seatsUsed !== undefined) {
      const full = state.licenseLimit !== undefined && state.seatsUsed !== undefined && state.seatsUsed >= state.licenseLimit;
      note('key', !full && item.refusalsToday === 0, t.seats(state.seatsUsed ?? null, state.licenseLimit ?? null, state.licensePeak ?? null, item.refusalsToday));
    }
    if (state.licmanState) {
      const address = state.licmanHost ? ` ${escapeHtml(state.licmanHost)}:${state.licmanPort ?? LICMAN_PORT}` : '';
      note('key', state.licmanState === 'ok', `${t.licman}${address}: ${t.licmanStates[state.licmanState]}`, g.licman);
    }
    const codes = [...new Set((state.databases ?? []).flatMap((db) => db.errors))].sort((a, b) => a - b);
    if (codes.length > 0) bad.push(`${t.dbErrors}: ${codes.join(', ')}`);
  }
  const fromFleet = fleetFactLines(state, lang);
  const network = networkLines(item, lang);
  bad.push(...network.bad);

  // Notices (`info`) are shown, but are not problems.
  const problems = incidents.filter((view) => view.incident.severity !== 'info');
  const verdict = !installation.monitoringEnabled
    ? t.verdictMonitoringOff
    : problems.length > 0
      ? t.verdictProblemCount(problems.length)
      : !state
        ? t.verdictNoReports
        : bad.length > 0
          ? t.verdictSomethingOff
          : t.verdictOk;
  // The name its files come under (SMART's <CLIENT>), beside its own: the two are how people and scripts tell it apart.
  const uploadName = installation.uploadName ? ` (${t.uploadNameOnCard(`<code>${escapeHtml(installation.uploadName)}</code>`)})` : '';
  const lines = [`🖥 <b>${escapeHtml(installation.name)}</b>${uploadName} — ${verdict}`];
  // A silence of the whole installation is said as such; a snooze of one alert names that alert, never more.
  const whole = silences.find((s) => s.ruleId === null);
  if (whole) lines.push(`💤 ${escapeHtml(t.silenceOnCard(formatUntil(lang, whole.endsAt, now, tz), givenReason(whole.reason)))}`);
  for (const rule of new Set(silences.filter((s) => s.ruleId !== null && (!whole || s.endsAt > whole.endsAt)).map((s) => s.ruleId!))) {
    const longest = silences.find((s) => s.ruleId === rule)!;
    lines.push(`💤 ${escapeHtml(t.ruleSilenceOnCard(ruleTitle(lang, rule), formatUntil(lang, longest.endsAt, now, tz)))}`);
  }
  for (const view of problems) {
    const age = formatSpan(lang, now.getTime() - view.incident.openedAt.getTime());
    const hold = holds.get(view.incident.id);
    const who = view.incident.status === 'acknowledged' ? t.acknowledgedShort(view.acknowledgedByName ?? '?') : hold ? holdText(hold, lang, now, tz) : t.notAcknowledged;
    lines.push(` • ${severityMark(view.incident.severity)} ${escapeHtml(ruleTitle(lang, view.incident.ruleId))} — ${age}, ${escapeHtml(who)}`);
  }
  const notices = incidents.filter((view) => view.incident.severity === 'info');
  if (notices.length > 0) lines.push(`${severityMark('info')} ${t.forInformation}: ${notices.map((view) => escapeHtml(ruleTitle(lang, view.incident.ruleId))).join('; ')}`);
  if (rejection && (!state || rejection.lastRejectedAt > state.lastReceivedAt)) bad.push(escapeHtml(t.reportRefused(rejection.reason)));
  lines.push(...bad.map((line) => `⚠️ ${line}`));
  for (const area of AREAS) if (good.has(area)) lines.push(`✅ ${upperFirst(good.get(area)!.map((item, i) => (i === 0 ? item : lowerFirst(item))).join(', '))}`);
  lines.push(...fromFleet);
  if (network.summary) lines.push(network.summary);
  if (item.sysinfoAt) {
    const made = item.sysinfoTakenAt ? `, ${t.sysinfoMade(formatWhen(lang, item.sysinfoTakenAt, now, tz))}` : '';
    lines.push(`${t.sysinfo}: ${t.ago(formatSpan(lang, now.getTime() - item.sysinfoAt.getTime()))} (${formatWhen(lang, item.sysinfoAt, now, tz)}${made})`);
    if (item.sysinfoProblems.length > 0) {
      const shown = item.sysinfoProblems.slice(0, 2).map((problem) => describeReadingProblem(lang, problem));
      lines.push(`⚠️ ${t.sysinfo}: ${escapeHtml(t.sysinfoProblems(shown.join('; '), item.sysinfoProblems.length - shown.length))}`);
    }
  }
  if (item.metrics?.error) lines.push(`⚠️ ${t.metrics}: ${escapeHtml(t.metricsUnreadable(describeMetricsError(lang, item.metrics.error)))}`);
  else if (item.metrics) lines.push(`${t.metrics}: ${t.metricsFigures(item.metrics.samples.length, formatSpan(lang, now.getTime() - item.metrics.takenAt.getTime()))}`);
  return lines;
}

const upperFirst = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Facts that came from a fleet upload, not from the installation's own agent: a line per fleet token, naming them. */
function fleetFactLines(state: InstallationStatus['state'], lang: Lang): string[] {
  const t = texts(lang);
  const byLabel = new Map<string, string[]>();
  // In the facts' own order, not the stored object's: PostgreSQL's jsonb keeps no key order.
  const rank = (fact: string) => {
    const at = (FACT_KEYS as readonly string[]).indexOf(fact);
    return at < 0 ? FACT_KEYS.length : at;
  };
  const sources = Object.entries(state?.factSources ?? {}).sort(([a], [b]) => rank(a) - rank(b));
  for (const [fact, label] of sources) {
    const name = (t.sysinfoReading.fields as Record<string, string | undefined>)[fact] ?? t.fleetFactNames[fact] ?? fact;
    byLabel.set(label, [...(byLabel.get(label) ?? []), name]);
  }
  return [...byLabel].map(([label, facts]) => escapeHtml(t.fleetFacts(label, facts.join(', '))));
}

/** The network as the probes see it: one line with the addresses and, in words, what answers; a line of its own for each that fails. */
function networkLines(item: InstallationStatus, lang: Lang): { summary: string | null; bad: string[] } {
  const t = texts(lang);
  const { installation, probes } = item;
  const address = [installation.host, installation.ip].filter(Boolean).join(' · ');
  const kinds = (['icmp', 'tcp', 'http', 'dns'] as const).filter((kind) => probes[kind]);
  const bad = kinds
    .filter((kind) => !probes[kind]!.ok)
    .map((kind) => escapeHtml(t.probeFails(t.probeNames[kind], probes[kind]!.error ? describeNetworkError(lang, probes[kind]!.error!) : t.unknown)));
  // The licence manager, when it is probed: a bad line of its own when it is out of reach.
  const licman = [probes.licmanTcp, probes.licmanIcmp].find((status) => status && !status.ok);
  if (licman && installation.licmanHost) {
    bad.push(escapeHtml(`${t.licman} ${installation.licmanHost}:${installation.licmanPort ?? LICMAN_PORT}: ${licman.error ? describeNetworkError(lang, licman.error) : t.licmanStates.unreachable}`));
  }
  if (kinds.length === 0) return { summary: address ? `🌐 ${escapeHtml(address)}` : null, bad };
  // What fails has a line of its own among the problems; this one says what answers.
  const words = kinds.filter((kind) => probes[kind]!.ok).map((kind) => t.probeOk[kind]).join(', ');
  return { summary: `🌐 ${escapeHtml(address)}${address && words ? ': ' : ''}${escapeHtml(words)}`, bad };
}

/** The licence terms of the databases, soonest first (three at most): flagged when the soonest is within a week or over. */
function licenceTerms(state: NonNullable<InstallationStatus['state']>, installationTz: string, lang: Lang, now: Date, tz: string): { ok: boolean; text: string } | null {
  const t = texts(lang);
  const dated = (state.databases ?? []).filter((db) => db.licenseExpires).sort((a, b) => a.licenseExpires!.localeCompare(b.licenseExpires!));
  if (dated.length === 0) return null;
  const shown = dated.slice(0, 3).map((db) => {
    const until = formatWhen(lang, DateTime.fromISO(db.licenseExpires!, { zone: installationTz }).toJSDate(), now, tz, true);
    return escapeHtml(t.licenceTerm(db.name, until, daysLeft(db.licenseExpires!, installationTz, now)));
  });
  if (dated.length > 3) shown.push(t.moreTerms(dated.length - 3));
  return { ok: daysLeft(dated[0]!.licenseExpires!, installationTz, now) > 7, text: `${t.licenceTerms}: ${shown.join('; ')}` };
}
