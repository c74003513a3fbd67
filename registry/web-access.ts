import { createHash, createHmac, randomBytes } from 'node:crypto';
import { actorOf } from '../core/permissions.ts';
import { recordAudit } from '../db/audit.ts';
import type { Queryable } from '../db/open.ts';
import { writeTransaction } from '../db/transaction.ts';
import { getUser, type User } from '../db/users.ts';
import { endWebSession, getWebLink, getWebSession, insertWebLink, insertWebSession, touchWebSession, useWebLink } from '../db/web-sessions.ts';
import type { RegistryContext } from './context.ts';

/** A link from the bot works this long, once. */
export const WEB_LINK_MS = 10 * 60_000;
/** A session nobody used this long is over. */
export const WEB_IDLE_MS = 12 * 3_600_000;
/** A session is over this long after it opened, however busy (WEB_SESSION_MAX). */
export const WEB_SESSION_MAX_MS = 7 * 86_400_000;
/** How stale a session's last-seen time may get before a request writes it again (fewer writes). */
const TOUCH_EVERY_MS = 60_000;

const hash = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');
/**
 * A session's form token, derived from the cookie's secret rather than kept:
 * the database holds nothing that would let a reader of it forge a form.
 */
const csrfOf = (sessionId: string) => createHmac('sha256', sessionId).update('dozor web form', 'utf8').digest('base64url');
const secret = () => randomBytes(32).toString('base64url');

/** A one-time link's token for an active staff member: only its hash is kept. */
export async function issueWebLink(ctx: RegistryContext, userId: number): Promise<string | null> {
  return writeTransaction(ctx.db, async (tx) => {
    const user = await getUser(tx, userId);
    if (!user?.active) return null;
    const token = secret();
    const now = ctx.clock();
    await insertWebLink(tx, { tokenHash: hash(token), userId, createdAt: now, expiresAt: new Date(now.getTime() + WEB_LINK_MS) });
    await recordAudit(tx, { at: now, actor: ctx.actor, action: 'web.link', subjectType: 'user', subjectId: userId });
    return token;
  });
}

/**
 * Open a session with a link's token: once, before it expires, for a person
 * still active. Null when the link does not open one (unknown, used, expired,
 * the person disabled); the cookie and form token otherwise.
 */
export async function redeemWebLink(ctx: RegistryContext, token: string): Promise<{ sessionId: string; csrf: string; user: User } | null> {
  return writeTransaction(ctx.db, async (tx) => {
    const now = ctx.clock();
    const link = await getWebLink(tx, hash(token));
    const user = link ? await getUser(tx, link.userId) : undefined;
    if (!link || !user?.active || link.usedAt || link.expiresAt.getTime() <= now.getTime() || !(await useWebLink(tx, link.tokenHash, now))) {
      await recordAudit(tx, { at: now, actor: ctx.actor, action: 'web.login.refused', subjectType: 'web-link', subjectId: link ? String(link.userId) : null });
      return null;
    }
    const sessionId = secret();
    await insertWebSession(tx, { idHash: hash(sessionId), userId: user.telegramId, createdAt: now, lastSeenAt: now });
    await recordAudit(tx, { at: now, actor: actorOf(user.telegramId), action: 'web.login', subjectType: 'user', subjectId: user.telegramId });
    return { sessionId, csrf: csrfOf(sessionId), user };
  });
}

export interface SessionCheck {
  /** WEB_SESSION_MAX: how long after it opened a session ends, however busy. */
  maxMs?: number;
  /** A person's request (not a page reloading itself): it counts as use, keeping the session from going idle. */
  byPerson?: boolean;
}

/**
 * The person behind a session cookie, checked on every request: a session
 * that ended, sat idle past `WEB_IDLE_MS`, opened more than `maxMs` ago, or
 * whose person is disabled opens nothing (and is ended). Only a person's own
 * requests count as use: a page that reloads itself in an open tab does not
 * keep the session alive.
 */
export async function personOfSession(db: Queryable, sessionId: string, now: Date, check: SessionCheck = {}): Promise<{ user: User; csrf: string } | null> {
  const idHash = hash(sessionId);
  const session = await getWebSession(db, idHash);
  if (!session || session.endedAt) return null;
  const user = await getUser(db, session.userId);
  const idle = now.getTime() - session.lastSeenAt.getTime() > WEB_IDLE_MS;
  const expired = now.getTime() - session.createdAt.getTime() > (check.maxMs ?? WEB_SESSION_MAX_MS);
  if (!user?.active || idle || expired) {
    await endWebSession(db, idHash, now);
    return null;
  }
  if ((check.byPerson ?? true) && now.getTime() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) await touchWebSession(db, idHash, now);
  return { user, csrf: csrfOf(sessionId) };
}

/** Sign out: the session ends at once (the cookie's secret opens nothing from now on). */
export async function endSession(ctx: RegistryContext, sessionId: string, userId: number): Promise<void> {
  await writeTransaction(ctx.db, async (tx) => {
    await endWebSession(tx, hash(sessionId), ctx.clock());
    await recordAudit(tx, { at: ctx.clock(), actor: actorOf(userId), action: 'web.logout', subjectType: 'user', subjectId: userId });
  });
}
