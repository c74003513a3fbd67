import { timingSafeEqual } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { defuse } from '../core/text.ts';
import { alertSource, externalFacts, isAlertName, externalRuleId, instanceAddress, labelFingerprint } from '../core/external-alerts.ts';
import { findAlertRoute } from '../db/alert-routes.ts';
import { listActiveRules } from '../db/incidents.ts';
import { isPostgres } from '../db/dialect.ts';
import { findAlertTargets, type AlertTarget } from '../db/installations.ts';
import type { DB, Queryable } from '../db/open.ts';
import { enqueue, NOTICE } from '../db/outbox.ts';
import { writeTransaction } from '../db/transaction.ts';
import { noteUnmatchedAlert } from '../db/unmatched-alerts.ts';
import { listActiveAdmins } from '../db/users.ts';
import { langOf, texts } from '../i18n/index.ts';
import { activeSilences, AnnouncementLookups, loadSubject, openIncident, resolveIncident, type Subject } from '../incidents/lifecycle.ts';
import type { IncidentSettings } from '../incidents/settings.ts';
import { placeOf } from '../core/vocabulary.ts';

/** Alerts in one webhook at most: set `max_alerts` at or below it in the receiver (docs/prometheus.md). */
export const MAX_WEBHOOK_ALERTS = 10_000;
/** The largest webhook body taken; far above what `MAX_WEBHOOK_ALERTS` alerts weigh. */
export const MAX_WEBHOOK_BYTES = 32 * 1024 * 1024;

/** Alertmanager's webhook payload, version 4 (only what we use); its alerts are checked a slice at a time (`readAlerts`). */
const payloadSchema = z.object({
  version: z.string().optional(),
  alerts: z.array(z.unknown()),
});
const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string().optional(),
});
/** Alerts checked between two turns of the event loop. */
const CHECK_SLICE = 1_000;

export interface AlertmanagerDeps {
  db: DB;
  clock: Clock;
  settings: IncidentSettings;
  token: string;
  onIncidentChange?: () => void;
}

/** Unmatched alerts named in the admins' summary; the rest are counted, and the bot's /unmatched (or `dozor alerts unmatched`) lists them all. */
const NAMED_IN_SUMMARY = 5;
/**
 * A webhook is taken in chunks, each its own transaction, with the event loop
 * free between them: at most this many alerts in one, and no more than
 * `CHUNK_BUDGET_MS` of work, so /healthz, reports and the bot wait at most
 * that long behind 10,000 alerts. A chunk takes `CHUNK_MIN_ALERTS` whatever
 * the time: what it announces goes out at once, so a storm must show itself
 * as one in the first chunk however busy the machine (on a loaded one, or on
 * PostgreSQL where the budget includes the server's round trips, 40 ms held
 * a dozen alerts, and they went out one by one before the storm was seen).
 */
const CHUNK_ALERTS = 500;
const CHUNK_MIN_ALERTS = 100;
const CHUNK_BUDGET_MS = 40;
/** While a webhook's chunks go on, the dispatcher is told of what they announced at most this often. */
const WAKE_EVERY_MS = 250;

export interface WebhookResult {
  received: number;
  opened: number;
  resolved: number;
  unchanged: number;
  /** No installation fits. */
  unmatched: number;
  /** Without an `alertname` label: nothing to open an incident under. */
  unnamed: number;
  /** Several installations fit. */
  ambiguous: number;
  /** The installation's monitoring is off. */
  ignored: number;
}

/**
 * `POST /api/v1/alertmanager`: alerts from a distributor's Prometheus become
 * incidents of the installation they name (`installation_id`, `installation`
 * as an id or a name, else `instance` against host or IP). Each alert is its
 * own incident, identified by its whole label set, in a namespace of its own:
 * it fires and resolves alone and never touches dozor's own rules. Alerts that
 * fit no installation, or several, are kept and summarised to the admins, one
 * message per webhook. Every webhook leaves one log line. A large webhook is
 * taken in chunks (see `CHUNK_ALERTS`); a resend after a crash between them
 * finds the alerts already open unchanged.
 */
