import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.ts';
import { FailureLimiter } from '../core/failure-limiter.ts';
import { listFleet, type FleetRow } from '../db/fleet.ts';
import { searchIndexFor } from '../db/search-index.ts';
import { csvField, fleetQueryString, fleetView, readFleetQuery, type RankedRow, type SortKey } from './fleet-view.ts';
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

    scope.get<{ Querystring: Record<string, unknown> }>('/web/', async (request, reply) => {
      const person = sessionPerson(request, deps);
      if (!person) return reply.redirect('/web/hello', 303);
      const lang = langOf(person.user.language);
      const t = texts(lang);
      const now = deps.clock();
      const query = readFleetQuery(request.query);
      const all = rankedFleet(deps.db, now);
      const shown = fleetView(all, query, matchedClients(deps.db, query.q));
      const options = (pick: (row: FleetRow) => string | null) => [...new Set(all.map((r) => pick(r.row)).filter((v): v is string => !!v))].sort();
      const body = eta.render('fleet', {
        t: t.web,
        kinds: t.installationKinds,
        query,
        sortLink: (key: SortKey) => `/web/${fleetQueryString(query, { sort: key, desc: query.sort === key ? !query.desc : false })}`,
        csvLink: `/web/fleet.csv${fleetQueryString(query)}`,
        managers: options((row) => row.managerName),
        providers: options((row) => row.provider),
        total: all.length,
        withProblems: all.filter((r) => r.rank <= 2).length,
        rows: shown.map(({ row, rank }) => fleetCells(row, rank, lang, now, deps.displayTz)),
      });
      return page(reply, 200, lang, t.web.fleetTitle, body, person.user.name);
    });

    // The view as CSV, for a spreadsheet: the same filters and order as the page.
    scope.get<{ Querystring: Record<string, unknown> }>('/web/fleet.csv', async (request, reply) => {
      const person = sessionPerson(request, deps);
      if (!person) return reply.redirect('/web/hello', 303);
      const lang = langOf(person.user.language);
      const t = texts(lang).web;
      const now = deps.clock();
      const query = readFleetQuery(request.query);
      const shown = fleetView(rankedFleet(deps.db, now), query, matchedClients(deps.db, query.q));
      const lines = [[t.client, t.installation, t.verdict, t.lastReport, t.operap, t.version, t.manager].map(csvField).join(';')];
      for (const { row, rank } of shown) {
        const cells = fleetCells(row, rank, lang, now, deps.displayTz);
        lines.push([cells.client, cells.installation, cells.verdict, row.lastReceivedAt?.toISOString() ?? '', cells.operap, cells.version, cells.manager].map(csvField).join(';'));
      }
      // A byte order mark, so a spreadsheet reads it as UTF-8.
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="dozor-fleet.csv"')
        .send(`\uFEFF${lines.join('\r\n')}\r\n`);
    });
  };
}

/** Every installation with how bad it is: critical, other problems, silent (or never reported), fine. */
function rankedFleet(db: DB, now: Date): RankedRow[] {
  return listFleet(db).map((row) => {
    const age = row.lastReceivedAt ? now.getTime() - row.lastReceivedAt.getTime() : null;
    const rank = row.critical > 0 ? 0 : row.problems > 0 ? 1 : row.monitoringEnabled && (age === null || age > STALE_REPORT_MS) ? 2 : 3;
    return { row, rank };
  });
}

/** The clients the `/status` search finds for the query (null: no search asked). */
function matchedClients(db: DB, q: string): ReadonlySet<number> | null {
  return q ? new Set(searchIndexFor(db).search(q).map((hit) => hit.clientId)) : null;
}

/** A row as the page and the CSV show it. */
function fleetCells(row: FleetRow, rank: number, lang: Lang, now: Date, tz: string) {
  const t = texts(lang).web;
  const age = row.lastReceivedAt ? now.getTime() - row.lastReceivedAt.getTime() : null;
  return {
    css: rank === 0 ? 'critical' : rank === 1 ? 'warning' : row.monitoringEnabled ? (rank === 2 ? 'silent' : '') : 'quiet',
    client: row.clientName,
    installation: row.installationName,
    verdict: !row.monitoringEnabled ? t.monitoringOff : row.problems > 0 ? t.problems(row.problems) : age === null ? t.noReports : t.ok,
    lastReport: age === null ? t.never : `${formatSpan(lang, age)} (${formatWhen(lang, row.lastReceivedAt!, now, tz)})`,
    operap: row.operapDate ?? '',
    version: [row.shellVersion, row.updateNumber].filter((v) => v !== null).join(' · '),
    manager: row.managerName ?? '',
  };
}

/** The person whose session cookie the request carries, checked now; null without one that is valid. */
function sessionPerson(request: FastifyRequest, deps: WebDeps) {
  const cookie = new RegExp(`(?:^|;\\s*)${COOKIE}=([A-Za-z0-9_-]{20,100})`).exec(request.headers.cookie ?? '')?.[1];
  return cookie ? personOfSession(deps.db, cookie, deps.clock()) : null;
}
