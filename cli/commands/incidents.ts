import { Option, type Command } from 'commander';
import { pino } from 'pino';
import { incidentSettings } from '../../app/config.ts';
import { formatDuration } from '../../core/duration.ts';
import { PROBE_RULES } from '../../core/probe-rules.ts';
import { DEPENDENCIES, EXPLAINED } from '../../core/dependencies.ts';
import { RULES, type ThresholdKind } from '../../core/rules.ts';
import { getIncident, listHolds, listIncidentEvents, listIncidentsWithNames, type IncidentHold, type IncidentListRow } from '../../db/incidents.ts';
import { getPolicy, listPolicies } from '../../db/policies.ts';
import { listActiveSilences } from '../../db/silences.ts';
import { listUnmatchedAlerts } from '../../db/unmatched-alerts.ts';
import { defuse } from '../../core/text.ts';
import { listAlertRoutes } from '../../db/alert-routes.ts';
import { alertSource } from '../../core/external-alerts.ts';
import { routeAlerts, unrouteAlerts } from '../../registry/alert-routes.ts';
import { acknowledge, resolveByHand } from '../../registry/incidents.ts';
import { ruleTitle } from '../../i18n/index.ts';
import { RETRY_FAILED_MS, runSweep } from '../../jobs/sweep.ts';
import { changePolicy, requirePolicyKey } from '../../registry/policies.ts';
import { addSilence, removeSilence } from '../../registry/silences.ts';
import { emit, formatAge, formatTime, table } from '../output.ts';
import { run } from '../run.ts';
import { inputError, notFound } from '../../i18n/index.ts';