export function alertmanagerRoutes(deps: AlertmanagerDeps): FastifyPluginAsync {
  return async (scope) => {
    // Refusals that happen before the handler (a body too large, not JSON) are logged too.
    scope.addHook('onError', async (request, reply, error) => {
      if (reply.statusCode < 500) logRefusal(request, reply.statusCode, error.message);
    });

    scope.post('/api/v1/alertmanager', { bodyLimit: MAX_WEBHOOK_BYTES }, async (request, reply) => {
      const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
      if (!tokensEqual(presented, deps.token)) {
        logRefusal(request, 401, 'missing or invalid token');
        return reply.code(401).send({ error: 'missing or invalid token' });
      }
      const parsed = payloadSchema.safeParse(request.body);
      if (!parsed.success) {
        const error = invalidPayload(parsed.error.issues[0]!.path, parsed.error.issues[0]!.message);
        logRefusal(request, 400, error);
        return reply.code(400).send({ error });
      }
      if (parsed.data.alerts.length > MAX_WEBHOOK_ALERTS) {
        const error = `the webhook carries ${parsed.data.alerts.length} alerts; dozor takes at most ${MAX_WEBHOOK_ALERTS} in one: set max_alerts: ${MAX_WEBHOOK_ALERTS} (or less) in the receiver`;
        logRefusal(request, 413, error);
        return reply.code(413).send({ error });
      }
      const alerts = await readAlerts(parsed.data.alerts);
      if (typeof alerts === 'string') {
        logRefusal(request, 400, alerts);
        return reply.code(400).send({ error: alerts });
      }
      const result = await takeAlerts(deps, alerts, deps.clock());
      request.log.info({ ...result }, 'alertmanager webhook');
      return result;
    });
  };
}

function invalidPayload(path: readonly PropertyKey[], message: string): string {
  return `invalid Alertmanager payload: ${path.map(String).join('.') || 'body'}: ${message}`;
}

/** The alerts, checked a slice at a time with the event loop free between slices; or what is wrong with the first bad one. */
async function readAlerts(raw: unknown[]): Promise<Alert[] | string> {
  const alerts: Alert[] = [];
  for (let start = 0; start < raw.length; start += CHECK_SLICE) {
    if (start > 0) await nextTurn();
    for (let i = start; i < Math.min(raw.length, start + CHECK_SLICE); i++) {
      const alert = alertSchema.safeParse(raw[i]);
      if (!alert.success) return invalidPayload(['alerts', i, ...alert.error.issues[0]!.path], alert.error.issues[0]!.message);
      alerts.push(alert.data);
    }
  }
  return alerts;
}

function logRefusal(request: FastifyRequest, status: number, reason: string): void {
  request.log.warn({ status, reason: reason.slice(0, 300) }, 'alertmanager webhook refused');
}

type Alert = z.infer<typeof alertSchema>;

type Match = { kind: 'one'; target: AlertTarget } | { kind: 'none' } | { kind: 'ambiguous'; candidates: AlertTarget[] };

type Unmatched = { alertname: string; who: string; candidates: AlertTarget[] };

/**
 * Judge the alerts in chunks, each its own transaction, yielding the event
 * loop between them. Each chunk reads afresh the installations' open
 * incidents and the silences, so a webhook taken alongside it never opens an
 * incident twice (the database would refuse it) nor resolves one it did not
 * see. The webhook is judged as of its arrival: its time, and which
 * installation each source names and who hears of it, are looked up once
 * for all its chunks. The admins' summary goes with the last chunk.
 */
async function takeAlerts(deps: AlertmanagerDeps, alerts: Alert[], now: Date): Promise<WebhookResult> {
  const result: WebhookResult = { received: alerts.length, opened: 0, resolved: 0, unchanged: 0, unmatched: 0, unnamed: 0, ambiguous: 0, ignored: 0 };
  const newlyUnmatched: Unmatched[] = [];
  const taking = new Taking(deps, now);
  let next = 0;
  let changed = false;
  let wokeAt = -Infinity;
  do {
    // Reading and checking the body took a while already: the first chunk waits its turn too.
    await nextTurn();
    const before = result.opened + result.resolved + newlyUnmatched.length;
    const from = next;
    next = await chunkTurn(deps.db, () =>
      writeTransaction(deps.db, async (tx) => {
        await taking.begin(tx);
        const started = performance.now();
        let at = from;
        const more = () => at - from < CHUNK_MIN_ALERTS || (at - from < CHUNK_ALERTS && performance.now() - started < CHUNK_BUDGET_MS);
        while (at < alerts.length && more()) await applyAlert(taking, alerts[at++]!, result, newlyUnmatched);
        if (at === alerts.length && newlyUnmatched.length > 0) await summariseUnmatched(tx, newlyUnmatched, now);
        return at;
      }),
    );
    // The dispatcher starts on what was announced so far (a critical among it goes now, not after the last chunk),
    // looked at every WAKE_EVERY_MS while the chunks go on.
    if (result.opened + result.resolved + newlyUnmatched.length > before) changed = true;
    if (changed && (next === alerts.length || performance.now() - wokeAt >= WAKE_EVERY_MS)) {
      deps.onIncidentChange?.();
      [changed, wokeAt] = [false, performance.now()];
    }
  } while (next < alerts.length);
  return result;
}

