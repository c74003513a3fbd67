import { createHash } from 'node:crypto';
import { ruleNames } from '../rule-name.ts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { InputError } from '../../core/errors.ts';
import { actorOf, canAct } from '../../core/permissions.ts';
import { snoozeEnd } from '../../core/silences.ts';
import { recordAudit } from '../../db/audit.ts';
import { getIncidentViews, lastPutOff, listHolds, type IncidentView } from '../../db/incidents.ts';
import type { DB } from '../../db/open.ts';
import { putOffWitnesses } from '../../incidents/lifecycle.ts';
import { placeOf } from '../../core/vocabulary.ts';
import { searchIndexFor } from '../../db/search-index.ts';
import { incidentsPageVersion, listOpenProblemManagers, listOpenProblems, type OpenProblemFilter } from '../../db/web-incidents.ts';
import { formatSpan, formatUntil, formatWhen } from '../../i18n/format.ts';
import { ruleTitle, texts, type Lang } from '../../i18n/index.ts';
import { acknowledge, snoozeIncident } from '../../registry/incidents.ts';
import { AUTO_RELOAD, type WebKit, type WebSession } from '../kit.ts';
import { holdText } from '../../bot/render/hold.ts';

/** The page reloads itself this often (a meta refresh: no script). */
const REFRESH_SECONDS = 15;
/** At most this many rows: a fleet in a storm has thousands open, and the filters narrow them. */
export const PAGE_LIMIT = 500;

/** What the page is asked for, from its address: anything unknown is simply not a filter. */
interface IncidentsQuery {
  /** The `/status` search: client name, INN, installation or host. */
  q: string;
  /** A manager's Telegram id. */
  manager: string;
  severity: 'critical' | 'warning' | '';
}

function readIncidentsQuery(raw: Record<string, unknown>): IncidentsQuery {
  const text = (value: unknown) => (typeof value === 'string' ? value.trim().slice(0, 200) : '');
  const manager = text(raw.manager);
  const severity = text(raw.severity);
  return {
    q: text(raw.q),
    manager: /^\d{1,15}$/.test(manager) ? manager : '',
    severity: severity === 'critical' || severity === 'warning' ? severity : '',
  };
}

function incidentsQueryString(query: IncidentsQuery, autoReload = false): string {
  const params = new URLSearchParams();
  for (const key of ['q', 'manager', 'severity'] as const) if (query[key]) params.set(key, query[key]);
  if (autoReload) params.set(AUTO_RELOAD, '1');
  const string = params.toString();
  return string ? `?${string}` : '';
}
const OUTCOMES = ['acknowledged', 'already', 'resolved', 'snoozed', 'notSnoozed', 'putOff'] as const;
type Outcome = (typeof OUTCOMES)[number];

/**
 * «Инциденты»: what is open now, worst and oldest first, with the bot's own
 * buttons: acknowledge and snooze act exactly as a press under the alert
 * (the same permission check, audit and lifecycle), and the delivery
 * redraws the Telegram messages to say who took it or put it off.
 */
