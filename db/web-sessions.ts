import { and, eq, isNull } from 'drizzle-orm';
import type { Queryable } from './open.ts';
import { webLinks, webSessions } from './schema.ts';

export type WebLink = typeof webLinks.$inferSelect;
export type WebSession = typeof webSessions.$inferSelect;

export function insertWebLink(db: Queryable, link: typeof webLinks.$inferInsert): void {
  db.insert(webLinks).values(link).run();
}

export function getWebLink(db: Queryable, tokenHash: string): WebLink | undefined {
  return db.select().from(webLinks).where(eq(webLinks.tokenHash, tokenHash)).get();
}

/** Mark a link used; false when it was used already (by a request racing this one). */
export function useWebLink(db: Queryable, tokenHash: string, at: Date): boolean {
  return db.update(webLinks).set({ usedAt: at }).where(and(eq(webLinks.tokenHash, tokenHash), isNull(webLinks.usedAt))).run().changes === 1;
}

export function insertWebSession(db: Queryable, session: typeof webSessions.$inferInsert): void {
  db.insert(webSessions).values(session).run();
}

export function getWebSession(db: Queryable, idHash: string): WebSession | undefined {
  return db.select().from(webSessions).where(eq(webSessions.idHash, idHash)).get();
}

export function touchWebSession(db: Queryable, idHash: string, at: Date): void {
  db.update(webSessions).set({ lastSeenAt: at }).where(eq(webSessions.idHash, idHash)).run();
}

export function endWebSession(db: Queryable, idHash: string, at: Date): void {
  db.update(webSessions).set({ endedAt: at }).where(and(eq(webSessions.idHash, idHash), isNull(webSessions.endedAt))).run();
}

/** End every open session of a person (disabled, say); returns how many. */
export function endWebSessionsOf(db: Queryable, userId: number, at: Date): number {
  return db.update(webSessions).set({ endedAt: at }).where(and(eq(webSessions.userId, userId), isNull(webSessions.endedAt))).run().changes;
}
