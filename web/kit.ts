import { timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest, RouteGenericInterface } from 'fastify';
import type { Clock } from '../core/clock.ts';
import type { DB } from '../db/open.ts';
import type { User } from '../db/users.ts';
import { langOf, texts, type Lang } from '../i18n/index.ts';
import { personOfSession } from '../registry/web-access.ts';

/** What the cabinet needs of the service's settings. */
export interface WebSettings {
  displayTz: string;
  /** PUBLIC_URL: where agents reach us; an https:// one makes the session cookie Secure. */
  publicUrl?: string;
  /** The hour "until morning" snoozes end, as the bot's button. */
  morningHour: number;
  /** Signs the links that download an installation's sysinfo. */
  downloadKey?: Buffer;
  /** Signs the «Беру» links of alert mails (core/take-link.ts). */
  takeLinkKey?: Buffer;
  /** SECRET_KEY: agent scripts for installations that upload carry an encrypted token. */
  secretKey?: string;
  /** WEB_SESSION_MAX: a session ends this long after it opened, however busy. */
  sessionMaxMs?: number;
  /** Whether the sysinfo mapping in force reads licence end dates (unknown: not said), to say why a view has none. */
  sysinfoReadsLicences?: boolean;
}

export interface WebDeps extends WebSettings {
  db: DB;
  clock: Clock;
  /** Wakes the delivery: an acknowledgement on a page edits the Telegram messages too. */
  onIncidentChange?: () => void;
}

/** The signed-in person on a request, in their language. */
export interface WebSession {
  user: User;
  csrf: string;
  lang: Lang;
  /** The cookie's secret, to end the session on «Выйти». */
  sessionId: string;
}

export const SESSION_COOKIE = 'dozor_session';
/** The query parameter a page's own reload carries (a meta refresh: the page has no script to say so otherwise). */
export const AUTO_RELOAD = 'auto';
const VIEWS = fileURLToPath(new URL('./views/', import.meta.url));
const SESSION_IN_COOKIES = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([A-Za-z0-9_-]{20,100})`);

export type WebHandler<Q extends RouteGenericInterface> = (request: FastifyRequest<Q>, reply: FastifyReply, session: WebSession) => Promise<unknown>;

/** What every page is made with: the templates, the layout, and the session check. */
export class WebKit {
  readonly eta = new Eta({ views: VIEWS, cache: true, autoEscape: true });

  constructor(readonly deps: WebDeps) {}

  /** A whole page: the layout (navigation, who is signed in, «Выйти») around a rendered body. */
  page(reply: FastifyReply, status: number, lang: Lang, title: string, body: string, options: { session?: WebSession; refresh?: { seconds: number; to: string }; current?: string } = {}) {
    // A refresh goes to a fixed address: a notice in the query string ("taken") is not shown again and again.
    const layout = {
      lang,
      title,
      body,
      t: texts(lang).web,
      person: options.session?.user.name ?? null,
      csrf: options.session?.csrf ?? null,
      refresh: options.refresh ?? null,
      current: options.current ?? null,
    };
    return reply.code(status).type('text/html; charset=utf-8').send(this.eta.render('layout', layout));
  }

  /** A short page that says one thing (refused, not found, sign in). */
  message(reply: FastifyReply, status: number, lang: Lang, heading: string, text: string, session?: WebSession) {
    return this.page(reply, status, lang, heading, this.eta.render('message', { heading, text }), session ? { session } : {});
  }

  /**
   * A handler for signed-in people only: the session cookie is checked on
   * this very request (a disabled person, an idle or too old session opens
   * nothing) and without one the browser goes to the page that says how to
   * sign in. A page reloading itself (`auto=1` in its address) is not the
   * person's use: it does not keep the session from going idle.
   */
  signedIn<Q extends RouteGenericInterface>(handler: WebHandler<Q>) {
    return async (request: FastifyRequest<Q>, reply: FastifyReply) => {
      const id = SESSION_IN_COOKIES.exec(request.headers.cookie ?? '')?.[1];
      const byPerson = (request.query as Record<string, unknown> | undefined)?.[AUTO_RELOAD] !== '1';
      const found = id ? await personOfSession(this.deps.db, id, this.deps.clock(), { byPerson, ...(this.deps.sessionMaxMs ? { maxMs: this.deps.sessionMaxMs } : {}) }) : null;
      if (!found || !id) return reply.redirect('/web/hello', 303);
      return handler(request, reply, { ...found, lang: langOf(found.user.language), sessionId: id });
    };
  }

  /** Whether a form came with the session's own token (so not from another site). */
  formIsOurs(session: WebSession, body: unknown): boolean {
    const sent = body && typeof body === 'object' && 'csrf' in body && typeof body.csrf === 'string' ? body.csrf : '';
    const a = Buffer.from(sent);
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/** The language of someone not signed in: their browser's first choice. */
export function browserLang(request: FastifyRequest): Lang {
  return langOf(request.headers['accept-language']?.split(',')[0]);
}