export function incidentsPage(scope: FastifyInstance, kit: WebKit): void {
  const { deps } = kit;

  scope.get<{ Querystring: Record<string, unknown> }>(
    '/web/incidents',
    kit.signedIn(async (request, reply, session) => {
      const { lang, user } = session;
      const t = texts(lang).web;
      const now = deps.clock();
      const query = readIncidentsQuery(request.query);
      const done = OUTCOMES.find((o) => o === request.query.done);
      const doneId = typeof request.query.id === 'string' && /^\d{1,12}$/.test(request.query.id) ? request.query.id : null;
      // Whatever the page would show now, in one short word: the open tab's reload is answered 304 while it holds.
      // The minute is in it because the ages shown count minutes.
      const version = await incidentsPageVersion(deps.db);
      const tag = `W/"${createHash('sha256')
        .update([version, Math.floor(now.getTime() / 60_000), session.csrf, user.role, lang, incidentsQueryString(query), done ?? '', doneId ?? ''].join('\u0000'))
        .digest('base64url')
        .slice(0, 27)}"`;
      reply.header('etag', tag).header('cache-control', 'private, no-cache');
      if (request.headers['if-none-match'] === tag) return reply.code(304).send();

      const filter: OpenProblemFilter = {
        managerId: query.manager ? Number(query.manager) : null,
        severity: query.severity || null,
        clientIds: query.q ? [...new Set((await searchIndexFor(deps.db)).search(query.q).map((hit) => hit.clientId))] : null,
      };
      const { ids, total } = await listOpenProblems(deps.db, filter, PAGE_LIMIT);
      const byId = new Map((await getIncidentViews(deps.db, ids)).map((view) => [view.incident.id, view]));
      const views = ids.map((id) => byId.get(id)).filter((view): view is IncidentView => view !== undefined);
      const holds = await listHolds(deps.db, views.map((view) => ({ ...view.incident, clientId: view.clientId })), now);
      const rows = views.map((view) => {
        const snoozed = view.snoozedUntil && view.snoozedUntil > now ? t.snoozedUntil(formatUntil(lang, view.snoozedUntil, now, deps.displayTz), view.snoozedByName ?? '?') : '';
        const hold = holds.get(view.incident.id);
        return {
          id: view.incident.id,
          severity: view.incident.severity,
          severityWord: texts(lang).severityWord[view.incident.severity] ?? view.incident.severity,
          installationId: view.incident.installationId,
          where: placeOf(view.clientName, view.installationName),
          title: ruleTitle(lang, view.incident.ruleId),
          ruleNames: ruleNames(lang, view.incident.ruleId, view.incident.details),
          age: formatSpan(lang, now.getTime() - view.incident.openedAt.getTime()),
          openedAt: formatWhen(lang, view.incident.openedAt, now, deps.displayTz),
          manager: view.managerName ?? '',
          acknowledged:
            view.incident.status === 'acknowledged' && view.incident.acknowledgedAt
              ? t.acknowledgedBy(view.acknowledgedByName ?? '?', formatWhen(lang, view.incident.acknowledgedAt, now, deps.displayTz))
              : '',
          snoozed,
          // Never announced: what holds it (a snooze already says until when).
          held: hold && !(hold.by === 'silence' && snoozed) ? holdText(hold, lang, now, deps.displayTz) : '',
          mayAct: canAct(user, view),
          open: view.incident.status === 'open',
        };
      });
      const body = kit.eta.render('incidents', {
        t,
        rows,
        total,
        query,
        managers: await listOpenProblemManagers(deps.db),
        filtered: query.q !== '' || query.manager !== '' || query.severity !== '',
        csrf: session.csrf,
        notice: done && doneId ? ((done === 'putOff' ? await putOffNotice(deps.db, lang, doneId, now, deps.displayTz) : null) ?? t.outcome[done === 'putOff' ? 'snoozed' : done](doneId)) : null,
        refreshSeconds: REFRESH_SECONDS,
      });
      // The reload keeps the filters and says it is one (it does not count as the person's use of the session).
      const refresh = `/web/incidents${incidentsQueryString(query, true)}`;
      return kit.page(reply, 200, lang, t.incidentsTitle, body, { session, refresh: { seconds: REFRESH_SECONDS, to: refresh }, current: 'incidents' });
    }),
  );

  scope.post<{ Params: { id: string } }>(
    '/web/incidents/:id/ack',
    kit.signedIn(async (request, reply, session) => {
      const view = await actionable(kit, request.params.id, request.body, session, reply, 'incident.acknowledge');
      if (!view) return reply;
      if (view.incident.status === 'resolved') return back(reply, 'resolved', view);
      const result = await closedMeanwhile(() => acknowledge({ db: deps.db, clock: deps.clock, actor: actorOf(session.user.telegramId) }, view.incident.id));
      if (!result) return back(reply, 'resolved', view);
      deps.onIncidentChange?.();
      return back(reply, result.outcome, view);
    }),
  );

  scope.post<{ Params: { id: string } }>(
    '/web/incidents/:id/snooze',
    kit.signedIn(async (request, reply, session) => {
      const view = await actionable(kit, request.params.id, request.body, session, reply, 'incident.snooze');
      if (!view) return reply;
      if (view.incident.status === 'resolved') return back(reply, 'resolved', view);
      const body = request.body as Record<string, unknown>;
      const choice = body.until === 'morning' ? 'morning' : 'hour';
      const endsAt = snoozeEnd(choice, deps.clock(), deps.displayTz, deps.morningHour);
      const actor = actorOf(session.user.telegramId);
      // A critical put off till morning is the overslept key of the field: asked again, as the bot asks, naming who will be told.
      if (choice === 'morning' && view.incident.severity === 'critical' && body.confirm !== '1') {
        const t = texts(session.lang);
        const untilText = formatUntil(session.lang, endsAt, deps.clock(), deps.displayTz);
        const title = ruleTitle(session.lang, view.incident.ruleId);
        const page = kit.eta.render('confirm-snooze', {
          heading: t.web.confirmSnoozeTitle,
          what: `${title} — ${placeOf(view.clientName, view.installationName)}`,
          question: t.confirmCriticalSnooze(title, untilText, t.putOffTold(await putOffWitnesses(deps.db, view.clientId, actor))),
          yes: t.confirmCriticalSnoozeYes(untilText),
          no: t.confirmCriticalSnoozeNo,
          id: view.incident.id,
          csrf: session.csrf,
        });
        return kit.page(reply, 200, session.lang, t.web.confirmSnoozeTitle, page, { session, current: 'incidents' });
      }
      const snoozed = await closedMeanwhile(() =>
        snoozeIncident({ db: deps.db, clock: deps.clock, actor }, view.incident.id, {
          endsAt,
          reason: texts(session.lang).web.snoozeReason(view.incident.id),
          tz: deps.displayTz,
          tillMorning: choice === 'morning',
        }).then(() => true),
      );
      if (snoozed === null) return back(reply, 'resolved', view);
      deps.onIncidentChange?.();
      // A critical put off is said with until when and who was told, as the bot says it.
      return back(reply, view.incident.severity === 'critical' && choice === 'morning' ? 'putOff' : 'snoozed', view);
    }),
  );
}

