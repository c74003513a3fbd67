import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkTakeLink, type TakeLink } from '../../core/take-link.ts';
import { failureCounter } from '../../db/failure-counts.ts';
import { getIncidentViews, type IncidentView } from '../../db/incidents.ts';
import { ruleTitle, texts, type Lang } from '../../i18n/index.ts';
import { acknowledgeByMailLink } from '../../registry/incidents.ts';
import { placeOf } from '../../core/vocabulary.ts';
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
    request.log.warn({ address: request.ip }, 'a «Беру» link this service did not sign (mangled by a mail client, or made up)');
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
    const what = whatOf(view, lang);
    if (view.incident.status === 'resolved') return kit.message(reply, 410, lang, t.takeTitle, t.takeResolved(what));
    const body = kit.eta.render('take', {
      heading: t.takeTitle,
      what,
      text: view.incident.status === 'acknowledged' ? t.takeAlreadyShort(view.acknowledgedByName ?? '') : t.takeAsk,
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
        return kit.message(reply, 200, lang, t.takeTitle, t.takeDone(view ? whatOf(view, lang) : `№${link.incidentId}`));
      }
      case 'already': {
        const [view] = await getIncidentViews(deps.db, [link.incidentId]);
        return kit.message(reply, 409, lang, t.takeTitle, t.takeAlready(view ? whatOf(view, lang) : `№${link.incidentId}`, view?.acknowledgedByName ?? ''));
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

/** The alert as the page names it: the problem, then where («Ключ SenseLock не виден — ООО «Ромашка» · Сервер офиса»). */
function whatOf(view: IncidentView, lang: Lang): string {
  return `${ruleTitle(lang, view.incident.ruleId)} — ${placeOf(view.clientName, view.installationName)}`;
}
