import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkTakeLink, type TakeLink } from '../../core/take-link.ts';
import { failureCounter } from '../../db/failure-counts.ts';
import { getIncidentViews } from '../../db/incidents.ts';
import { ruleTitle, texts, type Lang } from '../../i18n/index.ts';
import { acknowledgeByMailLink } from '../../registry/incidents.ts';
import { browserLang, type WebKit } from '../kit.ts';

type TakeQuery = { i?: string; u?: string; s?: string };

/**
 * The «Беру» link of an alert mail. Opening it (GET) only asks: mail
 * services open links to scan them, and a scan must take nothing. The
 * button on that page (POST, the same signed fields) acknowledges the
 * incident for the person the mail was for, once; no session is needed, the
 * signature is the proof.
 */
export function takePage(scope: FastifyInstance, kit: WebKit): void {
  const { deps } = kit;
  // Forged links from one address: a few are mangled by a mail client, many are guessing.
  const refusals = failureCounter(deps.db, 'take-link', 20, 10 * 60_000);

  const signed = async (request: FastifyRequest, reply: FastifyReply, fields: TakeQuery, lang: Lang): Promise<TakeLink | null> => {
    const t = texts(lang).web;
    const link = deps.takeLinkKey ? checkTakeLink(deps.takeLinkKey, fields) : null;
    if (link) return link;
    const verdict = await refusals.fail(request.ip, deps.clock().getTime());
    if (!verdict.over) await kit.message(reply, 403, lang, t.refusedTitle, t.takeRefused);
    else {
      reply.header('retry-after', String(verdict.retryAfterSeconds));
      await kit.message(reply, 429, lang, t.refusedTitle, t.tooMany);
    }
    return null;
  };

  scope.get<{ Querystring: TakeQuery }>('/web/take', async (request, reply) => {
    const lang = browserLang(request);
    const t = texts(lang).web;
    const link = await signed(request, reply, request.query, lang);
    if (!link) return reply;
    const [view] = await getIncidentViews(deps.db, [link.incidentId]);
    if (!view) return kit.message(reply, 404, lang, t.notFoundTitle, t.incidentNotFound);
    const what = `${ruleTitle(lang, view.incident.ruleId)} — ${view.clientName} · ${view.installationName}`;
    if (view.incident.status === 'resolved') return kit.message(reply, 410, lang, t.takeTitle, t.takeResolved(what));
    const body = kit.eta.render('take', {
      heading: t.takeTitle,
      text: view.incident.status === 'acknowledged' ? t.takeAlready(what, view.acknowledgedByName ?? '') : t.takeAsk(what),
      form: view.incident.status === 'open' ? { i: String(link.incidentId), u: String(link.personId), s: request.query.s } : null,
      button: texts(lang).mail.take,
      hint: t.takeHint,
    });
    return kit.page(reply, 200, lang, t.takeTitle, body);
  });

  scope.post('/web/take', async (request, reply) => {
    const lang = browserLang(request);
    const t = texts(lang).web;
    const link = await signed(request, reply, (request.body ?? {}) as TakeQuery, lang);
    if (!link) return reply;
    const result = await acknowledgeByMailLink({ db: deps.db, clock: deps.clock }, link);
    switch (result.outcome) {
      case 'acknowledged': {
        deps.onIncidentChange?.();
        const [view] = await getIncidentViews(deps.db, [link.incidentId]);
        return kit.message(reply, 200, lang, t.takeTitle, t.takeDone(view ? `${ruleTitle(lang, view.incident.ruleId)} — ${view.clientName} · ${view.installationName}` : `№${link.incidentId}`));
      }
      case 'already': {
        const [view] = await getIncidentViews(deps.db, [link.incidentId]);
        return kit.message(reply, 409, lang, t.takeTitle, t.takeAlready(view ? `${ruleTitle(lang, view.incident.ruleId)} — ${view.clientName} · ${view.installationName}` : `№${link.incidentId}`, view?.acknowledgedByName ?? ''));
      }
      case 'used':
        return kit.message(reply, 409, lang, t.takeTitle, t.takeUsed);
      case 'resolved':
        return kit.message(reply, 410, lang, t.takeTitle, t.takeResolved(`№${link.incidentId}`));
      case 'forbidden':
        return kit.message(reply, 403, lang, t.refusedTitle, texts(lang).forbidden);
      case 'notFound':
        return kit.message(reply, 404, lang, t.notFoundTitle, t.incidentNotFound);
    }
  });
}