/** Per database, the end of the last webhook chunk queued on it (PostgreSQL only). */
const chunkTurns = new WeakMap<object, Promise<unknown>>();

/**
 * Chunks of webhooks taken side by side take turns, as every transaction does
 * on SQLite: on PostgreSQL two chunks at once about one installation (two
 * Alertmanager replicas sending the same group) read and open the same
 * incidents, and SERIALIZABLE refuses one of them again on every retry.
 */
async function chunkTurn<T>(db: DB, work: () => Promise<T>): Promise<T> {
  if (!isPostgres(db)) return work();
  const before = chunkTurns.get(db) ?? Promise.resolve();
  const mine = before.then(work, work);
  chunkTurns.set(db, mine.catch(() => undefined));
  return mine;
}

/**
 * What a webhook's alerts look up once and use for each (thousands may name
 * one installation): for the whole webhook, the installation a source names,
 * its names and who hears of it; for each chunk, read in its own
 * transaction, the silences and the installations' open incidents.
 */
class Taking {
  silences: Awaited<ReturnType<typeof activeSilences>> = [];
  readonly lookups = new AnnouncementLookups();
  private readonly matches = new Map<string, Match>();
  private readonly subjects = new Map<number, Subject>();
  private activeOf = new Map<number, Map<string, number>>();
  /** The handle of the chunk's transaction: on PostgreSQL the database's own would run outside it, on another connection. */
  db: Queryable;

  constructor(
    readonly deps: AlertmanagerDeps,
    readonly now: Date,
  ) {
    this.db = deps.db;
  }

  /** A new chunk, in its own transaction (`tx`): what other writers may have changed meanwhile is read again. */
  async begin(tx: Queryable): Promise<void> {
    this.db = tx;
    this.silences = await activeSilences(tx, this.now);
    this.activeOf = new Map();
  }

  /** An alert's installation depends only on the labels that name it: matched once for each. */
  async match(labels: Record<string, string>): Promise<Match> {
    const key = JSON.stringify([labels.installation_id, labels.installation, labels.instance]);
    let match = this.matches.get(key);
    if (!match) {
      match = await matchInstallation(this.db, labels);
      this.matches.set(key, match);
    }
    return match;
  }

  /** An installation's unresolved incidents by rule id, kept up to date as the chunk opens and resolves them. */
  async active(installationId: number): Promise<Map<string, number>> {
    let rules = this.activeOf.get(installationId);
    if (!rules) {
      rules = new Map((await listActiveRules(this.db, installationId)).map((i) => [i.ruleId, i.id]));
      this.activeOf.set(installationId, rules);
    }
    return rules;
  }

  async subject(installationId: number): Promise<Subject> {
    let subject = this.subjects.get(installationId);
    if (!subject) {
      subject = await loadSubject(this.db, installationId);
      this.subjects.set(installationId, subject);
    }
    return subject;
  }
}

async function applyAlert(taking: Taking, alert: Alert, result: WebhookResult, newlyUnmatched: Unmatched[]): Promise<void> {
  const { settings } = taking.deps;
  const { db, now } = taking;
  const labels = alert.labels;
  const fingerprint = labelFingerprint(labels);
  const alertname = isAlertName(labels.alertname) ? labels.alertname : null;
  if (alertname === null) {
    // Whatever installation it names, there is nothing to open: said as it is, not as "fits no installation".
    result.unnamed++;
    await noteUnmatched(taking, alert, fingerprint, { kind: 'none' }, newlyUnmatched, true);
    return;
  }
  const match = await taking.match(labels);
  if (match.kind !== 'one') {
    if (match.kind === 'none') result.unmatched++;
    else result.ambiguous++;
    await noteUnmatched(taking, alert, fingerprint, match, newlyUnmatched, false);
    return;
  }
  const target = match.target;
  const ruleId = externalRuleId(alertname, fingerprint);
  const active = await taking.active(target.id);
  const activeId = active.get(ruleId);
  if (alert.status === 'resolved') {
    if (activeId !== undefined) {
      await resolveIncident(db, activeId, 'alertmanager', 'cleared', now);
      active.delete(ruleId);
      result.resolved++;
    } else result.unchanged++;
    return;
  }
  if (!target.monitoringEnabled) {
    // As with dozor's own rules: an installation nobody watches opens nothing.
    result.ignored++;
    return;
  }
  if (activeId !== undefined) {
    result.unchanged++;
    return;
  }
  const severity = labels.severity === 'critical' ? 'critical' : 'warning';
  const facts = externalFacts(alertname, labels, alert.annotations, alert.startsAt ?? null);
  const opened = await openIncident(db, settings, await taking.subject(target.id), { ruleId, severity, facts }, now, taking.silences, taking.lookups);
  active.set(ruleId, opened.id);
  result.opened++;
}