/** Commands for checks, incidents, silences and fleet policies. */
export function registerIncidentCommands(program: Command): void {
  program
    .command('rules')
    .description('the rule catalogue with severities and default thresholds')
    .option('--deps', 'the dependencies between rules instead: what waits while what is open, and what names its probable cause', false)
    .action(
      run<{ deps: boolean }>(async (ctx, { json, config, opts }) => {
        if (opts.deps) return printDependencies(json);
        const policy = await getPolicy(ctx.db);
        const rows: { id: string; title: string; severity: string; threshold: string | null; thresholdKind: ThresholdKind | 'probe' }[] = RULES.map((r) => ({
          id: r.id,
          title: ruleTitle('ru', r.id),
          severity: r.severity,
          threshold:
            r.thresholdKind === 'duration'
              ? formatDuration(r.defaultThreshold!)
              : r.thresholdKind === 'version'
                ? (policy.minShellVersion ?? null)
                : null,
          thresholdKind: r.thresholdKind,
        }));
        for (const probe of PROBE_RULES) {
          rows.push({ id: probe.id, title: ruleTitle('ru', probe.id), severity: probe.severity, threshold: `${config.PROBE_FAILURES} failed probe rounds`, thresholdKind: 'probe' });
        }
        emit(json, rows, () =>
          table(
            ['RULE', 'SEVERITY', 'DEFAULT THRESHOLD', 'TITLE'],
            rows.map((r) => [
              r.id,
              r.severity,
              r.thresholdKind === 'none' ? 'fires at once' : r.thresholdKind === 'version' ? `min version ${r.threshold ?? '(not set)'}` : r.threshold,
              r.title,
            ]),
          ),
        );
      }),
    );

  program
    .command('check')
    .description('run one sweep of the checks now and print what is open')
    .action(
      run(async (ctx, { json, config }) => {
        const now = ctx.clock();
        const logger = pino({ level: 'error' }, pino.destination(2));
        const summary = await runSweep({ db: ctx.db, settings: incidentSettings(config), logger }, now);
        const open = await listIncidentsWithNames(ctx.db, { includeResolved: false });
        const holds = await listHolds(ctx.db, open, now);
        emit(json, { summary, open: open.map((row) => incidentJson(row, holds)) }, () =>
          [
            `Checked ${summary.checked} installation(s): ${summary.opened} opened, ${summary.resolved} resolved, ` +
              `${summary.announced} announced after a silence, ${summary.reminded} reminder(s), ${summary.escalated} escalation(s).` +
              (summary.failed > 0 ? ` ${summary.failed} installation(s) could not be judged (see above); they are looked at again in ${RETRY_FAILED_MS / 60_000} minutes.` : ''),
            open.length === 0 ? 'Nothing is open.' : incidentTable(open, holds, now, config.DISPLAY_TZ),
          ].join('\n'),
        );
      }),
    );

  program
    .command('incidents')
    .description('open incidents, oldest first (--all: every incident, newest first)')
    .option('--all', 'include resolved incidents', false)
    .action(
      run<{ all: boolean }>(async (ctx, { json, opts, config }) => {
        const now = ctx.clock();
        const rows = await listIncidentsWithNames(ctx.db, { includeResolved: opts.all });
        const holds = await listHolds(ctx.db, rows, now);
        emit(json, rows.map((row) => incidentJson(row, holds)), () =>
          rows.length === 0 ? 'No incidents.' : incidentTable(rows, holds, now, config.DISPLAY_TZ),
        );
      }),
    );

  const incident = program.command('incident').description('one incident');
  incident
    .command('show')
    .description('an incident with its history')
    .argument('<id>', 'incident id')
    .action(
      run(async (ctx, { json, args, config }) => {
        const found = await getIncident(ctx.db, parseId(args[0]!));
        if (!found) throw notFound('incidentNotFound', { id: Number(args[0]) });
        const events = await listIncidentEvents(ctx.db, found.id);
        emit(json, { ...found, title: ruleTitle('ru', found.ruleId), events }, () =>
          [
            `#${found.id} ${found.ruleId} (${ruleTitle('ru', found.ruleId)}) ${found.severity}, ${found.status}`,
            `facts: ${JSON.stringify(found.details)}`,
            ...events.map((e) => `  ${formatTime(e.at, config.DISPLAY_TZ)}  ${e.type.padEnd(12)} ${e.actor}${e.details ? `  ${JSON.stringify(e.details)}` : ''}`),
          ].join('\n'),
        );
      }),
    );
  incident
    .command('ack')
    .description('acknowledge an incident: you are on it')
    .argument('<id>', 'incident id')
    .action(
      run(async (ctx, { json, args }) => {
        const result = await acknowledge(ctx, parseId(args[0]!));
        emit(json, { id: result.incident.id, outcome: result.outcome, acknowledgedBy: result.incident.acknowledgedBy }, () =>
          result.outcome === 'already'
            ? `Incident ${result.incident.id} was already acknowledged by ${result.incident.acknowledgedBy}.`
            : `Incident ${result.incident.id} acknowledged.`,
        );
      }),
    );
  incident
    .command('resolve')
    .description('resolve an incident by hand (if its condition still holds, the next check opens a new one)')
    .argument('<id>', 'incident id')
    .action(
      run(async (ctx, { json, args }) => {
        const resolved = await resolveByHand(ctx, parseId(args[0]!));
        emit(json, { id: resolved.id, status: resolved.status, resolution: resolved.resolution }, () =>
          `Incident ${resolved.id} resolved. If the problem is still there, the next check opens a new incident; to keep quiet meanwhile, add a silence.`,
        );
      }),
    );

  const silence = program.command('silence').description('hold back announcements for a while (maintenance)');
  silence
    .command('add')
    .description('silence an installation, a client or a rule (or a combination)')
    .option('--installation <id>', 'installation id')
    .option('--client <client>', 'client id or exact name')
    .option('--rule <rule>', 'rule id, e.g. KodeksOperapStale')
    .addOption(new Option('--for <duration>', 'how long, e.g. 2h, 1d').conflicts('until'))
    .option('--until <time>', 'until when, e.g. 2023-02-16T09:00 (in DISPLAY_TZ unless an offset is given)')
    .requiredOption('--reason <text>', 'why, for the others')
    .action(
      run<{ installation?: string; client?: string; rule?: string; for?: string; until?: string; reason: string }>(
        async (ctx, { json, opts, config }) => {
          const added = await addSilence(ctx, { ...opts, tz: config.DISPLAY_TZ });
          emit(json, added, () => `Silence ${added.id} holds announcements until ${formatTime(added.endsAt, config.DISPLAY_TZ)}.`);
        },
      ),
    );
  silence
    .command('list')
    .description('silences in force or scheduled')
    .action(
      run(async (ctx, { json, config }) => {
        const rows = await listActiveSilences(ctx.db, ctx.clock());
        emit(json, rows, () =>
          rows.length === 0
            ? 'No silences.'
            : table(
                ['ID', 'INSTALLATION', 'CLIENT', 'RULE', 'UNTIL', 'AUTHOR', 'REASON'],
                rows.map((s) => [s.id, s.installationId, s.clientId, s.ruleId, formatTime(s.endsAt, config.DISPLAY_TZ), s.author, s.reason]),
              ),
        );
      }),
    );
  silence
    .command('remove')
    .description('end a silence now; what it held back and is still open is announced at the next check')
    .argument('<id>', 'silence id')
    .action(
      run(async (ctx, { json, args }) => {
        const removed = await removeSilence(ctx, parseId(args[0]!, 'silence'));
        emit(json, { id: removed.id, endsAt: removed.endsAt }, () => `Silence ${removed.id} ended.`);
      }),
    );

  const alerts = program.command('alerts').description('alerts from Alertmanager');
  alerts
    .command('unmatched')
    .description('alerts that fit no installation, or several: what to label or register (latest first)')
    .option('--all', 'include those Alertmanager has since resolved', false)
    .action(
      run<{ all: boolean }>(async (ctx, { json, opts, config }) => {
        const rows = await listUnmatchedAlerts(ctx.db, { all: opts.all });
        emit(json, rows, () =>
          rows.length === 0
            ? 'No unmatched alerts.'
            : table(
                ['ALERT', 'SOURCE', 'LABELS', 'WHY', 'STATUS', 'LAST SEEN', 'TIMES'],
                // Labels are Alertmanager's, written by whoever wrote the rules: marks that reorder or hide text show as �.
                rows.map((r) => [
                  defuse(r.alertname || '(no name)'),
                  defuse(alertSource(r.labels) ?? '-'),
                  defuse(
                    Object.entries(r.labels)
                      .filter(([name]) => name !== 'alertname')
                      .map(([name, value]) => `${name}=${value}`)
                      .join(' '),
                  ),
                  r.reason === 'ambiguous' ? `fits installations ${r.candidates.join(', ')}` : 'fits no installation',
                  r.status,
                  formatTime(r.lastSeenAt, config.DISPLAY_TZ),
                  r.count,
                ]),
              ),
        );
      }),
    );

  alerts
    .command('route')
    .description('send the alerts of a source (as `alerts unmatched` shows it) to an installation when their labels fit none or several; those waiting go there now')
    .argument('<source>', 'instance:<host or IP>, installation:<name> or installation_id:<id>')
    .argument('<installation>', 'installation id')
    .action(
      run(async (ctx, { json, args, config }) => {
        const routed = await routeAlerts(ctx, incidentSettings(config), args[0]!, args[1]!);
        emit(json, { source: routed.source, installationId: routed.installation.id, opened: routed.opened }, () =>
          `Alerts of ${routed.source} now go to installation ${routed.installation.id} (${routed.installation.name}); ${routed.opened} opened now.`,
        );
      }),
    );
  alerts
    .command('routes')
    .description('the sources whose alerts an admin placed under an installation')
    .action(
      run(async (ctx, { json, config }) => {
        const rows = await listAlertRoutes(ctx.db);
        emit(json, rows, () =>
          rows.length === 0
            ? 'No alert routes.'
            : table(
                ['SOURCE', 'INSTALLATION', 'CLIENT', 'SET', 'BY'],
                rows.map((r) => [r.source, `${r.installationId} ${r.installationName}`, r.clientName, formatTime(r.createdAt, config.DISPLAY_TZ), r.createdBy]),
              ),
        );
      }),
    );
  alerts
    .command('unroute')
    .description('forget where the alerts of a source go: their labels alone decide again')
    .argument('<source>', 'as `alerts routes` shows it')
    .action(
      run(async (ctx, { json, args }) => {
        await unrouteAlerts(ctx, args[0]!);
        emit(json, { source: args[0]!.trim() }, () => `Alerts of ${args[0]!.trim()} are matched by their labels alone again.`);
      }),
    );

  const policy = program.command('policy').description('fleet-wide policies');
  policy
    .command('set')
    .description('set a policy, e.g. "policy set min-shell-version 6.4.3.59"')
    .argument('<key>', 'min-shell-version')
    .argument('<value>', 'the value')
    .action(
      run(async (ctx, { json, args }) => {
        const key = requirePolicyKey(args[0]!);
        await changePolicy(ctx, key, args[1]!);
        emit(json, { key, value: args[1] }, () => `Policy ${key} = ${args[1]}; every installation is re-checked at the next sweep.`);
      }),
    );
  policy
    .command('unset')
    .description('remove a policy')
    .argument('<key>', 'min-shell-version')
    .action(
      run(async (ctx, { json, args }) => {
        const key = requirePolicyKey(args[0]!);
        await changePolicy(ctx, key, null);
        emit(json, { key, value: null }, () => `Policy ${key} removed.`);
      }),
    );
  policy
    .command('show')
    .description('the policies in force')
    .action(
      run(async (ctx, { json, config }) => {
        const rows = await listPolicies(ctx.db);
        emit(json, rows, () =>
          rows.length === 0
            ? 'No policies set.'
            : table(['POLICY', 'VALUE', 'SET', 'BY'], rows.map((p) => [p.key, p.value, formatTime(p.updatedAt, config.DISPLAY_TZ), p.updatedBy])),
        );
      }),
    );
}