/** «Инцидент №5 отложен до 09:00 завтра. Руководитель узнает: …», from the incident's history (null: it has none). */
async function putOffNotice(db: DB, lang: Lang, id: string, now: Date, tz: string): Promise<string | null> {
  const putOff = await lastPutOff(db, Number(id));
  if (!putOff) return null;
  const t = texts(lang);
  return t.web.putOff(id, formatUntil(lang, putOff.until, now, tz), t.putOffTold(putOff.told));
}

/** What an action gave, or null when the incident was resolved meanwhile (by the sweep, or at the command line). */
async function closedMeanwhile<T>(act: () => Promise<T>): Promise<T | null> {
  try {
    return await act();
  } catch (err) {
    if (err instanceof InputError && err.code === 'incidentResolved') return null;
    throw err;
  }
}

/** Back to the list, saying what happened (Post/Redirect/Get: a reload repeats nothing). */
function back(reply: FastifyReply, outcome: Outcome, view: IncidentView) {
  return reply.redirect(`/web/incidents?done=${outcome}&id=${view.incident.id}#incident-${view.incident.id}`, 303);
}

/**
 * The incident a form acts on, if the form is this session's own and the
 * person may act on it now (as the bot checks a button: the client's current
 * manager, their lead, admins); a refusal is answered and audited.
 */
async function actionable(kit: WebKit, rawId: string, body: unknown, session: WebSession, reply: FastifyReply, action: string): Promise<IncidentView | null> {
  const { deps } = kit;
  const t = texts(session.lang).web;
  if (!kit.formIsOurs(session, body)) {
    await kit.message(reply, 403, session.lang, t.refusedTitle, t.formExpired, session);
    return null;
  }
  const [view] = /^\d{1,12}$/.test(rawId) ? await getIncidentViews(deps.db, [Number(rawId)]) : [];
  if (!view) {
    await kit.message(reply, 404, session.lang, t.notFoundTitle, t.incidentNotFound, session);
    return null;
  }
  if (!canAct(session.user, view)) {
    await recordAudit(deps.db, { at: deps.clock(), actor: actorOf(session.user.telegramId), action: `${action}.denied`, subjectType: 'incident', subjectId: view.incident.id });
    await kit.message(reply, 403, session.lang, t.refusedTitle, texts(session.lang).forbidden, session);
    return null;
  }
  return view;
}