/** Keep an alert nobody's installation takes; a firing one seen for the first time goes into the admins' summary. */
async function noteUnmatched(taking: Taking, alert: Alert, fingerprint: string, match: Exclude<Match, { kind: 'one' }>, newlyUnmatched: Unmatched[], unnamed: boolean): Promise<void> {
  const labels = alert.labels;
  const candidates = match.kind === 'ambiguous' ? match.candidates : [];
  const isNew = await noteUnmatchedAlert(
    taking.db,
    {
      fingerprint,
      alertname: unnamed ? '' : labels.alertname!,
      labels,
      annotations: alert.annotations,
      startsAt: alert.startsAt ?? null,
      reason: match.kind,
      candidates: candidates.map((c) => c.id),
      status: alert.status,
    },
    taking.now,
  );
  if (isNew && alert.status === 'firing') newlyUnmatched.push({ alertname: unnamed ? '' : labels.alertname!, who: whoOf(labels), candidates });
}

/**
 * The installation an alert is about: `installation_id` by id, `installation`
 * by id or exact name, else `instance` ("host:9100", "[::1]:9100", "host") by
 * host or IP. When several fit, the monitored ones are preferred; more than
 * one is ambiguous. When none fits, or several, the installation an admin
 * placed alerts of that source under (in the bot or `dozor alerts route`) takes them.
 */
async function matchInstallation(db: Queryable, labels: Record<string, string>): Promise<Match> {
  const match = await matchByLabels(db, labels);
  if (match.kind === 'one') return match;
  const source = alertSource(labels);
  const route = source ? await findAlertRoute(db, source) : undefined;
  const routed = route ? await findAlertTargets(db, { id: route.installationId }) : [];
  return routed.length === 1 ? { kind: 'one', target: routed[0]! } : match;
}

async function matchByLabels(db: Queryable, labels: Record<string, string>): Promise<Match> {
  const byId = labels.installation_id?.trim();
  const byLabel = labels.installation?.trim();
  const instance = labels.instance?.trim();
  let found: AlertTarget[];
  if (byId) found = /^\d+$/.test(byId) ? await findAlertTargets(db, { id: Number(byId) }) : [];
  else if (byLabel) found = /^\d+$/.test(byLabel) ? await findAlertTargets(db, { id: Number(byLabel) }) : await findAlertTargets(db, { name: byLabel });
  else if (instance) found = await findAlertTargets(db, { address: instanceAddress(instance) });
  else found = [];
  if (found.length === 1) return { kind: 'one', target: found[0]! };
  if (found.length === 0) return { kind: 'none' };
  const monitored = found.filter((t) => t.monitoringEnabled);
  if (monitored.length === 1) return { kind: 'one', target: monitored[0]! };
  return { kind: 'ambiguous', candidates: monitored.length > 0 ? monitored : found };
}

function whoOf(labels: Record<string, string>): string {
  return labels.installation_id ?? labels.installation ?? labels.instance ?? '?';
}

/** One message per admin for the alerts of this webhook that nobody owns and were not seen before. */
async function summariseUnmatched(db: Queryable, alerts: Unmatched[], now: Date): Promise<void> {
  for (const admin of await listActiveAdmins(db)) {
    const t = texts(langOf(admin.language)).notices;
    // A name is shown as sent, control and reordering marks as �: every line goes through `defuse`.
    const lines = alerts.slice(0, NAMED_IN_SUMMARY).map((a) => {
      const [name, who] = [clip(a.alertname), clip(a.who)];
      return defuse(
        !name
          ? t.alertUnnamed(who)
          : a.candidates.length > 0
            ? t.alertAmbiguous(name, who, a.candidates.map((c) => `${placeOf(c.clientName, c.name)} (id ${c.id})`).join('; '))
            : t.alertUnmatched(name, who),
      );
    });
    const text = [t.alertsUnmatchedTitle(alerts.length), ...lines, ...(alerts.length > NAMED_IN_SUMMARY ? [t.alertsUnmatchedMore(alerts.length - NAMED_IN_SUMMARY)] : []), t.alertsUnmatchedHint].join('\n');
    const keyboard = [[{ text: t.alertsUnmatchedButton, data: 'aml' }]];
    await enqueue(db, { kind: NOTICE, chatId: admin.telegramId, incidentId: null, payload: { text, keyboard } }, now);
  }
}

/** A label as a summary line shows it: a name of any length must not push the message past Telegram's 4096 characters. */
function clip(text: string): string {
  const chars = [...text];
  return chars.length > 100 ? `${chars.slice(0, 100).join('')}…` : text;
}

function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
