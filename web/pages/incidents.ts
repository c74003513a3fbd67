import type { FastifyInstance, FastifyReply } from 'fastify';
import { InputError } from '../../core/errors.ts';
import { actorOf, canAct } from '../../core/permissions.ts';
import { snoozeEnd } from '../../core/silences.ts';
import { recordAudit } from '../../db/audit.ts';
import { listActiveIncidentIds } from '../../db/digest.ts';
import { getIncidentViews, type IncidentView } from '../../db/incidents.ts';
import { formatSpan, formatWhen } from '../../i18n/format.ts';
import { ruleTitle, texts } from '../../i18n/index.ts';
import { acknowledge, snoozeIncident } from '../../registry/incidents.ts';
import type { WebKit, WebSession } from '../kit.ts';

/** The page reloads itself this often (a meta refresh: no script). */
const REFRESH_SECONDS = 15;
const OUTCOMES = ['acknowledged', 'already', 'resolved', 'snoozed'] as const;
type Outcome = (typeof OUTCOMES)[number];

/**
 * «Инциденты»: what is open now, worst and oldest first, with the bot's own
 * buttons: acknowledge and snooze act exactly as a press under the alert
 * (the same permission check, audit and lifecycle), and the delivery
 * redraws the Telegram messages to say who took it or put it off.
 */
export function incidentsPage(scope: FastifyInstance, kit: WebKit): void {
  const { deps } = kit;

  scope.get<{ Querystring: { done?: string; id?: string } }>(
    '/web/incidents',
    kit.signedIn(async (request, reply, session) => {
      const { lang, user } = session;
      const t = texts(lang).web;
      const now = deps.clock();
      // Problems only: notices (licence terms, maintenance) are never an emergency, and a fleet has many.
      const views = getIncidentViews(deps.db, listActiveIncidentIds(deps.db, { key: 'all', clientIds: null }, [], false));
      views.sort((a, b) => severityOrder(a) - severityOrder(b) || a.incident.openedAt.getTime() - b.incident.openedAt.getTime());
      const done = OUTCOMES.find((o) => o === request.query.done);
      const doneId = /^\d{1,12}$/.test(request.query.id ?? '') ? request.query.id! : null;
      const rows = views.map((view) => {
        return {
          id: view.incident.id,
          severity: view.incident.severity,
          severityWord: texts(lang).severityWord[view.incident.severity] ?? view.incident.severity,
          installationId: view.incident.installationId,
          client: view.clientName,
          installation: view.installationName,
          title: ruleTitle(lang, view.incident.ruleId),
          age: formatSpan(lang, now.getTime() - view.incident.openedAt.getTime()),
          openedAt: formatWhen(lang, view.incident.openedAt, now, deps.displayTz),
          manager: view.managerName ?? '',
          acknowledged:
            view.incident.status === 'acknowledged' && view.incident.acknowledgedAt
              ? t.acknowledgedBy(view.acknowledgedByName ?? '?', formatWhen(lang, view.incident.acknowledgedAt, now, deps.displayTz))
              : '',
          snoozed: view.snoozedUntil && view.snoozedUntil > now ? t.snoozedUntil(formatWhen(lang, view.snoozedUntil, now, deps.displayTz), view.snoozedByName ?? '?') : '',
          mayAct: canAct(user, view),
          open: view.incident.status === 'open',
        };
      });
      const body = kit.eta.render('incidents', {
        t,
        rows,
        csrf: session.csrf,
        notice: done && doneId ? t.outcome[done](doneId) : null,
        refreshSeconds: REFRESH_SECONDS,
      });
      return kit.page(reply, 200, lang, t.incidentsTitle, body, { person: user.name, refresh: { seconds: REFRESH_SECONDS, to: '/web/incidents' }, current: 'incidents' });
    }),
  );

  scope.post<{ Params: { id: string } }>(
    '/web/incidents/:id/ack',
    kit.signedIn(async (request, reply, session) => {
      const view = await actionable(kit, request.params.id, request.body, session, reply, 'incident.acknowledge');
      if (!view) return reply;
      if (view.incident.status === 'resolved') return back(reply, 'resolved', view);
      const result = closedMeanwhile(() => acknowledge({ db: deps.db, clock: deps.clock, actor: actorOf(session.user.telegramId) }, view.incident.id));
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
      const choice = (request.body as Record<string, unknown>).until === 'morning' ? 'morning' : 'hour';
      const snoozed = closedMeanwhile(() =>
        snoozeIncident({ db: deps.db, clock: deps.clock, actor: actorOf(session.user.telegramId) }, view.incident.id, {
          endsAt: snoozeEnd(choice, deps.clock(), deps.displayTz, deps.morningHour),
          reason: texts(session.lang).web.snoozeReason(view.incident.id),
          tz: deps.displayTz,
        }),
      );
      if (snoozed === null) return back(reply, 'resolved', view);
      deps.onIncidentChange?.();
      return back(reply, 'snoozed', view);
    }),
  );
}

/** What an action gave, or null when the incident was resolved meanwhile (by the sweep, or at the command line). */
function closedMeanwhile<T>(act: () => T): T | null {
  try {
    return act();
  } catch (err) {
    if (err instanceof InputError && err.code === 'incidentResolved') return null;
    throw err;
  }
}

/** Critical first, then warnings; open before acknowledged. */
function severityOrder(view: IncidentView): number {
  return (view.incident.severity === 'critical' ? 0 : 2) + (view.incident.status === 'open' ? 0 : 1);
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
    await kit.message(reply, 403, session.lang, t.refusedTitle, t.formExpired, session.user.name);
    return null;
  }
  const [view] = /^\d{1,12}$/.test(rawId) ? getIncidentViews(deps.db, [Number(rawId)]) : [];
  if (!view) {
    await kit.message(reply, 404, session.lang, t.notFoundTitle, t.incidentNotFound, session.user.name);
    return null;
  }
  if (!canAct(session.user, view)) {
    recordAudit(deps.db, { at: deps.clock(), actor: actorOf(session.user.telegramId), action: `${action}.denied`, subjectType: 'incident', subjectId: view.incident.id });
    await kit.message(reply, 403, session.lang, t.refusedTitle, texts(session.lang).forbidden, session.user.name);
    return null;
  }
  return view;
}
