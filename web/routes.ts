import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.ts';
import { FailureLimiter } from '../core/failure-limiter.ts';
import { listFleet } from '../db/fleet.ts';
import type { DB } from '../db/open.ts';
import { formatSpan, formatWhen } from '../i18n/format.ts';
import { langOf, texts, type Lang } from '../i18n/index.ts';
import { personOfSession, redeemWebLink } from '../registry/web-access.ts';

export interface WebDeps {
  db: DB;
  clock: Clock;
  /** PUBLIC_URL: an https:// one makes the session cookie Secure. */
  publicUrl?: string;
  displayTz: string;
}

const VIEWS = fileURLToPath(new URL('./views/', import.meta.url));
const STYLE = readFileSync(new URL('./views/style.css', import.meta.url), 'utf8');
const COOKIE = 'dozor_session';
/** Nothing inline, nothing from elsewhere: the pages are HTML and one stylesheet of this service. */
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** A report older than this is flagged on the fleet page, as on the card. */
const STALE_REPORT_MS = 6 * 3_600_000;

/**
 * The browser cabinet (личный кабинет): a link from the bot's /web opens a
 * session (a cookie, HttpOnly, SameSite=Lax, Secure behind https), checked on
 * every request with the person's standing; pages are rendered on the server
 * (Eta, every value escaped) and carry no script.
 */
export function webRoutes(deps: WebDeps): FastifyPluginAsync {
  const eta = new Eta({ views: VIEWS, cache: true, autoEscape: true });
  // Unknown or used links from one address: a few are mistakes, many are guessing.
  const refusals = new FailureLimiter(20, 10 * 60_000);
  const secure = deps.publicUrl?.startsWith('https:') ?? false;

  const page = (reply: FastifyReply, status: number, lang: Lang, title: string, body: string, person?: string) =>
    reply.code(status).type('text/html; charset=utf-8').send(eta.render('layout', { lang, title, body, person: person ?? null }));
  const message = (reply: FastifyReply, status: number, lang: Lang, heading: string, text: string) =>
    page(reply, status, lang, heading, eta.render('message', { heading, text }));

  return async (scope) => {
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
      return payload;
    });

    scope.get('/web/style.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(STYLE));

    scope.get('/web/hello', async (_request, reply) => {
      const t = texts('ru').web;
      return message(reply, 200, 'ru', t.helloTitle, t.hello);
    });

    scope.get<{ Querystring: { token?: string } }>('/web/login', async (request, reply) => {
      const t = texts('ru').web;
      const now = deps.clock();
      const token = typeof request.query.token === 'string' ? request.query.token : '';
      const opened = token ? redeemWebLink({ db: deps.db, clock: deps.clock, actor: `web:${request.ip}` }, token) : null;
      if (!opened) {
        // A good link always opens; wrong ones past the limit are answered 429, as the intake answers bad tokens.
        if (!refusals.fail(request.ip, now.getTime())) return message(reply, 403, 'ru', t.refusedTitle, t.linkRefused);
        reply.header('retry-after', String(refusals.retryAfterSeconds(request.ip, now.getTime())));
        return message(reply, 429, 'ru', t.refusedTitle, t.tooMany);
      }
      // The session id travels in the cookie only: the link is spent, and the address bar is clean after the redirect.
      const cookie = [`${COOKIE}=${opened.sessionId}`, 'Path=/web', 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
      return reply.header('set-cookie', cookie).redirect('/web/', 303);
    });

    scope.get('/web/', async (request, reply) => {
      const person = sessionPerson(request, deps);
      if (!person) return reply.redirect('/web/hello', 303);
      const lang = langOf(person.user.language);
      const t = texts(lang).web;
      const now = deps.clock();
      const rows = listFleet(deps.db)
        .map((row) => {
          const age = row.lastReceivedAt ? now.getTime() - row.lastReceivedAt.getTime() : null;
          const verdict = !row.monitoringEnabled ? t.monitoringOff : row.problems > 0 ? t.problems(row.problems) : age === null ? t.noReports : t.ok;
          return {
            rank: row.critical > 0 ? 0 : row.problems > 0 ? 1 : age === null || age > STALE_REPORT_MS ? 2 : 3,
            css: row.critical > 0 ? 'critical' : row.problems > 0 ? 'warning' : row.monitoringEnabled ? '' : 'quiet',
            client: row.clientName,
            installation: row.installationName,
            verdict,
            lastReport: age === null ? t.never : `${formatSpan(lang, age)} (${formatWhen(lang, row.lastReceivedAt!, now, deps.displayTz)})`,
            operap: row.operapDate ?? '',
            version: [row.shellVersion, row.updateNumber].filter((v) => v !== null).join(' · '),
            manager: row.managerName ?? '',
          };
        })
        // Problems first, then what is silent, then the rest; the order of the query within each.
        .sort((a, b) => a.rank - b.rank);
      const body = eta.render('fleet', { t, rows, withProblems: rows.filter((r) => r.rank <= 1).length });
      return page(reply, 200, lang, t.fleetTitle, body, person.user.name);
    });
  };
}

/** The person whose session cookie the request carries, checked now; null without one that is valid. */
function sessionPerson(request: FastifyRequest, deps: WebDeps) {
  const cookie = new RegExp(`(?:^|;\\s*)${COOKIE}=([A-Za-z0-9_-]{20,100})`).exec(request.headers.cookie ?? '')?.[1];
  return cookie ? personOfSession(deps.db, cookie, deps.clock()) : null;
}