function parseId(text: string, what: 'incident' | 'silence' = 'incident'): number {
  if (!/^\d+$/.test(text.trim())) throw inputError('idInvalid', { text, what });
  return Number(text);
}

/** `hold`: what keeps people from hearing of an incident never announced (null for the rest). */
function incidentJson(row: IncidentListRow, holds: ReadonlyMap<number, IncidentHold>) {
  return { ...row, title: ruleTitle('ru', row.ruleId), hold: holds.get(row.id) ?? null };
}

function incidentTable(rows: IncidentListRow[], holds: ReadonlyMap<number, IncidentHold>, now: Date, tz: string): string {
  return table(
    ['ID', 'SEVERITY', 'RULE', 'CLIENT', 'INSTALLATION', 'OPENED', 'STATUS'],
    rows.map((r) => [
      r.id,
      r.severity,
      r.ruleId,
      r.clientName,
      r.installationName,
      `${formatTime(r.openedAt, tz)} (${formatAge(r.openedAt, now)})`,
      r.status === 'acknowledged' ? `acknowledged by ${r.acknowledgedBy}` : r.status === 'resolved' ? `resolved (${r.resolution})` : openState(r, holds.get(r.id), tz),
    ]),
  );
}

/** An open incident: announced, a notice (never announced as such), or what holds it back. */
function openState(row: IncidentListRow, hold: IncidentHold | undefined, tz: string): string {
  if (row.severity === 'info') return 'open, a notice';
  if (row.announcedAt || !hold) return 'open';
  if (hold.by === 'silence') return `open, held by silence #${hold.silenceId} until ${formatTime(hold.until, tz)}`;
  if (hold.by === 'cause') return `open, waiting for ${hold.ruleId}`;
  return 'open, announced at the next check';
}

