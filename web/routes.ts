import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';
import { failureCounter } from '../db/failure-counts.ts';
import { texts } from '../i18n/index.ts';
import { actorOf } from '../core/permissions.ts';
import { endSession, redeemWebLink } from '../registry/web-access.ts';
import { browserLang, SESSION_COOKIE, WebKit, type WebDeps } from './kit.ts';
import { fleetPage } from './pages/fleet.ts';
import { incidentsPage } from './pages/incidents.ts';
import { installationPage } from './pages/installation.ts';
import { reportsPage } from './pages/reports.ts';
import { takePage } from './pages/take.ts';

const STYLE = readFileSync(new URL('./views/style.css', import.meta.url), 'utf8');
/** Nothing inline, nothing from elsewhere: the pages are HTML, one stylesheet and charts of this service. */
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** Forms are small: a token and a choice or two. */
const FORM_LIMIT = 4096;

/**
 * The browser cabinet (личный кабинет): a link from the bot's /web opens a
 * session (a cookie, HttpOnly, SameSite=Lax, Secure behind https), checked on
 * every request with the person's standing; pages are rendered on the server
 * (Eta, every value escaped) and carry no script.
 */
export function webRoutes(deps: WebDeps): FastifyPluginAsync {
  const kit = new WebKit(deps);
  // Unknown or used links from one address: a few are mistakes, many are guessing.
  const refusals = failureCounter(deps.db, 'web-link', 20, 10 * 60_000);
  const secure = deps.publicUrl?.startsWith('https:') ?? false;

  return async (scope) => {
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
      // Nothing is kept by the browser, unless a page says how it is revalidated (the incidents page's ETag).
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      return payload;
    });
    // The pages' forms (acknowledge, snooze, agent script) post urlencoded fields.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });

    scope.get('/web/style.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(STYLE));

    scope.get('/web/hello', async (request, reply) => {
      const lang = browserLang(request);
      const t = texts(lang).web;
      return kit.message(reply, 200, lang, t.helloTitle, t.hello);
    });

    scope.get('/web/bye', async (request, reply) => {
      const lang = browserLang(request);
      const t = texts(lang).web;
      return kit.message(reply, 200, lang, t.signedOutTitle, t.signedOut);
    });

    // «Выйти»: a form with the session's token (a link could be followed by another site), ending the session itself.
    scope.post(
      '/web/logout',
      kit.signedIn(async (request, reply, session) => {
        const t = texts(session.lang).web;
        if (!kit.formIsOurs(session, request.body)) return kit.message(reply, 403, session.lang, t.refusedTitle, t.formExpired, session);
        await endSession({ db: deps.db, clock: deps.clock, actor: actorOf(session.user.telegramId) }, session.sessionId, session.user.telegramId);
        const cleared = [`${SESSION_COOKIE}=`, 'Path=/web', 'Max-Age=0', 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
        // The pages kept for revalidation (the incidents page) go from the browser's cache too.
        return reply.header('set-cookie', cleared).header('clear-site-data', '"cache"').redirect('/web/bye', 303);
      }),
    );

    scope.get<{ Querystring: { token?: string } }>('/web/login', async (request, reply) => {
      const lang = browserLang(request);
      const t = texts(lang).web;
      const now = deps.clock();
      const token = typeof request.query.token === 'string' ? request.query.token : '';
      const opened = token ? await redeemWebLink({ db: deps.db, clock: deps.clock, actor: `web:${request.ip}` }, token) : null;
      if (!opened) {
        // A good link always opens; wrong ones past the limit are answered 429, as the intake answers bad tokens.
        const verdict = await refusals.fail(request.ip, now.getTime());
        if (!verdict.over) return kit.message(reply, 403, lang, t.refusedTitle, t.linkRefused);
        reply.header('retry-after', String(verdict.retryAfterSeconds));
        return kit.message(reply, 429, lang, t.refusedTitle, t.tooMany);
      }
      // The session id travels in the cookie only: the link is spent, and the address bar is clean after the redirect.
      const cookie = [`${SESSION_COOKIE}=${opened.sessionId}`, 'Path=/web', 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
      return reply.header('set-cookie', cookie).redirect('/web/', 303);
    });

    fleetPage(scope, kit);
    incidentsPage(scope, kit);
    installationPage(scope, kit);
    reportsPage(scope, kit);
    takePage(scope, kit);
  };
}
