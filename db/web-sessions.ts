import { and, eq, isNull } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { changedRows, first } from './query.ts';
import { webLinks, webSessions } from './schema.ts';

export type WebLink = typeof webLinks.$inferSelect;
export type WebSession = typeof webSessions.$inferSelect;

export async function insertWebLink(db: Queryable, link: typeof webLinks.$inferInsert): Promise<void> {
  await db.insert(webLinks).values(link);
}

export async function getWebLink(db: Queryable, tokenHash: string): Promise<WebLink | undefined> {
  return first(db.select().from(webLinks).where(eq(webLinks.tokenHash, tokenHash)));
}

/** Mark a link used; false when it was used already (by a request racing this one). */
export async function useWebLink(db: Queryable, tokenHash: string, at: Date): Promise<boolean> {
  return changedRows(await db.update(webLinks).set({ usedAt: at }).where(and(eq(webLinks.tokenHash, tokenHash), isNull(webLinks.usedAt)))) === 1;
}

export async function insertWebSession(db: Queryable, session: typeof webSessions.$inferInsert): Promise<void> {
  await db.insert(webSessions).values(session);
}

export async function getWebSession(db: Queryable, idHash: string): Promise<WebSession | undefined> {
  return first(db.select().from(webSessions).where(eq(webSessions.idHash, idHash)));
}

export async function touchWebSession(db: Queryable, idHash: string, at: Date): Promise<void> {
  await db.update(webSessions).set({ lastSeenAt: at }).where(eq(webSessions.idHash, idHash));
}

export async function endWebSession(db: Queryable, idHash: string, at: Date): Promise<void> {
  await db.update(webSessions).set({ endedAt: at }).where(and(eq(webSessions.idHash, idHash), isNull(webSessions.endedAt)));
}

/** End every open session of a person (disabled, say); returns how many. */
export async function endWebSessionsOf(db: Queryable, userId: number, at: Date): Promise<number> {
  return changedRows(await db.update(webSessions).set({ endedAt: at }).where(and(eq(webSessions.userId, userId), isNull(webSessions.endedAt))));
}