/**
 * The dependency table as a matrix: a row per rule that depends on another,
 * a column per cause; "waits" where the rule is held back while the cause is
 * open, "named" where the alert names the cause instead.
 */
function printDependencies(json: boolean): void {
  const causes = [...DEPENDENCIES.map((d) => d.cause), ...EXPLAINED.map((e) => e.cause)];
  const rows = new Map<string, Record<string, 'waits' | 'named'>>();
  const mark = (rule: string, cause: string, how: 'waits' | 'named') => rows.set(rule, { ...rows.get(rule), [cause]: how });
  for (const { cause, waiting } of DEPENDENCIES) for (const rule of waiting) mark(rule, cause, 'waits');
  for (const { cause, explained } of EXPLAINED) for (const rule of explained) mark(rule, cause, 'named');
  const matrix = [...rows].map(([rule, by]) => ({ rule, ...by }));
  emit(json, { causes, dependents: matrix }, () =>
    [
      table(
        ['RULE', ...causes.map((c) => (c === 'licman' ? 'licence manager unreachable' : c))],
        matrix.map((row) => [row.rule, ...causes.map((c) => (row as Record<string, string>)[c] ?? '')]),
      ),
      'waits: recorded, counted on the cause\'s alert, announced only if it outlives the cause.',
      'named: sent as usual, saying the cause is the probable one.',
    ].join('\n'),
  );
}
